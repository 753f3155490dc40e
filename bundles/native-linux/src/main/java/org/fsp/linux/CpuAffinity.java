package org.fsp.linux;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.linux.NativeCall.INT;
import static org.fsp.linux.NativeCall.LONG;
import static org.fsp.linux.NativeCall.POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The calling thread's CPU affinity as a 64-bit mask (bit i: CPU i may run it), through sched_getaffinity(2) and
 * sched_setaffinity(2): so that a polling server thread can keep a CPU to itself and its clients' threads can stay
 * off it. CPUs 64 and above are outside the mask: {@link #current()} leaves them out and {@link #set} keeps whatever
 * the thread had there, so a thread on a larger machine is never narrowed by accident.
 */
public final class CpuAffinity {

    /** Bytes of the kernel's cpu_set_t we pass: 1,024 CPUs. */
    private static final long MASK_BYTES = 128;

    private static final MethodHandle SCHED_GETAFFINITY =
            NativeCall.bind("sched_getaffinity", FunctionDescriptor.of(INT, INT, LONG, POINTER));
    private static final MethodHandle SCHED_SETAFFINITY =
            NativeCall.bind("sched_setaffinity", FunctionDescriptor.of(INT, INT, LONG, POINTER));

    private CpuAffinity() {}

    /** CPUs 0-63 the calling thread may run on (one system call). */
    public static long current() {
        try (Arena arena = Arena.ofConfined()) {
            return read(arena).get(JAVA_LONG, 0);
        }
    }

    /**
     * Lets the calling thread run on the CPUs of {@code mask} among 0-63 only (CPUs 64 and above as they were); one
     * system call, two with the read. Throws {@link IllegalArgumentException} for an empty mask.
     */
    public static void set(long mask) {
        if (mask == 0) {
            throw new IllegalArgumentException("an empty CPU mask");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cpus = read(arena);
            cpus.set(JAVA_LONG, 0, mask);
            NativeCall.check(
                    (int) SCHED_SETAFFINITY.invokeExact(NativeCall.errnoSegment(), 0, MASK_BYTES, cpus),
                    "sched_setaffinity");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The highest CPU of {@code mask}, or -1 for an empty one. */
    public static int highest(long mask) {
        return 63 - Long.numberOfLeadingZeros(mask);
    }

    private static MemorySegment read(Arena arena) {
        MemorySegment cpus = arena.allocate(MASK_BYTES, 8);
        try {
            NativeCall.check(
                    (int) SCHED_GETAFFINITY.invokeExact(NativeCall.errnoSegment(), 0, MASK_BYTES, cpus),
                    "sched_getaffinity");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return cpus;
    }
}
