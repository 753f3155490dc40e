package org.fsp.linux;

import static org.fsp.linux.NativeCall.INT;
import static org.fsp.linux.NativeCall.LONG;
import static org.fsp.linux.NativeCall.POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The FUSE kernel device and the mount calls around it: open {@code /dev/fuse}, mount(2) a {@code fuse.*} file system
 * served through that descriptor, clone the descriptor for more serving threads (FUSE_DEV_IOC_CLONE), move messages
 * with read(2)/write(2), wait with poll(2), and umount2(2).
 *
 * <p>A typical sequence is: {@link #open}, {@link #mount} with {@link #mountOptions}, {@link #cloneOf} once per extra
 * serving thread, then each thread {@link #read}s a request and {@link #write}s its reply on the same descriptor (the
 * kernel keeps the requests a descriptor read on that descriptor's processing queue), and at the end {@link #umount}
 * with {@link #MNT_DETACH} and {@link Libc#close} of every descriptor.
 */
public final class FuseDevice {

    /** The device node. */
    public static final String PATH = "/dev/fuse";

    public static final int O_NONBLOCK = 04000;

    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;

    /** umount2: detach now, finish when the last user goes (a lazy unmount). */
    public static final int MNT_DETACH = 2;

    /** FUSE_DEV_IOC_CLONE = _IOR(229, 0, uint32_t): the request's direction, size 4, type 229, number 0. */
    public static final long FUSE_DEV_IOC_CLONE = (2L << 30) | (4L << 16) | (229L << 8);

    public static final short POLLIN = 1;
    /** errno read(2) gives once the file system was unmounted or the connection aborted. */
    public static final int ENODEV = 19;
    /** errno write(2) of a reply gives when the request was interrupted and is gone. */
    public static final int ENOENT = 2;

    private static final MethodHandle MOUNT =
            NativeCall.bind("mount", FunctionDescriptor.of(INT, POINTER, POINTER, POINTER, LONG, POINTER));
    private static final MethodHandle UMOUNT2 = NativeCall.bind("umount2", FunctionDescriptor.of(INT, POINTER, INT));
    private static final MethodHandle READ = NativeCall.bind("read", FunctionDescriptor.of(LONG, INT, POINTER, LONG));
    private static final MethodHandle WRITE = NativeCall.bind("write", FunctionDescriptor.of(LONG, INT, POINTER, LONG));
    private static final MethodHandle POLL = NativeCall.bind("poll", FunctionDescriptor.of(INT, POINTER, LONG, INT));
    /** ioctl is variadic: the request's argument (a pointer here) is passed as the first variadic argument. */
    private static final MethodHandle IOCTL = NativeCall.LINKER.downcallHandle(
            NativeCall.LINKER.defaultLookup().find("ioctl").orElseThrow(),
            FunctionDescriptor.of(INT, INT, LONG, POINTER),
            Linker.Option.captureCallState("errno"),
            Linker.Option.firstVariadicArg(2));

    private FuseDevice() {}

    /** Opens {@code /dev/fuse} read-write, close-on-exec, non-blocking if asked; returns the descriptor. */
    public static int open(boolean nonBlocking) {
        return Libc.open(PATH, Libc.O_RDWR | Libc.O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0), 0);
    }

    /**
     * The option string the kernel's FUSE file system parses at mount: the serving descriptor, the root's mode
     * (a directory), the mounting user and group, {@code allow_other} so that every user reaches the mount, and
     * {@code default_permissions}: the kernel also checks the mode bits before it sends a request. The file system
     * checks every request itself, but some opens never reach it (a FIFO or a device node is opened by the kernel
     * alone), and those would otherwise be checked by nobody.
     */
    public static String mountOptions(int fd, int uid, int gid) {
        return mountOptions(fd, uid, gid, true);
    }

    /** {@link #mountOptions(int, int, int)}, with {@code default_permissions} only if {@code kernelChecksModes}. */
    public static String mountOptions(int fd, int uid, int gid, boolean kernelChecksModes) {
        return "fd=" + fd + ",rootmode=40000,user_id=" + uid + ",group_id=" + gid + ",allow_other"
                + (kernelChecksModes ? ",default_permissions" : "");
    }

    /** mount(2) of {@code fsType} (e.g. {@code "fuse.fsp"}) at {@code target}, source name {@code source}. */
    public static void mount(String source, String target, String fsType, long flags, String options) {
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) MOUNT.invokeExact(
                    NativeCall.errnoSegment(),
                    arena.allocateFrom(source),
                    arena.allocateFrom(target),
                    arena.allocateFrom(fsType),
                    flags,
                    arena.allocateFrom(options));
            NativeCall.check(r, "mount(" + target + ")");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** umount2(2) of {@code target}. */
    public static void umount(String target, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) UMOUNT2.invokeExact(NativeCall.errnoSegment(), arena.allocateFrom(target), flags);
            NativeCall.check(r, "umount2(" + target + ")");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * A new descriptor on the same FUSE connection as {@code fd}, with its own processing queue, so that another
     * thread can read requests and write their replies independently.
     */
    public static int cloneOf(int fd, boolean nonBlocking) {
        int clone = open(nonBlocking);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(ValueLayout.JAVA_INT);
            source.set(ValueLayout.JAVA_INT, 0, fd);
            int r = (int) IOCTL.invokeExact(NativeCall.errnoSegment(), clone, FUSE_DEV_IOC_CLONE, source);
            NativeCall.check(r, "ioctl(FUSE_DEV_IOC_CLONE)");
            return clone;
        } catch (Throwable t) {
            Libc.close(clone);
            if (t instanceof NativeException e) {
                throw e;
            }
            throw new AssertionError(t);
        }
    }

    /**
     * read(2) of one whole request into {@code buffer}; returns its length in bytes, or -1 with errno EAGAIN on a
     * non-blocking descriptor with nothing queued (no exception on that path: it is the idle case).
     */
    public static long read(int fd, MemorySegment buffer) {
        try {
            long n = (long) READ.invokeExact(NativeCall.errnoSegment(), fd, buffer, buffer.byteSize());
            if (n == -1 && NativeCall.lastErrno() != Libc.EAGAIN) {
                throw new NativeException("read(/dev/fuse)", NativeCall.lastErrno());
            }
            return n;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** write(2) of one whole reply; the kernel takes it in one call or fails it. */
    public static void write(int fd, MemorySegment reply) {
        try {
            long n = (long) WRITE.invokeExact(NativeCall.errnoSegment(), fd, reply, reply.byteSize());
            NativeCall.check(n, "write(/dev/fuse)");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * poll(2) for {@link #POLLIN} on one descriptor for at most {@code timeoutMillis}; returns true if a request is
     * ready (or the connection ended, which the next read reports). {@code pollfd} is a scratch segment of 8 bytes.
     */
    public static boolean pollIn(int fd, MemorySegment pollfd, int timeoutMillis) {
        pollfd.set(ValueLayout.JAVA_INT, 0, fd);
        pollfd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
        pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        try {
            int r = (int) POLL.invokeExact(NativeCall.errnoSegment(), pollfd, 1L, timeoutMillis);
            if (r == -1 && NativeCall.lastErrno() == Libc.EINTR) {
                return false;
            }
            return NativeCall.check(r, "poll(/dev/fuse)") > 0;
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
