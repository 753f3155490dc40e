package org.fsp.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.linux.NativeCall.INT;
import static org.fsp.linux.NativeCall.LONG;
import static org.fsp.linux.NativeCall.POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * futex(2) and futex_waitv(2) on 32-bit words, shared between processes (no FUTEX_PRIVATE_FLAG unless asked): the
 * sleeping half of two-phase waiting. A waiter spins on a word first and calls {@link #await} only when spinning did
 * not see the change; the side that changes the word calls {@link #wake} only when it knows somebody sleeps (a flag in
 * the word), so that nobody makes a system call while both sides are busy.
 *
 * <p>The kernel compares the word with the expected value atomically with going to sleep, so a wake between the
 * waiter's last check and its sleep is never lost.
 */
public final class Futex {

    public static final int FUTEX_WAIT = 0;
    public static final int FUTEX_WAKE = 1;
    public static final int FUTEX_PRIVATE_FLAG = 128;
    /** futex_waitv entry flag: the word is 32 bits. */
    public static final int FUTEX2_SIZE_U32 = 0x02;
    /** futex_waitv entry flag: the word is private to this process. */
    public static final int FUTEX2_PRIVATE = 128;
    /** Maximum entries in one futex_waitv call. */
    public static final int WAITV_MAX = 128;
    /** Bytes of one {@code struct futex_waitv}: u64 val, u64 uaddr, u32 flags, u32 reserved. */
    public static final int WAITV_ENTRY_SIZE = 24;

    public static final int ETIMEDOUT = 110;

    private static final long SYS_FUTEX = 202;
    private static final long SYS_FUTEX_WAITV = 449;
    private static final int CLOCK_MONOTONIC = 1;

    private static final MethodHandle FUTEX =
            syscall(FunctionDescriptor.of(LONG, LONG, POINTER, INT, INT, POINTER, POINTER, INT));
    private static final MethodHandle FUTEX_WAITV =
            syscall(FunctionDescriptor.of(LONG, LONG, POINTER, INT, INT, POINTER, INT));
    private static final MethodHandle CLOCK_GETTIME =
            NativeCall.bind("clock_gettime", FunctionDescriptor.of(INT, INT, POINTER));

    /** One timespec per thread: waits are not on the steady-state path, but they should not allocate either. */
    private static final ThreadLocal<MemorySegment> TIMESPEC =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));

    private Futex() {}

    /**
     * Sleeps while the 32-bit word at {@code word} (offset 0, 4-byte aligned) equals {@code expected}, at most
     * {@code timeoutNanos} (negative: no limit). Returns false only on time-out; true when woken, interrupted or
     * when the word already differed (callers re-check the word in every case).
     */
    public static boolean await(MemorySegment word, int expected, long timeoutNanos) {
        try {
            MemorySegment ts = MemorySegment.NULL;
            if (timeoutNanos >= 0) {
                ts = TIMESPEC.get();
                ts.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
                ts.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
            }
            long r = (long) FUTEX.invokeExact(
                    NativeCall.errnoSegment(), SYS_FUTEX, word, FUTEX_WAIT, expected, ts, MemorySegment.NULL, 0);
            return r == 0 || NativeCall.lastErrno() != ETIMEDOUT;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Wakes up to {@code count} waiters on the shared word at {@code word}; returns how many woke. */
    public static int wake(MemorySegment word, int count) {
        return wake(word, count, false);
    }

    /** Wakes up to {@code count} waiters; {@code processPrivate} for words that only this process maps. */
    public static int wake(MemorySegment word, int count, boolean processPrivate) {
        try {
            int op = FUTEX_WAKE | (processPrivate ? FUTEX_PRIVATE_FLAG : 0);
            long r = (long) FUTEX.invokeExact(
                    NativeCall.errnoSegment(), SYS_FUTEX, word, op, count, MemorySegment.NULL, MemorySegment.NULL, 0);
            return (int) NativeCall.check(r, "futex(FUTEX_WAKE)");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Fills entry {@code i} of a {@code struct futex_waitv} array: wait while the word at {@code word} is {@code expected}. */
    public static void setWaitv(
            MemorySegment entries, int i, MemorySegment word, int expected, boolean processPrivate) {
        long base = (long) i * WAITV_ENTRY_SIZE;
        entries.set(JAVA_LONG, base, expected & 0xFFFF_FFFFL);
        entries.set(JAVA_LONG, base + 8, word.address());
        entries.set(JAVA_INT, base + 16, FUTEX2_SIZE_U32 | (processPrivate ? FUTEX2_PRIVATE : 0));
        entries.set(JAVA_INT, base + 20, 0);
    }

    /**
     * futex_waitv(2) (Linux 5.16 and later): sleeps until any of {@code count} words stops holding its expected value
     * or is woken, at most {@code timeoutNanos} (negative: no limit). Returns false only on time-out.
     */
    public static boolean awaitAny(MemorySegment entries, int count, long timeoutNanos) {
        try {
            MemorySegment ts = MemorySegment.NULL;
            if (timeoutNanos >= 0) {
                ts = TIMESPEC.get();
                NativeCall.check(
                        (int) CLOCK_GETTIME.invokeExact(NativeCall.errnoSegment(), CLOCK_MONOTONIC, ts),
                        "clock_gettime");
                long nanos = ts.get(JAVA_LONG, 8) + timeoutNanos;
                ts.set(JAVA_LONG, 0, ts.get(JAVA_LONG, 0) + nanos / 1_000_000_000L);
                ts.set(JAVA_LONG, 8, nanos % 1_000_000_000L);
            }
            long r = (long) FUTEX_WAITV.invokeExact(
                    NativeCall.errnoSegment(), SYS_FUTEX_WAITV, entries, count, 0, ts, CLOCK_MONOTONIC);
            if (r >= 0) {
                return true;
            }
            int errno = NativeCall.lastErrno();
            if (errno == ETIMEDOUT) {
                return false;
            }
            if (errno == Libc.EAGAIN || errno == Libc.EINTR) {
                return true;
            }
            throw new NativeException("futex_waitv", errno);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static MethodHandle syscall(FunctionDescriptor descriptor) {
        return NativeCall.LINKER.downcallHandle(
                NativeCall.LINKER.defaultLookup().find("syscall").orElseThrow(),
                descriptor,
                Linker.Option.captureCallState("errno"),
                Linker.Option.firstVariadicArg(1));
    }
}
