package org.fsp.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.fsp.linux.NativeCall.INT;
import static org.fsp.linux.NativeCall.LONG;
import static org.fsp.linux.NativeCall.POINTER;
import static org.fsp.linux.SocketStructs.*;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * UNIX-domain stream sockets through FFM, with what {@code java.nio} lacks: descriptor passing (SCM_RIGHTS) and the
 * peer's credentials as the kernel recorded them at connect (SO_PEERCRED, SO_PEERGROUPS).
 *
 * <p>A typical server sequence is: {@link #listen} then, when {@link #poll} reports the listening socket readable,
 * {@link #accept}, {@link #peerCredentials} and {@link #peerGroups}, {@link #receive} the hello, {@link #send} the
 * answer with a descriptor. A client calls {@link #connect}, {@link #send}, {@link #receive}. Every descriptor made
 * here is close-on-exec. Failures throw {@link NativeException} with the errno.
 */
public final class UnixSockets {

    public static final int AF_UNIX = 1;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int SOCK_NONBLOCK = 04000;
    public static final int SOL_SOCKET = 1;
    public static final int SO_RCVTIMEO = 20;
    public static final int SO_SNDTIMEO = 21;
    public static final int SO_PEERCRED = 17;
    public static final int SO_PEERGROUPS = 59;
    public static final int SCM_RIGHTS = 1;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int MSG_CTRUNC = 0x8;
    public static final int ERANGE = 34;
    public static final int EMFILE = 24;
    public static final int ENFILE = 23;
    public static final int ENOBUFS = 105;
    public static final int ENOMEM = 12;

    public static final short POLLIN = 0x1;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;

    private static final MethodHandle SOCKET = NativeCall.bind("socket", FunctionDescriptor.of(INT, INT, INT, INT));
    private static final MethodHandle BIND = NativeCall.bind("bind", FunctionDescriptor.of(INT, INT, POINTER, INT));
    private static final MethodHandle LISTEN = NativeCall.bind("listen", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle ACCEPT4 =
            NativeCall.bind("accept4", FunctionDescriptor.of(INT, INT, POINTER, POINTER, INT));
    private static final MethodHandle CONNECT =
            NativeCall.bind("connect", FunctionDescriptor.of(INT, INT, POINTER, INT));
    private static final MethodHandle SENDMSG =
            NativeCall.bind("sendmsg", FunctionDescriptor.of(LONG, INT, POINTER, INT));
    private static final MethodHandle RECVMSG =
            NativeCall.bind("recvmsg", FunctionDescriptor.of(LONG, INT, POINTER, INT));
    private static final MethodHandle RECV =
            NativeCall.bind("recv", FunctionDescriptor.of(LONG, INT, POINTER, LONG, INT));
    private static final MethodHandle GETSOCKOPT =
            NativeCall.bind("getsockopt", FunctionDescriptor.of(INT, INT, INT, INT, POINTER, POINTER));
    private static final MethodHandle SETSOCKOPT =
            NativeCall.bind("setsockopt", FunctionDescriptor.of(INT, INT, INT, INT, POINTER, INT));
    private static final MethodHandle POLL = NativeCall.bind("poll", FunctionDescriptor.of(INT, POINTER, LONG, INT));

    /**
     * The peer as SO_PEERCRED reports it: the credentials of the process that called connect, at that time.
     *
     * @param pid process id
     * @param uid effective user id
     * @param gid effective group id
     */
    public record PeerCredentials(int pid, int uid, int gid) {}

    /**
     * What one {@link #receive} got.
     *
     * @param bytes bytes of ordinary data, 0 when the peer closed the connection
     * @param fd a descriptor passed with SCM_RIGHTS, or -1 when none came
     */
    public record Received(int bytes, int fd) {}

    private UnixSockets() {}

    /** Creates a stream socket bound to {@code path} and listening with {@code backlog}. */
    public static int listen(String path, int backlog) {
        int fd = socket();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = sockaddr(arena, path);
            NativeCall.check(
                    (int) BIND.invokeExact(NativeCall.errnoSegment(), fd, addr, SOCKADDR_UN_SIZE),
                    "bind(" + path + ")");
            NativeCall.check((int) LISTEN.invokeExact(NativeCall.errnoSegment(), fd, backlog), "listen");
            return fd;
        } catch (Throwable t) {
            Libc.close(fd);
            throw rethrow(t);
        }
    }

    /** Connects a new stream socket to the listener at {@code path}. */
    public static int connect(String path) {
        int fd = socket();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = sockaddr(arena, path);
            NativeCall.check(
                    (int) CONNECT.invokeExact(NativeCall.errnoSegment(), fd, addr, SOCKADDR_UN_SIZE),
                    "connect(" + path + ")");
            return fd;
        } catch (Throwable t) {
            Libc.close(fd);
            throw rethrow(t);
        }
    }

    /** accept4(2) with SOCK_CLOEXEC; returns the connected descriptor. */
    public static int accept(int listenFd) {
        try {
            int fd;
            do {
                fd = (int) ACCEPT4.invokeExact(
                        NativeCall.errnoSegment(), listenFd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
            } while (fd == -1 && NativeCall.lastErrno() == Libc.EINTR);
            return NativeCall.check(fd, "accept4");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * accept4(2) with SOCK_CLOEXEC | SOCK_NONBLOCK, for a listening socket that is itself non-blocking or known
     * readable: returns the connected descriptor (non-blocking, so that no later call on it can hold the caller), or
     * -1 when no connection waits (EAGAIN). Other failures, EMFILE and ENFILE among them, throw.
     */
    public static int acceptNonBlocking(int listenFd) {
        try {
            int fd = (int) ACCEPT4.invokeExact(
                    NativeCall.errnoSegment(),
                    listenFd,
                    MemorySegment.NULL,
                    MemorySegment.NULL,
                    SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd == -1 && NativeCall.lastErrno() == Libc.EAGAIN) {
                return -1;
            }
            return NativeCall.check(fd, "accept4");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The connecting process's pid, uid and gid as the kernel recorded them (SO_PEERCRED). */
    public static PeerCredentials peerCredentials(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cred = arena.allocate(UCRED_SIZE, 4);
            MemorySegment len = arena.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, UCRED_SIZE);
            NativeCall.check(
                    (int) GETSOCKOPT.invokeExact(NativeCall.errnoSegment(), fd, SOL_SOCKET, SO_PEERCRED, cred, len),
                    "getsockopt(SO_PEERCRED)");
            return new PeerCredentials(
                    cred.get(JAVA_INT, UCRED_PID_OFFSET),
                    cred.get(JAVA_INT, UCRED_UID_OFFSET),
                    cred.get(JAVA_INT, UCRED_GID_OFFSET));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The connecting process's supplementary groups as the kernel recorded them at connect (SO_PEERGROUPS, Linux 4.13
     * and later): unlike reading /proc/pid/status, this cannot be fooled by pid reuse.
     */
    public static int[] peerGroups(int fd) {
        int capacity = 64;
        while (true) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment groups = arena.allocate(4L * capacity, 4);
                MemorySegment len = arena.allocate(JAVA_INT);
                len.set(JAVA_INT, 0, 4 * capacity);
                int r = (int)
                        GETSOCKOPT.invokeExact(NativeCall.errnoSegment(), fd, SOL_SOCKET, SO_PEERGROUPS, groups, len);
                if (r == -1 && NativeCall.lastErrno() == ERANGE) {
                    capacity = Math.max(capacity * 2, len.get(JAVA_INT, 0) / 4);
                    continue;
                }
                NativeCall.check(r, "getsockopt(SO_PEERGROUPS)");
                int n = len.get(JAVA_INT, 0) / 4;
                return groups.asSlice(0, 4L * n).toArray(JAVA_INT);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** Sets SO_RCVTIMEO and SO_SNDTIMEO so that a silent peer cannot hold a thread in receive or send forever. */
    public static void setTimeouts(int fd, long millis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tv = arena.allocate(TIMEVAL_SIZE, 8);
            tv.set(JAVA_LONG, 0, millis / 1000);
            tv.set(JAVA_LONG, 8, (millis % 1000) * 1000);
            NativeCall.check(
                    (int) SETSOCKOPT.invokeExact(
                            NativeCall.errnoSegment(), fd, SOL_SOCKET, SO_RCVTIMEO, tv, TIMEVAL_SIZE),
                    "setsockopt(SO_RCVTIMEO)");
            NativeCall.check(
                    (int) SETSOCKOPT.invokeExact(
                            NativeCall.errnoSegment(), fd, SOL_SOCKET, SO_SNDTIMEO, tv, TIMEVAL_SIZE),
                    "setsockopt(SO_SNDTIMEO)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Sends {@code line} and a newline, UTF-8, as one message with {@code passFd} attached unless it is -1: a line of
     * the text protocols between fspd and its supervisor ({@code fspd --supervise}), which both ends speak.
     */
    public static int sendLine(int fd, String line, int passFd) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, data, JAVA_BYTE, 0, bytes.length);
            return send(fd, data, passFd);
        }
    }

    /**
     * Sends all of {@code data} as one message, with {@code passFd} attached by SCM_RIGHTS unless it is -1. Never
     * raises SIGPIPE (MSG_NOSIGNAL). Returns bytes sent.
     */
    public static int send(int fd, MemorySegment data, int passFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, data.byteSize()), 8);
            MemorySegment.copy(data, 0, buf, 0, data.byteSize());
            MemorySegment iov = arena.allocate(IOVEC_SIZE, 8);
            iov.set(JAVA_LONG, IOV_BASE_OFFSET, buf.address());
            iov.set(JAVA_LONG, IOV_LEN_OFFSET, data.byteSize());
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            msg.set(JAVA_LONG, MSG_IOV_OFFSET, iov.address());
            msg.set(JAVA_LONG, MSG_IOVLEN_OFFSET, 1);
            if (passFd >= 0) {
                MemorySegment control = arena.allocate(CMSG_SPACE_ONE_FD, 8);
                control.set(JAVA_LONG, CMSG_LEN_OFFSET, CMSG_LEN_ONE_FD);
                control.set(JAVA_INT, CMSG_LEVEL_OFFSET, SOL_SOCKET);
                control.set(JAVA_INT, CMSG_TYPE_OFFSET, SCM_RIGHTS);
                control.set(JAVA_INT, CMSG_DATA_OFFSET, passFd);
                msg.set(JAVA_LONG, MSG_CONTROL_OFFSET, control.address());
                msg.set(JAVA_LONG, MSG_CONTROLLEN_OFFSET, CMSG_SPACE_ONE_FD);
            }
            long n;
            do {
                // A signal (a profiler's, a debugger's) interrupts a blocking send before anything went: send again.
                n = (long) SENDMSG.invokeExact(NativeCall.errnoSegment(), fd, msg, MSG_NOSIGNAL);
            } while (n == -1 && NativeCall.lastErrno() == Libc.EINTR);
            return (int) NativeCall.check(n, "sendmsg");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Receives one message into {@code into} (up to its size), with a descriptor if the peer passed one; a received
     * descriptor is close-on-exec. Returns 0 bytes when the peer has closed; a signal that interrupts the wait (EINTR)
     * is retried. Control data beyond one descriptor is
     * refused: any extra descriptors are closed and the call fails with EBADMSG (74).
     */
    public static Received receive(int fd, MemorySegment into) {
        return receive(fd, into, 0);
    }

    /**
     * {@link #receive(int, MemorySegment)} with recvmsg flags. With {@link #MSG_DONTWAIT}, nothing waiting (EAGAIN) is
     * no failure: it returns {@code bytes} -1 and no descriptor, without the cost of an exception (a server polling
     * many silent peers meets it all the time). Without it, EAGAIN (a receive time-out) throws as before.
     */
    public static Received receive(int fd, MemorySegment into, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, into.byteSize()), 8);
            MemorySegment iov = arena.allocate(IOVEC_SIZE, 8);
            iov.set(JAVA_LONG, IOV_BASE_OFFSET, buf.address());
            iov.set(JAVA_LONG, IOV_LEN_OFFSET, into.byteSize());
            int controlBytes = 64;
            MemorySegment control = arena.allocate(controlBytes, 8);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            msg.set(JAVA_LONG, MSG_IOV_OFFSET, iov.address());
            msg.set(JAVA_LONG, MSG_IOVLEN_OFFSET, 1);
            msg.set(JAVA_LONG, MSG_CONTROL_OFFSET, control.address());
            msg.set(JAVA_LONG, MSG_CONTROLLEN_OFFSET, controlBytes);
            long n;
            do {
                // Interrupted by a signal before anything arrived: nothing was taken, so wait again.
                n = (long) RECVMSG.invokeExact(NativeCall.errnoSegment(), fd, msg, MSG_CMSG_CLOEXEC | flags);
            } while (n == -1 && NativeCall.lastErrno() == Libc.EINTR);
            if (n == -1 && NativeCall.lastErrno() == Libc.EAGAIN && (flags & MSG_DONTWAIT) != 0) {
                return new Received(-1, -1);
            }
            NativeCall.check(n, "recvmsg");
            MemorySegment.copy(buf, 0, into, 0, n);
            long controlLen = msg.get(JAVA_LONG, MSG_CONTROLLEN_OFFSET);
            int passed = -1;
            boolean extra = (msg.get(JAVA_INT, MSG_FLAGS_OFFSET) & MSG_CTRUNC) != 0;
            long pos = 0;
            while (pos + CMSG_DATA_OFFSET <= controlLen) {
                long len = control.get(JAVA_LONG, pos + CMSG_LEN_OFFSET);
                if (len < CMSG_DATA_OFFSET || pos + len > controlLen) {
                    break;
                }
                if (control.get(JAVA_INT, pos + CMSG_LEVEL_OFFSET) == SOL_SOCKET
                        && control.get(JAVA_INT, pos + CMSG_TYPE_OFFSET) == SCM_RIGHTS) {
                    for (long d = CMSG_DATA_OFFSET; d + 4 <= len; d += 4) {
                        int got = control.get(JAVA_INT, pos + d);
                        if (passed == -1) {
                            passed = got;
                        } else {
                            Libc.close(got);
                            extra = true;
                        }
                    }
                }
                pos += (len + 7) & ~7L;
            }
            if (extra) {
                if (passed != -1) {
                    Libc.close(passed);
                }
                throw new NativeException("recvmsg (more than one descriptor)", 74);
            }
            return new Received((int) n, passed);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Whether ordinary data waits on {@code fd} beyond what was received, without taking it or any descriptor sent with
     * it (recv with MSG_PEEK | MSG_DONTWAIT and no control buffer, so nothing is installed in this process). False at
     * end of file and when nothing waits.
     */
    public static boolean hasPendingData(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(1);
            long n = (long) RECV.invokeExact(NativeCall.errnoSegment(), fd, one, 1L, MSG_PEEK | MSG_DONTWAIT);
            if (n == -1 && NativeCall.lastErrno() == Libc.EAGAIN) {
                return false;
            }
            return NativeCall.check(n, "recv(MSG_PEEK)") > 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * poll(2) over {@code count} {@code struct pollfd} entries in {@code fds} ({@link SocketStructs#POLLFD_SIZE} bytes
     * each); returns the number with events, 0 on time-out. EINTR counts as 0.
     */
    public static int poll(MemorySegment fds, int count, int timeoutMillis) {
        try {
            int r = (int) POLL.invokeExact(NativeCall.errnoSegment(), fds, (long) count, timeoutMillis);
            if (r == -1 && NativeCall.lastErrno() == Libc.EINTR) {
                return 0;
            }
            return NativeCall.check(r, "poll");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Fills one {@code struct pollfd} at index {@code i}. */
    public static void setPollFd(MemorySegment fds, int i, int fd, short events) {
        long base = (long) i * POLLFD_SIZE;
        fds.set(JAVA_INT, base + POLLFD_FD_OFFSET, fd);
        fds.set(JAVA_SHORT, base + POLLFD_EVENTS_OFFSET, events);
        fds.set(JAVA_SHORT, base + POLLFD_REVENTS_OFFSET, (short) 0);
    }

    /** The revents of {@code struct pollfd} at index {@code i}. */
    public static short revents(MemorySegment fds, int i) {
        return fds.get(JAVA_SHORT, (long) i * POLLFD_SIZE + POLLFD_REVENTS_OFFSET);
    }

    private static int socket() {
        try {
            return NativeCall.check(
                    (int) SOCKET.invokeExact(NativeCall.errnoSegment(), AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
                    "socket(AF_UNIX)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static MemorySegment sockaddr(Arena arena, String path) {
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > SUN_PATH_MAX) {
            throw new NativeException("socket path longer than " + SUN_PATH_MAX + " bytes: " + path, 36);
        }
        MemorySegment addr = arena.allocate(SOCKADDR_UN_SIZE, 8);
        addr.set(JAVA_SHORT, SUN_FAMILY_OFFSET, (short) AF_UNIX);
        MemorySegment.copy(bytes, 0, addr, JAVA_BYTE, SUN_PATH_OFFSET, bytes.length);
        return addr;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AssertionError(t);
    }
}
