package org.fsp.ipc.fuse;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;
import org.fsp.linux.FuseDevice;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One serving loop on one non-blocking {@code /dev/fuse} descriptor (the mount's own or a FUSE_DEV_IOC_CLONE of it),
 * as an agent of the thread model: {@link #doWork()} reads one request if one is queued, decodes it, has the
 * dispatcher answer it and writes the reply on the same descriptor (the kernel matches replies to the descriptor that
 * read the request); {@link #sleep} waits in poll(2) on the descriptor, so an idle worker wakes when a request comes.
 * A worker that drives the channel beside other agents sleeps on futex words instead ({@link FutexAgent}): the
 * mount's {@link FuseWakeBridge} turns the descriptor's readiness into a wake-up of the channel's word.
 *
 * <p>Why non-blocking reads and not a blocking read under {@code ManagedBlocking}: a blocking read would hold a
 * thread-model worker for as long as the mount is idle, so every other agent on that worker would be lent out for
 * good; a non-blocking read costs one system call per poll and lets the worker drive the shm lanes beside it.
 *
 * <p>Once the connection ends (unmounted, or aborted through {@code /sys/fs/fuse/connections}), reads fail with
 * ENODEV; the agent then does nothing until it is detached. Each channel owns its buffers (one request, one reply).
 */
final class FuseChannel implements FutexAgent {

    private static final Logger LOG = LoggerFactory.getLogger(FuseChannel.class);

    /** Request buffer: the largest WRITE and its headers, with room to spare, as the kernel requires. */
    static final int BUFFER_BYTES = FuseConnection.MAX_WRITE + 8192;

    private final String role;
    private final int fd;
    private final FuseDispatcher dispatcher;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment in;
    private final MemorySegment out;
    private final MemorySegment pollfd;
    private final FuseDispatcher.LateReply late;
    private final AtomicLong served = new AtomicLong();
    private volatile boolean ended;
    /** Set once the mount's {@link FuseWakeBridge} serves this channel; until then a futex sleep is refused. */
    private volatile FuseWakeBridge.Wake wake;

    FuseChannel(String role, int fd, FuseDispatcher dispatcher) {
        this.role = role;
        this.fd = fd;
        this.dispatcher = dispatcher;
        this.in = arena.allocate(BUFFER_BYTES, 4096);
        this.out = arena.allocate(BUFFER_BYTES, 4096);
        this.pollfd = arena.allocate(8, 8);
        this.late = FuseDispatcher.onDescriptor(fd);
    }

    @Override
    public int doWork() {
        if (ended) {
            return 0;
        }
        long n;
        try {
            n = FuseDevice.read(fd, in);
        } catch (NativeException e) {
            if (e.errno() == FuseDevice.ENODEV) {
                ended = true;
                LOG.info("{}: the FUSE connection ended", role);
            } else if (e.errno() != Libc.EINTR && e.errno() != FuseDevice.ENOENT) {
                LOG.warn("{}: read of /dev/fuse failed", role, e);
            }
            return 0;
        }
        if (n < 0) {
            return 0;
        }
        FuseRequest request = FuseDecoder.decode(in, n);
        if (request == null) {
            LOG.warn("{}: a {}-byte message without a header, dropped", role, n);
            return 1;
        }
        FuseReply reply = dispatcher.dispatch(request, out, late);
        int len = reply.encode(out, request.header().unique());
        if (len > 0) {
            try {
                FuseDevice.write(fd, out.asSlice(0, len));
            } catch (NativeException e) {
                // ENOENT: the request was interrupted and the kernel dropped it; its answer has no one to go to.
                if (e.errno() != FuseDevice.ENOENT && e.errno() != FuseDevice.ENODEV) {
                    LOG.warn(
                            "{}: reply to {} failed",
                            role,
                            FuseOpcodes.name(request.header().opcode()),
                            e);
                }
            }
        }
        if (request instanceof FuseRequest.Init) {
            dispatcher.initAnswered();
        }
        served.incrementAndGet();
        return 1;
    }

    @Override
    public String roleName() {
        return role;
    }

    @Override
    public void sleep(long maxNanos) {
        if (ended) {
            java.util.concurrent.locks.LockSupport.parkNanos(maxNanos);
            return;
        }
        int millis = (int) Math.max(1, Math.min(maxNanos / 1_000_000L, 200));
        try {
            FuseDevice.pollIn(fd, pollfd, millis);
        } catch (NativeException e) {
            java.util.concurrent.locks.LockSupport.parkNanos(maxNanos);
        }
    }

    /** From now on a sleep among other agents waits on {@code w}'s word. */
    void sleepThrough(FuseWakeBridge.Wake w) {
        wake = w;
    }

    @Override
    public boolean beginSleep(FutexWaitSet waitSet) {
        FuseWakeBridge.Wake w = wake;
        if (w == null) {
            return false;
        }
        int seen = w.value();
        if (!waitSet.add(w.word(), seen, true)) {
            return false;
        }
        if (ended) {
            return true; // nothing will come; the word is never woken and the sleep lasts its time-out
        }
        try {
            w.rearm();
        } catch (NativeException e) {
            LOG.warn("{}: cannot watch /dev/fuse for the next request; the worker polls instead", role, e);
            wake = null;
            return false;
        }
        return true;
    }

    @Override
    public void endSleep() {
        // One-shot: a rearm that did not fire reports once more, harmlessly, when the next request comes.
    }

    /** Requests answered so far. */
    long served() {
        return served.get();
    }

    boolean ended() {
        return ended;
    }

    int fd() {
        return fd;
    }

    /** Frees the buffers; only once no thread drives the channel. */
    void free() {
        arena.close();
    }
}
