package org.fsp.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.fsp.linux.NativeCall.INT;
import static org.fsp.linux.NativeCall.POINTER;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * epoll(7): one thread waits for readiness of many descriptors. Used one-shot ({@link #EPOLLONESHOT}): a descriptor
 * reports once and then stays silent until {@link #rearm} asks again, so a waiter is woken once per sleep of whoever
 * asked and not once per message that arrives while they are awake.
 *
 * <p>{@code struct epoll_event} on x86-64 is packed: a 32-bit event mask, then the 64-bit user data at offset 4.
 */
public final class Epoll {

    public static final int EPOLLIN = 0x001;
    public static final int EPOLLONESHOT = 1 << 30;

    /** Bytes of one {@code struct epoll_event} (packed on x86-64). */
    public static final int EVENT_BYTES = 12;

    private static final int EPOLL_CLOEXEC = 02000000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_MOD = 3;

    private static final MethodHandle EPOLL_CREATE1 = NativeCall.bind("epoll_create1", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle EPOLL_CTL =
            NativeCall.bind("epoll_ctl", FunctionDescriptor.of(INT, INT, INT, INT, POINTER));
    private static final MethodHandle EPOLL_WAIT =
            NativeCall.bind("epoll_wait", FunctionDescriptor.of(INT, INT, POINTER, INT, INT));

    /** One event per thread for {@code epoll_ctl}: it is called on a worker's way to sleep and should not allocate. */
    private static final ThreadLocal<MemorySegment> CTL_EVENT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(EVENT_BYTES, 8));

    private Epoll() {}

    /** A new epoll instance (close-on-exec); close it with {@link Libc#close}. */
    public static int create() {
        try {
            return NativeCall.check(
                    (int) EPOLL_CREATE1.invokeExact(NativeCall.errnoSegment(), EPOLL_CLOEXEC), "epoll_create1");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Watches {@code fd} for {@code events}, reported with {@code data}. */
    public static void add(int epfd, int fd, int events, long data) {
        control(epfd, EPOLL_CTL_ADD, fd, events, data, "epoll_ctl(ADD)");
    }

    /** Asks a one-shot {@code fd} to report {@code events} again, with {@code data}. */
    public static void rearm(int epfd, int fd, int events, long data) {
        control(epfd, EPOLL_CTL_MOD, fd, events, data, "epoll_ctl(MOD)");
    }

    private static void control(int epfd, int op, int fd, int events, long data, String call) {
        MemorySegment ev = CTL_EVENT.get();
        ev.set(JAVA_INT_UNALIGNED, 0, events);
        ev.set(JAVA_LONG_UNALIGNED, 4, data);
        try {
            NativeCall.check((int) EPOLL_CTL.invokeExact(NativeCall.errnoSegment(), epfd, op, fd, ev), call);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Waits at most {@code timeoutMillis} (negative: no limit) for events, into {@code events} (room for
     * {@code max}). Returns how many came; 0 on time-out or when a signal interrupted the wait.
     */
    public static int await(int epfd, MemorySegment events, int max, int timeoutMillis) {
        try {
            int r = (int) EPOLL_WAIT.invokeExact(NativeCall.errnoSegment(), epfd, events, max, timeoutMillis);
            if (r == -1 && NativeCall.lastErrno() == Libc.EINTR) {
                return 0;
            }
            return NativeCall.check(r, "epoll_wait");
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The user data of event {@code i} of what {@link #await} returned. */
    public static long data(MemorySegment events, int i) {
        return events.get(JAVA_LONG_UNALIGNED, (long) i * EVENT_BYTES + 4);
    }
}
