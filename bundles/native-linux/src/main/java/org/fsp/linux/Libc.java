package org.fsp.linux;

import static org.fsp.linux.NativeCall.INT;
import static org.fsp.linux.NativeCall.LONG;
import static org.fsp.linux.NativeCall.POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The plain libc calls FSP needs beyond the JDK: files by descriptor, memory mapping, and errno text.
 *
 * <p>Each method throws {@link NativeException} (with the errno) where the call returns -1, so callers read like
 * Java. Calls specific to one subsystem live beside it in this package (io_uring, sockets, memfd, futex) and bind
 * through {@link NativeCall} too.
 */
public final class Libc {

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_DIRECT = 040000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_NONBLOCK = 04000;

    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;

    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_POPULATE = 0x8000;
    /** mmap's failure value, (void *) -1. */
    public static final long MAP_FAILED = -1L;

    public static final int SEEK_SET = 0;
    public static final int SEEK_END = 2;

    public static final int EINTR = 4;
    public static final int EAGAIN = 11;

    private static final MethodHandle OPEN = NativeCall.bind("open", FunctionDescriptor.of(INT, POINTER, INT, INT));
    /** fcntl is variadic: the third argument is passed as a variadic int. */
    private static final MethodHandle FCNTL =
            NativeCall.bindVariadic("fcntl", FunctionDescriptor.of(INT, INT, INT, INT), 2);

    private static final MethodHandle CLOSE = NativeCall.bind("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle SCHED_SETAFFINITY =
            NativeCall.bind("sched_setaffinity", FunctionDescriptor.of(INT, INT, LONG, POINTER));
    private static final MethodHandle FTRUNCATE = NativeCall.bind("ftruncate", FunctionDescriptor.of(INT, INT, LONG));
    private static final MethodHandle LSEEK = NativeCall.bind("lseek", FunctionDescriptor.of(LONG, INT, LONG, INT));
    private static final MethodHandle FSYNC = NativeCall.bind("fsync", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle FDATASYNC = NativeCall.bind("fdatasync", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle MMAP =
            NativeCall.bind("mmap", FunctionDescriptor.of(POINTER, POINTER, LONG, INT, INT, INT, LONG));
    private static final MethodHandle MUNMAP = NativeCall.bind("munmap", FunctionDescriptor.of(INT, POINTER, LONG));
    private static final MethodHandle GETPID = NativeCall.bindNoErrno("getpid", FunctionDescriptor.of(INT));
    private static final MethodHandle GETUID = NativeCall.bindNoErrno("getuid", FunctionDescriptor.of(INT));
    private static final MethodHandle GETGID = NativeCall.bindNoErrno("getgid", FunctionDescriptor.of(INT));
    private static final MethodHandle STRERROR =
            NativeCall.bindNoErrno("strerror", FunctionDescriptor.of(POINTER, INT));

    private Libc() {}

    /** open(2); returns the descriptor. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(NativeCall.errnoSegment(), arena.allocateFrom(path), flags, mode);
            return NativeCall.check(fd, "open(" + path + ")");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** close(2). EINTR is not retried: on Linux the descriptor is released regardless. */
    public static void close(int fd) {
        try {
            int r = (int) CLOSE.invokeExact(NativeCall.errnoSegment(), fd);
            if (r == -1 && NativeCall.lastErrno() != EINTR) {
                throw new NativeException("close(" + fd + ")", NativeCall.lastErrno());
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Sets O_NONBLOCK on {@code fd} (fcntl F_GETFL then F_SETFL), e.g. on a listening socket handed over by another
     * owner, so that accepting until EAGAIN never blocks.
     */
    public static void setNonBlocking(int fd) {
        try {
            int flags = NativeCall.check(
                    (int) FCNTL.invokeExact(NativeCall.errnoSegment(), fd, F_GETFL, 0), "fcntl(F_GETFL)");
            NativeCall.check(
                    (int) FCNTL.invokeExact(NativeCall.errnoSegment(), fd, F_SETFL, flags | O_NONBLOCK),
                    "fcntl(F_SETFL)");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * sched_setaffinity(2) of the calling thread to CPU {@code cpu} alone (0 to 1023), so that what the thread asks of
     * the kernel next is counted on that CPU (FUSE-over-io_uring queues a request on its caller's CPU).
     */
    public static void pinCurrentThreadTo(int cpu) {
        if (cpu < 0 || cpu >= 1024) {
            throw new IllegalArgumentException("cpu " + cpu + " is outside 0-1023");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(128, 8);
            mask.set(java.lang.foreign.ValueLayout.JAVA_LONG, (cpu / 64) * 8L, 1L << (cpu % 64));
            NativeCall.check(
                    (int) SCHED_SETAFFINITY.invokeExact(NativeCall.errnoSegment(), 0, 128L, mask),
                    "sched_setaffinity(" + cpu + ")");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** ftruncate(2): sets the size of a file (or memfd), in bytes. */
    public static void ftruncate(int fd, long sizeBytes) {
        try {
            NativeCall.check((int) FTRUNCATE.invokeExact(NativeCall.errnoSegment(), fd, sizeBytes), "ftruncate");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * lseek(2); returns the resulting offset in bytes. {@code lseek(fd, 0, SEEK_END)} gives the size of a regular file
     * or of a block device (whose fstat size is 0).
     */
    public static long lseek(int fd, long offsetBytes, int whence) {
        try {
            return NativeCall.check(
                    (long) LSEEK.invokeExact(NativeCall.errnoSegment(), fd, offsetBytes, whence), "lseek");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** fsync(2). */
    public static void fsync(int fd) {
        try {
            NativeCall.check((int) FSYNC.invokeExact(NativeCall.errnoSegment(), fd), "fsync");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** fdatasync(2). */
    public static void fdatasync(int fd) {
        try {
            NativeCall.check((int) FDATASYNC.invokeExact(NativeCall.errnoSegment(), fd), "fdatasync");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * mmap(2) of {@code lengthBytes} of {@code fd} from {@code offsetBytes}; returns a segment of that size. The
     * caller unmaps it with {@link #munmap}; the segment is not tied to an arena, so using it after munmap faults.
     */
    public static MemorySegment mmap(long lengthBytes, int prot, int flags, int fd, long offsetBytes) {
        try {
            MemorySegment addr = (MemorySegment) MMAP.invokeExact(
                    NativeCall.errnoSegment(), MemorySegment.NULL, lengthBytes, prot, flags, fd, offsetBytes);
            if (addr.address() == MAP_FAILED) {
                throw new NativeException("mmap(" + lengthBytes + " bytes)", NativeCall.lastErrno());
            }
            return addr.reinterpret(lengthBytes);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** munmap(2) of a segment returned by {@link #mmap}. */
    public static void munmap(MemorySegment mapping) {
        try {
            NativeCall.check(
                    (int) MUNMAP.invokeExact(NativeCall.errnoSegment(), mapping, mapping.byteSize()), "munmap");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static int getpid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static int getuid() {
        try {
            return (int) GETUID.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static int getgid() {
        try {
            return (int) GETGID.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The C library's text for an errno value. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
