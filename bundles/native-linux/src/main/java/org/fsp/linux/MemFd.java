package org.fsp.linux;

import static org.fsp.linux.NativeCall.INT;
import static org.fsp.linux.NativeCall.POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * Anonymous shared memory files (memfd_create) and their seals (fcntl F_ADD_SEALS / F_GET_SEALS).
 *
 * <p>A typical sequence is: {@link #create} with {@link #MFD_CLOEXEC} | {@link #MFD_ALLOW_SEALING}, then
 * {@link Libc#ftruncate} to the segment size, then {@link #addSeals} with {@link #F_SEAL_SHRINK} | {@link #F_SEAL_GROW}
 * | {@link #F_SEAL_SEAL} so that nobody holding the descriptor can change the size (a shrunk mapping would fault
 * with SIGBUS in whoever reads past the new end), then {@link Libc#mmap} with {@code MAP_SHARED}.
 */
public final class MemFd {

    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;

    public static final int F_ADD_SEALS = 1033;
    public static final int F_GET_SEALS = 1034;
    public static final int F_SEAL_SEAL = 1;
    public static final int F_SEAL_SHRINK = 2;
    public static final int F_SEAL_GROW = 4;
    public static final int F_SEAL_WRITE = 8;

    private static final MethodHandle MEMFD_CREATE =
            NativeCall.bind("memfd_create", FunctionDescriptor.of(INT, POINTER, INT));
    /** fcntl is variadic: the third argument is passed as a variadic int. */
    private static final MethodHandle FCNTL = NativeCall.LINKER.downcallHandle(
            NativeCall.LINKER.defaultLookup().find("fcntl").orElseThrow(),
            FunctionDescriptor.of(INT, INT, INT, INT),
            Linker.Option.captureCallState("errno"),
            Linker.Option.firstVariadicArg(2));

    private MemFd() {}

    /** memfd_create(2): a new anonymous file of size 0; {@code name} only shows in /proc/pid/fd. */
    public static int create(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return NativeCall.check(
                    (int) MEMFD_CREATE.invokeExact(NativeCall.errnoSegment(), arena.allocateFrom(name), flags),
                    "memfd_create(" + name + ")");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** fcntl(F_ADD_SEALS). */
    public static void addSeals(int fd, int seals) {
        try {
            NativeCall.check(
                    (int) FCNTL.invokeExact(NativeCall.errnoSegment(), fd, F_ADD_SEALS, seals), "fcntl(F_ADD_SEALS)");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** fcntl(F_GET_SEALS): the seals in force. */
    public static int seals(int fd) {
        try {
            return NativeCall.check(
                    (int) FCNTL.invokeExact(NativeCall.errnoSegment(), fd, F_GET_SEALS, 0), "fcntl(F_GET_SEALS)");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Creates a sealed memfd of {@code sizeBytes}, close-on-exec, whose size nobody can change afterwards. */
    public static int createSealed(String name, long sizeBytes) {
        int fd = create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        try {
            Libc.ftruncate(fd, sizeBytes);
            addSeals(fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
            return fd;
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }
}
