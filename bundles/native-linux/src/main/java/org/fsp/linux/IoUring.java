package org.fsp.linux;

import static org.fsp.linux.NativeCall.LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The three io_uring system calls, made through {@code syscall(2)} (x86-64 numbers), and every io_uring constant FSP
 * uses: opcodes, SQE flags, setup and enter flags, features, register opcodes and mmap offsets, as in the kernel's
 * {@code include/uapi/linux/io_uring.h}.
 *
 * <p>The calls return the kernel's result; {@link #enter} retries {@code EINTR} itself and hands back {@code EAGAIN}
 * and {@code EBUSY} as negated values (the ring is temporarily short of resources: reap completions, then try again);
 * every other failure throws {@link NativeException}. {@link IoUringRing} builds the mapped rings on top of this class.
 */
public final class IoUring {

    /** x86-64 system call numbers. */
    public static final long SYS_IO_URING_SETUP = 425;

    public static final long SYS_IO_URING_ENTER = 426;
    public static final long SYS_IO_URING_REGISTER = 427;

    // Opcodes (enum io_uring_op), the subset FSP issues.
    public static final byte IORING_OP_NOP = 0;
    public static final byte IORING_OP_FSYNC = 3;
    public static final byte IORING_OP_READ_FIXED = 4;
    public static final byte IORING_OP_WRITE_FIXED = 5;
    public static final byte IORING_OP_READ = 22;
    public static final byte IORING_OP_WRITE = 23;
    /** A command for the file's driver (Linux 5.19+), e.g. NVMe passthrough on /dev/ngXnY. */
    public static final byte IORING_OP_URING_CMD = 46;

    // SQE flags (sqe->flags).
    /** sqe->fd is an index into the registered files. */
    public static final byte IOSQE_FIXED_FILE = 1;
    /** Start only after every earlier SQE has completed. */
    public static final byte IOSQE_IO_DRAIN = 2;

    /** fsync_flags: fdatasync semantics (data and the metadata needed to read it back). */
    public static final int IORING_FSYNC_DATASYNC = 1;

    // Setup flags (io_uring_params.flags).
    /** Completions are busy-polled by the kernel instead of interrupt driven; O_DIRECT and a pollable target only. */
    public static final int IORING_SETUP_IOPOLL = 1;
    /** A kernel thread polls the SQ: no system call to submit while it is awake. */
    public static final int IORING_SETUP_SQPOLL = 1 << 1;
    /** Pin the SQPOLL thread to sq_thread_cpu. */
    public static final int IORING_SETUP_SQ_AFF = 1 << 2;
    /** cq_entries is an input. */
    public static final int IORING_SETUP_CQSIZE = 1 << 3;
    /** Clamp entries to the kernel's maximum instead of failing. */
    public static final int IORING_SETUP_CLAMP = 1 << 4;
    /** 128-byte SQEs, room for an 80-byte IORING_OP_URING_CMD payload (Linux 5.19+). */
    public static final int IORING_SETUP_SQE128 = 1 << 10;
    /** 32-byte CQEs, with 16 bytes of driver result after the usual fields (Linux 5.19+). */
    public static final int IORING_SETUP_CQE32 = 1 << 11;

    // Features (io_uring_params.features).
    /** SQ and CQ rings share one mapping. */
    public static final int IORING_FEAT_SINGLE_MMAP = 1;
    /** Completions are never dropped: an overflowing CQ is backlogged in the kernel and flagged. */
    public static final int IORING_FEAT_NODROP = 1 << 1;
    /** SQE data is consumed during io_uring_enter, so SQEs may be reused once it returns. */
    public static final int IORING_FEAT_SUBMIT_STABLE = 1 << 2;
    /** SQPOLL may use unregistered files. */
    public static final int IORING_FEAT_SQPOLL_NONFIXED = 1 << 7;
    /** io_uring_enter takes IORING_ENTER_EXT_ARG (timeouts while waiting). */
    public static final int IORING_FEAT_EXT_ARG = 1 << 8;

    // Enter flags (io_uring_enter flags argument).
    /** Wait for min_complete completions (and reap polled ones with IOPOLL, or flush a CQ overflow backlog). */
    public static final int IORING_ENTER_GETEVENTS = 1;
    /** Wake a sleeping SQPOLL thread. */
    public static final int IORING_ENTER_SQ_WAKEUP = 1 << 1;
    /** The last two arguments are a {@code struct io_uring_getevents_arg} and its size (for a timeout). */
    public static final int IORING_ENTER_EXT_ARG = 1 << 3;

    /** Bytes of scratch memory {@link #enterTimed} needs: the getevents arg (24) and a timespec (16). */
    public static final int GETEVENTS_ARG_BYTES = 40;

    // SQ ring flags (*sq_off.flags), written by the kernel.
    /** The SQPOLL thread sleeps; submit with IORING_ENTER_SQ_WAKEUP. */
    public static final int IORING_SQ_NEED_WAKEUP = 1;
    /** Completions are backlogged in the kernel; an io_uring_enter with GETEVENTS moves them into the CQ. */
    public static final int IORING_SQ_CQ_OVERFLOW = 1 << 1;

    // Register opcodes (io_uring_register opcode argument).
    public static final int IORING_REGISTER_BUFFERS = 0;
    public static final int IORING_UNREGISTER_BUFFERS = 1;
    public static final int IORING_REGISTER_FILES = 2;
    public static final int IORING_UNREGISTER_FILES = 3;

    // mmap offsets.
    public static final long IORING_OFF_SQ_RING = 0L;
    public static final long IORING_OFF_CQ_RING = 0x8000000L;
    public static final long IORING_OFF_SQES = 0x10000000L;

    /** Errno values io_uring uses for transient shortage. */
    public static final int EAGAIN = 11;

    public static final int EBUSY = 16;
    public static final int EINTR = 4;
    public static final int ETIME = 62;

    /** {@code long syscall(long number, ...)}: every argument after the number is variadic and passed as a long. */
    private static final MethodHandle SYSCALL3 =
            NativeCall.bindVariadic("syscall", FunctionDescriptor.of(LONG, LONG, LONG, LONG, LONG), 1);

    private static final MethodHandle SYSCALL5 =
            NativeCall.bindVariadic("syscall", FunctionDescriptor.of(LONG, LONG, LONG, LONG, LONG, LONG, LONG), 1);

    private static final MethodHandle SYSCALL6 = NativeCall.bindVariadic(
            "syscall", FunctionDescriptor.of(LONG, LONG, LONG, LONG, LONG, LONG, LONG, LONG), 1);

    private IoUring() {}

    /**
     * io_uring_setup(2): creates a ring of {@code entries} SQ entries; the kernel completes {@code params} (a segment
     * of {@link IoUringParamsDescriptor#LENGTH} bytes).
     *
     * @return the ring's file descriptor
     */
    public static int setup(int entries, MemorySegment params) {
        try {
            long r = (long) SYSCALL3.invokeExact(
                    NativeCall.errnoSegment(), SYS_IO_URING_SETUP, (long) entries, params.address(), 0L);
            return (int) NativeCall.check(r, "io_uring_setup(" + entries + " entries)");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * io_uring_enter(2) without a signal mask: submits {@code toSubmit} SQEs and, with
     * {@link #IORING_ENTER_GETEVENTS}, waits for {@code minComplete} completions. EINTR is retried.
     *
     * @return the number of SQEs consumed, or {@code -EAGAIN} / {@code -EBUSY} when the kernel is temporarily short
     *     of resources (nothing was consumed)
     */
    public static int enter(int ringFd, int toSubmit, int minComplete, int flags) {
        while (true) {
            long r;
            try {
                r = (long) SYSCALL5.invokeExact(
                        NativeCall.errnoSegment(),
                        SYS_IO_URING_ENTER,
                        (long) ringFd,
                        (long) toSubmit,
                        (long) minComplete,
                        (long) flags,
                        0L);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (r >= 0) {
                return (int) r;
            }
            int errno = NativeCall.lastErrno();
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EBUSY) {
                return -errno;
            }
            throw new NativeException("io_uring_enter(submit " + toSubmit + ", flags " + flags + ")", errno);
        }
    }

    /**
     * io_uring_enter(2) with {@link #IORING_ENTER_EXT_ARG}: waits for {@code minComplete} completions for at most
     * {@code timeoutNanos}. {@code arg} is scratch memory of at least {@link #GETEVENTS_ARG_BYTES} bytes, 8-aligned.
     * EINTR is retried.
     *
     * @return 0 once the completions are there, {@code -ETIME} on timeout, or a negated EAGAIN / EBUSY
     */
    public static int enterTimed(int ringFd, int minComplete, int flags, long timeoutNanos, MemorySegment arg) {
        // struct io_uring_getevents_arg { u64 sigmask; u32 sigmask_sz; u32 min_wait_usec; u64 ts; } then
        // struct __kernel_timespec { s64 tv_sec; s64 tv_nsec; } right behind it, which ts points to.
        arg.set(ValueLayout.JAVA_LONG, 0, 0L);
        arg.set(ValueLayout.JAVA_INT, 8, 0);
        arg.set(ValueLayout.JAVA_INT, 12, 0);
        arg.set(ValueLayout.JAVA_LONG, 16, arg.address() + 24);
        arg.set(ValueLayout.JAVA_LONG, 24, timeoutNanos / 1_000_000_000L);
        arg.set(ValueLayout.JAVA_LONG, 32, timeoutNanos % 1_000_000_000L);
        while (true) {
            long r;
            try {
                r = (long) SYSCALL6.invokeExact(
                        NativeCall.errnoSegment(),
                        SYS_IO_URING_ENTER,
                        (long) ringFd,
                        0L,
                        (long) minComplete,
                        (long) (flags | IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG),
                        arg.address(),
                        24L);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (r >= 0) {
                return 0;
            }
            int errno = NativeCall.lastErrno();
            if (errno == EINTR) {
                continue;
            }
            if (errno == ETIME || errno == EAGAIN || errno == EBUSY) {
                return -errno;
            }
            throw new NativeException(
                    "io_uring_enter(wait " + minComplete + ", timeout " + timeoutNanos + " ns)", errno);
        }
    }

    /** io_uring_register(2). {@code arg} points to {@code count} elements whose type depends on the opcode. */
    public static void register(int ringFd, int opcode, MemorySegment arg, int count) {
        while (true) {
            long r;
            try {
                r = (long) SYSCALL5.invokeExact(
                        NativeCall.errnoSegment(),
                        SYS_IO_URING_REGISTER,
                        (long) ringFd,
                        (long) opcode,
                        arg.address(),
                        (long) count,
                        0L);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (r >= 0) {
                return;
            }
            int errno = NativeCall.lastErrno();
            if (errno != EINTR) {
                throw new NativeException("io_uring_register(opcode " + opcode + ", " + count + " args)", errno);
            }
        }
    }
}
