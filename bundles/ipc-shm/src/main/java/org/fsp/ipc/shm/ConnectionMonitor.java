package org.fsp.ipc.shm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.Errno;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.fsp.linux.SocketStructs;
import org.fsp.linux.UnixSockets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread of a {@link ShmServer}'s own: one non-blocking poll over the listening socket, every connection
 * waiting for its hello and every client's socket. It accepts, has each hello answered as it comes
 * ({@link Handshake}), and notices a client's death within {@value #POLL_MILLIS} ms. Nothing on it waits for a client,
 * so silent connections cannot delay an honest one: each must say hello within
 * {@link ShmServerConfig#helloTimeoutMillis()}, and {@link PendingHandshakes} bounds how many wait, per user and in all,
 * dropping the oldest of the user over its bound. When the process runs out of descriptors (EMFILE, ENFILE), a
 * descriptor kept in reserve is closed to accept each new connection and refuse it with that errno, so the backlog
 * drains and connected clients go on.
 *
 * <p>A typical sequence is: {@link #start} on a listening socket, {@link #stop()}, then {@link #takePending()} (a
 * hand-over: the connections still waiting for their hello go to the successor) or {@link #closePending()}. The thread
 * runs through a {@link FutureTask}, which drops the monitor once it ends, so that a Thread kept by someone else (the
 * framework) does not keep this bundle loaded.
 */
final class ConnectionMonitor {

    static final int POLL_MILLIS = ShmServer.POLL_MILLIS;
    /** Connections accepted in one round at most, so that a flood of connects cannot starve the hellos. */
    static final int ACCEPT_BATCH = 64;
    /** How long accepting pauses when the descriptor table is full and no reserve descriptor is left. */
    static final long ACCEPT_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private static final Logger LOG = LoggerFactory.getLogger(ShmServer.class);

    private final ShmServerConfig config;
    private final ClientTable clients;
    private final Handshake handshake;
    private final RateLimitedLog refusals;
    /** Monitor thread only (and the thread that stops it, once it has stopped). */
    private final PendingHandshakes pending;
    /** Written by the monitor thread when it changes: connections waiting for their hello per uid, for the shell. */
    private volatile SortedMap<Integer, Integer> pendingByUid = new TreeMap<>();
    /** Monitor thread only: a descriptor of /dev/null kept to be closed when the table is full, or -1. */
    private int reserveFd = -1;
    /** Monitor thread only: {@code nanoTime} before which the listening socket is not polled (table full). */
    private long acceptPausedUntil;

    private int listenFd = -1;
    private volatile boolean running;
    private Thread thread;

    ConnectionMonitor(ShmServerConfig config, ClientTable clients, Handshake handshake, RateLimitedLog refusals) {
        this.config = config;
        this.clients = clients;
        this.handshake = handshake;
        this.refusals = refusals;
        this.pending = new PendingHandshakes(config.maxPendingHandshakes(), config.maxPendingHandshakesPerUid());
    }

    /**
     * Takes the reserve descriptor and the connections a predecessor accepted whose hello had not come (their wait
     * starts again here), then starts the thread on {@code listenFd}.
     */
    void start(int listenFd, List<Integer> handedOverPending) {
        this.listenFd = listenFd;
        reserveFd = openReserve();
        for (int fd : handedOverPending) {
            onAccepted(fd);
        }
        running = true;
        thread = Thread.ofPlatform()
                .daemon()
                .name("fsp-shm-monitor")
                .inheritInheritableThreadLocals(false)
                .start(new FutureTask<Void>(this::monitorLoop, null));
    }

    /** Stops the thread (waiting at most {@code millis}, 0 for no limit) and lets the reserve descriptor go. */
    void stop(long millis) throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.join(millis);
        }
        closeReserve();
    }

    /** After {@link #stop}: the connections still waiting for their hello, for a successor. */
    List<Integer> takePending() {
        List<Integer> silent = new ArrayList<>();
        for (PendingHandshakes.Pending p : pending.removeAll()) {
            silent.add(p.fd());
        }
        publishPending();
        return silent;
    }

    /** After {@link #stop}: closes the connections still waiting for their hello. */
    void closePending() {
        for (PendingHandshakes.Pending p : pending.removeAll()) {
            Libc.close(p.fd());
        }
    }

    /** Connections accepted that have not said hello yet, per uid (as of the last round). */
    SortedMap<Integer, Integer> pendingByUid() {
        return pendingByUid;
    }

    /**
     * The monitor thread: one poll over the listening socket (unless accepting pauses), the connections waiting for
     * their hello and the clients' sockets; then hellos, deaths, new connections and expired hellos, in that order.
     */
    private void monitorLoop() {
        Arena arena = Arena.ofAuto();
        int capacity = 64;
        MemorySegment fds = arena.allocate((long) capacity * SocketStructs.POLLFD_SIZE, 8);
        long helloTimeout = TimeUnit.MILLISECONDS.toNanos(config.helloTimeoutMillis());
        while (running) {
            try {
                ClientSession[] list = clients.snapshot();
                handshake.republishServerCpus(list);
                List<PendingHandshakes.Pending> waiting = pending.all();
                int count = 1 + list.length + waiting.size();
                if (count > capacity) {
                    capacity = Integer.highestOneBit(count) * 2;
                    fds = arena.allocate((long) capacity * SocketStructs.POLLFD_SIZE, 8);
                }
                long now = System.nanoTime();
                boolean accepting = now - acceptPausedUntil >= 0;
                UnixSockets.setPollFd(fds, 0, accepting ? listenFd : -1, UnixSockets.POLLIN);
                for (int i = 0; i < list.length; i++) {
                    UnixSockets.setPollFd(fds, 1 + i, list[i].socketFd, UnixSockets.POLLIN);
                }
                for (int i = 0; i < waiting.size(); i++) {
                    UnixSockets.setPollFd(
                            fds, 1 + list.length + i, waiting.get(i).fd(), UnixSockets.POLLIN);
                }
                long wait = TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS);
                if (!waiting.isEmpty()) {
                    wait = Math.min(wait, waiting.get(0).acceptedAtNanos() + helloTimeout - now);
                }
                if (!accepting) {
                    wait = Math.min(wait, acceptPausedUntil - now);
                }
                int ready = UnixSockets.poll(fds, count, (int) Math.max(0, (wait + 999_999) / 1_000_000));
                if (ready > 0) {
                    for (int i = 0; i < waiting.size(); i++) {
                        if (UnixSockets.revents(fds, 1 + list.length + i) != 0 && running) {
                            PendingHandshakes.Pending p = waiting.get(i);
                            if (handshake.hello(p.fd(), p.peer())) {
                                pending.remove(p.fd());
                            }
                        }
                    }
                    // A client sends nothing after its hello: readable means end of file (death) or a protocol breach.
                    for (int i = 0; i < list.length; i++) {
                        if (UnixSockets.revents(fds, 1 + i) != 0) {
                            LOG.info("{} disconnected", list[i]);
                            clients.release(list[i]);
                            clients.forgetRecords(list[i]);
                        }
                    }
                    if (accepting && (UnixSockets.revents(fds, 0) & UnixSockets.POLLIN) != 0 && running) {
                        acceptBatch();
                    }
                }
                for (PendingHandshakes.Pending p : pending.expired(System.nanoTime() - helloTimeout)) {
                    handshake.refuse(
                            ShmServer.REFUSED_HELLO_TIMEOUT,
                            p.fd(),
                            p.peer(),
                            0,
                            "no hello within " + config.helloTimeoutMillis() + " ms");
                }
                publishPending();
            } catch (RuntimeException e) {
                if (refusals.warn("monitor-failed", "channel monitor failed; continuing: {}", e.toString())) {
                    LOG.debug("channel monitor failure", e);
                }
            }
        }
    }

    /**
     * Accepts what waits in the backlog, at most {@link #ACCEPT_BATCH}: each connection either completes its
     * handshake at once (an honest client has sent its hello already) or waits in the pending handshakes.
     */
    private void acceptBatch() {
        for (int n = 0; n < ACCEPT_BATCH; n++) {
            int fd;
            try {
                fd = UnixSockets.acceptNonBlocking(listenFd);
            } catch (NativeException e) {
                if (e.errno() == UnixSockets.EMFILE || e.errno() == UnixSockets.ENFILE) {
                    if (!refuseWithReserve(e.errno())) {
                        return;
                    }
                    continue;
                }
                if (e.errno() == UnixSockets.ENOBUFS || e.errno() == UnixSockets.ENOMEM) {
                    refusals.warn(
                            ShmServer.REFUSED_DESCRIPTORS, "accept failed ({}); accepting pauses", e.getMessage());
                    acceptPausedUntil = System.nanoTime() + ACCEPT_PAUSE_NANOS;
                    return;
                }
                // ECONNABORTED and the like: that connection is gone, the next may be fine.
                refusals.warn("accept-failed", "accept failed: {}", e.getMessage());
                continue;
            }
            if (fd == -1) {
                return;
            }
            onAccepted(fd);
        }
    }

    void onAccepted(int fd) {
        UnixSockets.PeerCredentials peer;
        try {
            peer = UnixSockets.peerCredentials(fd);
        } catch (NativeException e) {
            Libc.close(fd);
            return;
        }
        if (handshake.hello(fd, peer)) {
            return;
        }
        for (PendingHandshakes.Dropped d : pending.add(new PendingHandshakes.Pending(fd, peer, System.nanoTime()))) {
            boolean uidBound = d.why() == PendingHandshakes.Eviction.UID_BOUND;
            handshake.refuse(
                    uidBound ? ShmServer.REFUSED_PENDING_UID : ShmServer.REFUSED_PENDING_TOTAL,
                    d.pending().fd(),
                    d.pending().peer(),
                    0,
                    uidBound
                            ? "silent; its uid has " + config.maxPendingHandshakesPerUid() + " connections waiting"
                            : "silent; " + config.maxPendingHandshakes() + " connections waiting, its uid the most");
        }
    }

    /**
     * The descriptor table is full: closes the reserve descriptor, accepts one connection with the freed slot and
     * refuses it with {@code errno}, then takes the reserve again. Returns false (and pauses accepting for
     * {@link #ACCEPT_PAUSE_NANOS}) when there is no reserve to spend.
     */
    private boolean refuseWithReserve(int errno) {
        if (reserveFd < 0) {
            reserveFd = openReserve();
        }
        if (reserveFd < 0) {
            refusals.warn(
                    ShmServer.REFUSED_DESCRIPTORS,
                    "out of file descriptors ({}) and no reserve: accepting pauses; connected clients are still served",
                    Errno.of(errno));
            acceptPausedUntil = System.nanoTime() + ACCEPT_PAUSE_NANOS;
            return false;
        }
        Libc.close(reserveFd);
        reserveFd = -1;
        try {
            int fd = UnixSockets.acceptNonBlocking(listenFd);
            if (fd != -1) {
                UnixSockets.PeerCredentials peer = UnixSockets.peerCredentials(fd);
                handshake.refuse(
                        ShmServer.REFUSED_DESCRIPTORS,
                        fd,
                        peer,
                        errno,
                        "out of file descriptors; connected clients are still served");
            }
        } catch (NativeException e) {
            LOG.debug("accept with the reserve descriptor failed", e);
        } finally {
            reserveFd = openReserve();
        }
        return true;
    }

    /** Monitor thread: publishes the pending connections per uid when they changed. */
    private void publishPending() {
        SortedMap<Integer, Integer> now = pending.perUid();
        if (!now.equals(pendingByUid)) {
            pendingByUid = now;
        }
    }

    private static int openReserve() {
        try {
            return Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        } catch (NativeException e) {
            return -1;
        }
    }

    private void closeReserve() {
        if (reserveFd >= 0) {
            Libc.close(reserveFd);
            reserveFd = -1;
        }
    }
}
