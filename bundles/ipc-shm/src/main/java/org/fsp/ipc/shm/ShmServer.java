package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.api.channel.HandshakeDescriptor.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.HandshakeDescriptor;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.SessionRecords;
import org.fsp.api.handoff.ChannelHandoff;
import org.fsp.api.handoff.LayerGate;
import org.fsp.api.sched.ThreadModel;
import org.fsp.linux.Libc;
import org.fsp.linux.MemFd;
import org.fsp.linux.NativeException;
import org.fsp.linux.SocketStructs;
import org.fsp.linux.UnixSockets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared-memory front end of the FS process, usable without OSGi: listens on a UNIX socket, sets up one private
 * channel per client, serves the channels with polling workers and releases everything a client held when its socket
 * closes.
 *
 * <p>A typical sequence is: {@code new ShmServer(fs, socket, config, threadModel)}, {@link #start()}, clients connect
 * with FS Lib,
 * {@link #clients()} for the shell, {@link #close()}.
 *
 * <p>Live replacement, of the file system below: {@link #detachFileSystem} holds requests at the boundary until
 * {@link #attachFileSystem} (a {@link FileSystemGate}); of this server itself: {@link #quiesce()} instead of
 * {@link #close()} leaves everything open and returns it as a {@link ChannelHandoff}, and {@link #adopt} then
 * {@link #start()} carries on with it, in this class loader or another one.
 *
 * <p>Threads: one monitor thread polls the listening socket, every connection waiting for its hello and every client
 * socket, all non-blocking: it accepts, reads each hello as it comes and answers it, and notices a client's death
 * within {@value #POLL_MILLIS} ms. Nothing on it waits for a client, so silent connections cannot delay an honest one:
 * each must say hello within {@link ShmServerConfig#helloTimeoutMillis()}, and {@link PendingHandshakes} bounds how
 * many wait, per user and in all, dropping the oldest of the user over its bound. When the process runs out of
 * descriptors (EMFILE, ENFILE), a descriptor kept in reserve is closed to accept each new connection and refuse it with
 * that errno, so the backlog drains, connected clients go on, and one line per interval is logged
 * ({@link RateLimitedLog}, as for every kind of refusal). {@code workers} lane workers ({@link LaneWorker} agents)
 * serve the lanes, each client within its {@link FairShare}. The lane workers run on the {@link ThreadModel} the
 * server is made with (another one takes them over with {@link #driveWith}): the server runs no thread of its own for
 * them, so the thread model's ownership rule (a thread that ran an agent ends when the agent is detached) covers them.
 * The monitor is the one thread of the server's own; it runs through a {@link FutureTask}, which drops the server once
 * the monitor ends, so that a Thread kept by someone else (the framework) does not keep this bundle loaded.
 */
public final class ShmServer implements AutoCloseable {

    /**
     * A connected client as the shell shows it.
     *
     * @param throttled requests of the client that waited in their slot because it was at its share of the workers
     *     (a client flooding slow requests shows a growing count; its neighbours are not slowed)
     */
    public record ClientInfo(
            long id,
            int pid,
            int uid,
            int gid,
            int lanes,
            int openFiles,
            long requestsServed,
            long throttled,
            long connectedAtMillis) {}

    static final int POLL_MILLIS = 100;
    /** Listen backlog: room for a burst of honest connections beside a flood of silent ones being drained. */
    static final int BACKLOG = 512;
    /** Connections accepted in one round at most, so that a flood of connects cannot starve the hellos. */
    static final int ACCEPT_BATCH = 64;
    /** How long accepting pauses when the descriptor table is full and no reserve descriptor is left. */
    static final long ACCEPT_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    // Kinds of refusal, as fsp:clients counts them and the log lines name them.
    static final String REFUSED_BAD_HELLO = "bad-hello";
    static final String REFUSED_SERVER_FULL = "server-full";
    static final String REFUSED_UID_FULL = "uid-full";
    static final String REFUSED_HELLO_TIMEOUT = "hello-timeout";
    /** A session token presented by another uid than the one that presented it first. */
    static final String REFUSED_TOKEN = "token-of-another-uid";

    static final String REFUSED_PENDING_UID = "pending-per-uid-bound";
    static final String REFUSED_PENDING_TOTAL = "pending-total-bound";
    static final String REFUSED_DESCRIPTORS = "descriptor-limit";
    static final String REFUSED_SETUP = "setup-failed";

    private static final int S_IFSOCK = 0140000;
    private static final int ECONNREFUSED = 111;
    private static final int EPIPE = 32;
    private static final int ECONNRESET = 104;
    private static final Logger LOG = LoggerFactory.getLogger(ShmServer.class);

    private final FileSystemGate gate;
    private final Path socketPath;
    private final ShmServerConfig config;
    private final Map<Long, ClientSession> sessions = new ConcurrentHashMap<>();
    private final AtomicLong nextClientId = new AtomicLong(1);
    private final List<LaneWorker> workers = new CopyOnWriteArrayList<>();
    private final AtomicLong clientsServed = new AtomicLong();
    private final AtomicLong clientsRefused = new AtomicLong();
    /** Refusals and drops of connections, one log line per kind per interval. */
    private final RateLimitedLog refusals = new RateLimitedLog(LOG);
    /** Monitor thread only (and the quiescing or closing thread once the monitor has stopped). */
    private final PendingHandshakes pending;
    /** Written by the monitor thread when it changes: connections waiting for their hello per uid, for the shell. */
    private volatile SortedMap<Integer, Integer> pendingByUid = new TreeMap<>();
    /** Shared with the lane workers: how many requests each client may have executing. */
    private final FairShare share;
    /** Monitor thread only: a descriptor of /dev/null kept to be closed when the table is full, or -1. */
    private int reserveFd = -1;
    /** Monitor thread only: {@code nanoTime} before which the listening socket is not polled (table full). */
    private long acceptPausedUntil;

    private Thread monitor;
    private volatile boolean running;
    /** Set by {@link #close()}: hellos that come now are refused instead of set up. */
    private volatile boolean closing;

    private int listenFd = -1;
    /**
     * Under this, set before {@link #start()}: a listening socket bound by someone else (the supervisor of
     * {@code bin/fspd --supervise}) to accept on, or -1 to bind one; when set, the socket file is not ours to remove.
     */
    private int inheritedListenFd = -1;
    /** The state this server takes over in {@link #start()}, or null for a fresh start; under this. */
    private ChannelHandoff adopted;
    /** What the adoption carried over and how long the lanes went unpolled, for {@code status()}; null if none. */
    private volatile String adoption;
    /** The lanes' pause across the adoption: from the predecessor's quiesce to the first poll here; -1 if none. */
    private volatile long adoptionPauseNanos = -1;
    /** Guards the round-robin of lanes over workers (the monitor thread assigns while the server's lock may be held). */
    private final Object laneLock = new Object();
    /** Under {@link #laneLock}. */
    private int nextWorker;
    /** Written under this: the thread model driving the lane workers. */
    private volatile ThreadModel threadModel;
    /** The last hand-over of the lane workers, as {@code status()} shows it; null before the first. */
    private volatile String lastHandOver;

    /**
     * A server on {@code fs}, or with null on no file system yet: clients may connect, and their requests wait (at most
     * {@link ShmServerConfig#fileSystemWaitMillis()}) until {@link #attachFileSystem} brings one. Its lane workers run
     * on {@code threadModel} from {@link #start()} on.
     */
    public ShmServer(FileSystemService fs, Path socketPath, ShmServerConfig config, ThreadModel threadModel) {
        this(fs, socketPath, config);
        this.threadModel = Objects.requireNonNull(threadModel, "threadModel");
    }

    /** A server that never starts: {@link #discard} ends a hand-over with it. */
    private ShmServer(FileSystemService fs, Path socketPath, ShmServerConfig config) {
        this.gate = new FileSystemGate(fs, config.fileSystemWaitMillis());
        this.socketPath = socketPath.toAbsolutePath();
        this.config = config;
        this.pending = new PendingHandshakes(config.maxPendingHandshakes(), config.maxPendingHandshakesPerUid());
        this.share = new FairShare(config.inFlightPerClient(), workers);
    }

    /**
     * A server that carries on where the one that left {@code handoff} stopped ({@link #quiesce()}): {@link #start()}
     * takes over its listening socket and every client with its segment, lane heads and open files, instead of binding
     * a socket. {@code fs} may be null, as for the constructor.
     */
    public static ShmServer adopt(
            FileSystemService fs, ChannelHandoff handoff, ShmServerConfig config, ThreadModel threadModel) {
        ShmServer s = new ShmServer(fs, Path.of(handoff.socketPath()), config, threadModel);
        s.adopted = handoff;
        s.nextClientId.set(handoff.nextClientId());
        return s;
    }

    /**
     * Ends what {@code handoff} holds without serving it (e.g. it is for another socket than the one configured now):
     * each client is told the server closed, its handles are closed on {@code fs} (if not null) and its segment and
     * socket released; the listening socket is closed and its file removed.
     */
    public static void discard(FileSystemService fs, ChannelHandoff handoff, ShmServerConfig config) {
        ShmServer s = new ShmServer(fs, Path.of(handoff.socketPath()), config);
        s.adopted = handoff;
        synchronized (s) {
            for (ClientSession session : s.sessionsOf(handoff)) {
                session.segment.set(
                        JAVA_INT, ChannelHeaderDescriptor.SERVER_STATE_OFFSET, ChannelHeaderDescriptor.SERVER_CLOSED);
                s.release(session);
            }
            s.adopted = null;
        }
        Libc.close(handoff.listenFd());
        try {
            Files.deleteIfExists(s.socketPath);
        } catch (IOException e) {
            LOG.warn("cannot remove {}", s.socketPath, e);
        }
        LOG.info(
                "discarded the hand-over of {} ({} clients)",
                handoff.socketPath(),
                handoff.clients().size());
    }

    /**
     * Makes {@link #start()} accept on {@code fd}, a socket already listening on this server's path, instead of binding
     * one, and {@link #close()} leave the socket file in place: its owner (the supervisor that keeps the socket across
     * restarts of fspd) decides when it goes. For an adopted server only the latter applies.
     */
    public synchronized void useInheritedSocket(int fd) {
        if (running) {
            throw new IllegalStateException("already started");
        }
        if (fd < 0) {
            throw new IllegalArgumentException("not a descriptor: " + fd);
        }
        inheritedListenFd = fd;
    }

    /**
     * Leads requests to {@code fs} from now on: when there was none (after {@link #detachFileSystem}), the requests
     * held meanwhile run now. Returns the pause the clients saw, from the detach to now, or -1 if a file system was
     * attached already (it is replaced without a pause: the requests inside it finish there).
     */
    public long attachFileSystem(FileSystemService fs) {
        long pause = gate.attach(fs);
        for (LaneWorker w : workers) {
            w.wakeUp();
        }
        if (pause >= 0) {
            LOG.info("file system attached; requests waited {} us for it", pause / 1_000);
        }
        return pause;
    }

    /**
     * Stops passing requests to {@code fs} and returns once none is inside it, so that it can stop right after. If it
     * is the attached file system, requests wait in their rings until {@link #attachFileSystem} (clients see a pause),
     * at most {@link ShmServerConfig#fileSystemWaitMillis()}, after which they fail with EIO.
     */
    public void detachFileSystem(FileSystemService fs) {
        long start = System.nanoTime();
        gate.detach(fs);
        LOG.info(
                "file system detached after {} us of draining; requests wait for the next one",
                (System.nanoTime() - start) / 1_000);
    }

    /**
     * Binds the socket (mode 0666: access is decided per request from the peer's credentials, not by the socket
     * file), starts the workers and the monitor. A socket file left by a dead server is removed; one that answers
     * means another server runs, and start fails. A server made by {@link #adopt} instead takes over the listening
     * socket and the clients of its predecessor, and returns once its workers poll the lanes again.
     */
    public synchronized void start() throws IOException {
        if (running) {
            throw new IllegalStateException("already started");
        }
        ChannelHandoff handoff = adopted;
        adopted = null;
        if (handoff == null && inheritedListenFd >= 0) {
            listenFd = inheritedListenFd;
        } else if (handoff == null) {
            removeStaleSocket();
            try {
                listenFd = UnixSockets.listen(socketPath.toString(), BACKLOG);
            } catch (NativeException e) {
                throw new IOException("cannot listen on " + socketPath + ": " + e.getMessage(), e);
            }
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-rw-rw-"));
        } else {
            listenFd = handoff.listenFd();
        }
        // Accepting until EAGAIN must never block, whoever made the socket.
        Libc.setNonBlocking(listenFd);
        reserveFd = openReserve();
        running = true;
        for (int i = 0; i < config.workers(); i++) {
            workers.add(new LaneWorker("shm-worker-" + i, i, gate, config.slotDataBytes(), share));
        }
        if (handoff != null) {
            for (ClientSession session : sessionsOf(handoff)) {
                sessions.put(session.id, session);
            }
            share.clientsChanged(sessions.size());
            // Connections the predecessor accepted whose hello had not come: their wait starts again here.
            for (int fd : handoff.pendingFds()) {
                onAccepted(fd);
            }
        }
        startDrivers();
        monitor = Thread.ofPlatform()
                .daemon()
                .name("fsp-shm-monitor")
                .inheritInheritableThreadLocals(false)
                .start(new FutureTask<Void>(this::monitorLoop, null));
        if (handoff != null) {
            adoptionPauseNanos = awaitFirstPoll() - handoff.quiescedAtNanos();
            adoption = String.format(
                    Locale.ROOT,
                    "took over %d clients, lanes unpolled %.3f ms",
                    handoff.clients().size(),
                    adoptionPauseNanos / 1e6);
            LOG.info("serving FSP channels on {} with {} workers: {}", socketPath, config.workers(), adoption);
        } else {
            LOG.info("serving FSP channels on {} with {} workers", socketPath, config.workers());
        }
    }

    /**
     * The sessions {@code handoff} describes, their lanes given to the workers at their heads: the same segments, open
     * files (same client numbers) and sockets, so clients notice nothing but the pause.
     */
    private List<ClientSession> sessionsOf(ChannelHandoff handoff) {
        List<ClientSession> out = new ArrayList<>();
        for (ChannelHandoff.Client c : handoff.clients()) {
            ClientSession session = new ClientSession(
                    c.id(),
                    c.credentials(),
                    c.layout(),
                    c.segment(),
                    c.arena(),
                    c.socketFd(),
                    config.maxOpenFilesPerClient(),
                    c.connectedAtMillis(),
                    c.tokenHigh(),
                    c.tokenLow());
            session.files.restore(c.fileGenerations(), c.files());
            session.requestsServed.add(c.requestsServed());
            if (!workers.isEmpty()) {
                for (int lane = 0; lane < c.layout().laneCount(); lane++) {
                    assignLane(session, lane, c.laneHeads()[lane]);
                }
            }
            out.add(session);
        }
        return out;
    }

    /** Under this: waits (at most a second) until a lane worker has polled; returns when, as {@code nanoTime}. */
    private long awaitFirstPoll() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (true) {
            long first = Long.MAX_VALUE;
            for (LaneWorker w : workers) {
                long at = w.firstPollNanos();
                if (at != 0) {
                    first = Math.min(first, at);
                }
            }
            if (first != Long.MAX_VALUE) {
                return first;
            }
            if (System.nanoTime() > deadline) {
                LOG.warn("no lane worker polled within a second of the adoption");
                return System.nanoTime();
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Stops serving without closing anything, and returns everything a successor needs to carry on
     * ({@link #adopt}): the listening socket stays bound (new connections queue in its backlog), connections accepted
     * but not yet past their hello are handed over as they are (the successor goes on waiting for it), the lane
     * workers stop at the agent boundary (the request being executed completes), and each client's socket, segment,
     * lane heads and open files are handed over as they are. Afterwards this server is stopped and owns nothing; no thread of it runs.
     */
    public synchronized ChannelHandoff quiesce() {
        if (!running) {
            throw new IllegalStateException("not running");
        }
        running = false;
        try {
            monitor.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Integer> silent = new ArrayList<>();
        for (PendingHandshakes.Pending p : pending.removeAll()) {
            silent.add(p.fd());
        }
        publishPending();
        closeReserve();
        // From here clients see the pause: their requests wait in the rings until the successor polls.
        long quiescedAt = System.nanoTime();
        stopDrivers();
        List<ChannelHandoff.Client> clients = new ArrayList<>();
        for (ClientSession s : sessions.values()) {
            if (!s.isOpen()) {
                continue;
            }
            long[] heads = new long[s.layout.laneCount()];
            for (int lane = 0; lane < heads.length; lane++) {
                for (LaneWorker w : workers) {
                    long head = w.head(s, lane);
                    if (head >= 0) {
                        heads[lane] = head;
                    }
                }
            }
            clients.add(new ChannelHandoff.Client(
                    s.id,
                    s.credentials,
                    s.socketFd,
                    s.layout,
                    s.segment,
                    s.arena,
                    heads,
                    s.files.entries(),
                    s.files.generations(),
                    s.requestsServed.sum(),
                    s.connectedAtMillis,
                    s.tokenHigh,
                    s.tokenLow));
        }
        clients.sort(Comparator.comparingLong(ChannelHandoff.Client::id));
        ChannelHandoff handoff =
                new ChannelHandoff(socketPath.toString(), listenFd, nextClientId.get(), clients, quiescedAt, silent);
        sessions.clear();
        workers.clear();
        listenFd = -1;
        if (gate.deferredHandles() > 0) {
            LOG.warn(
                    "{} handles of clients that left while no file system was attached stay open in the file system",
                    gate.deferredHandles());
        }
        LOG.info("quiesced {} with {} clients for a successor", socketPath, clients.size());
        return handoff;
    }

    /**
     * Hands the lane workers to {@code model} (a thread model that replaces the one they run on). Callable before or
     * after {@link #start()}. While they change hands no lane is polled for a moment (the old model detaches them at
     * their agent boundary first): requests wait in their rings, none fails. Returns how long the lanes went unpolled
     * at most, or -1 when nothing changed hands (the same model, or the server is not running).
     */
    public synchronized long driveWith(ThreadModel model) {
        Objects.requireNonNull(model, "model");
        if (model == threadModel) {
            return -1;
        }
        long start = System.nanoTime();
        if (running) {
            stopDrivers();
        }
        threadModel = model;
        if (!running) {
            return -1;
        }
        startDrivers();
        long pause = System.nanoTime() - start;
        lastHandOver = String.format("to another thread model, lanes unpolled at most %d us", pause / 1_000);
        LOG.info("lane workers handed over {}", lastHandOver);
        return pause;
    }

    /** Under this: attaches the lane workers to the thread model. */
    private void startDrivers() {
        // One change for all of them: the lanes wait for one agent boundary, not one per worker.
        threadModel.attachAll(workers);
        LOG.info("{} lane workers run on the thread model", workers.size());
    }

    /** Under this: detaches the lane workers from the thread model; when it returns none of them runs. */
    private void stopDrivers() {
        threadModel.detachAll(workers);
    }

    /**
     * For a server made by {@link #adopt}, once started: how long the lanes went unpolled across the hand-over, from
     * the predecessor's quiesce to the first poll of this server's workers; -1 otherwise.
     */
    public long adoptionPauseNanos() {
        return adoptionPauseNanos;
    }

    /** True between {@link #start()} and {@link #close()} or {@link #quiesce()}. */
    public boolean isRunning() {
        return running;
    }

    public Path socketPath() {
        return socketPath;
    }

    public ShmServerConfig config() {
        return config;
    }

    /** The connected clients, oldest first. */
    public List<ClientInfo> clients() {
        List<ClientInfo> out = new ArrayList<>();
        for (ClientSession s : sessions.values()) {
            out.add(new ClientInfo(
                    s.id,
                    s.credentials.pid(),
                    s.credentials.uid(),
                    s.credentials.gid(),
                    s.layout.laneCount(),
                    s.files.size(),
                    s.requestsServed.sum(),
                    s.throttled.sum(),
                    s.connectedAtMillis));
        }
        out.sort(Comparator.comparingLong(ClientInfo::id));
        return out;
    }

    /** Connections accepted that have not said hello yet, per uid (as of the monitor's last round). */
    public SortedMap<Integer, Integer> pendingHandshakes() {
        return pendingByUid;
    }

    /**
     * Connections refused or dropped since start, per kind: {@code bad-hello}, {@code server-full}, {@code uid-full},
     * {@code hello-timeout}, {@code pending-per-uid-bound}, {@code pending-total-bound}, {@code descriptor-limit},
     * {@code setup-failed} (the same names as in the log lines).
     */
    public SortedMap<String, Long> refusals() {
        SortedMap<String, Long> out = refusals.counts();
        out.remove("monitor-failed");
        out.remove("accept-failed");
        return out;
    }

    /**
     * For {@code fsp:status}: clients connected, accepted since start and refused, open files and requests served
     * of clients still connected, and how many lanes each worker drains.
     */
    public Map<String, Object> status() {
        long served = 0;
        int files = 0;
        for (ClientSession s : sessions.values()) {
            served += s.requestsServed.sum();
            files += s.files.size();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("socket", socketPath.toString());
        m.put("workers", config.workers());
        if (lastHandOver != null) {
            m.put("lastHandOver", lastHandOver);
        }
        if (adoption != null) {
            m.put("adoptedFromPreviousVersion", adoption);
        }
        long closedFor = gate.closedForNanos();
        m.put(
                "fileSystem",
                closedFor < 0
                        ? "attached"
                        : String.format(Locale.ROOT, "none for %.1f ms: requests wait", closedFor / 1e6));
        List<LayerGate.Pause> pauses = gate.recentPauses();
        if (!pauses.isEmpty()) {
            m.put(
                    "fileSystemPauses",
                    pauses.stream()
                            .map(p -> String.format(Locale.ROOT, "%.3f ms", p.nanos() / 1e6))
                            .toList()
                            .toString());
        }
        m.put("clients", sessions.size());
        m.put("clientsAccepted", clientsServed.get());
        m.put("clientsRefused", clientsRefused.get());
        SortedMap<String, Long> refused = refusals();
        if (!refused.isEmpty()) {
            m.put("refusedByKind", refused.toString());
        }
        m.put("pendingHandshakes", pendingByUid.isEmpty() ? "none" : "by uid " + pendingByUid);
        m.put("sharePerClient", share.perClient() + " executing requests beside other clients");
        m.put("openFiles", files);
        m.put("requestsServed", served);
        m.put(
                "lanesPerWorker",
                workers.stream().map(LaneWorker::laneCount).toList().toString());
        return m;
    }

    @Override
    public synchronized void close() {
        if (!running) {
            return;
        }
        closing = true;
        running = false;
        try {
            monitor.join(5_000);
            for (PendingHandshakes.Pending p : pending.removeAll()) {
                Libc.close(p.fd());
            }
            closeReserve();
            for (ClientSession s : List.copyOf(sessions.values())) {
                s.segment.set(
                        JAVA_INT, ChannelHeaderDescriptor.SERVER_STATE_OFFSET, ChannelHeaderDescriptor.SERVER_CLOSED);
                release(s);
            }
            stopDrivers();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            Libc.close(listenFd);
            try {
                if (inheritedListenFd < 0) {
                    Files.deleteIfExists(socketPath);
                }
            } catch (IOException e) {
                LOG.warn("cannot remove {}", socketPath, e);
            }
            workers.clear();
        }
        LOG.info("stopped serving on {}", socketPath);
    }

    private void removeStaleSocket() throws IOException {
        if (!Files.exists(socketPath, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(socketPath, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & 0170000) != S_IFSOCK) {
            throw new IOException(socketPath + " exists and is not a socket; not removing it");
        }
        try {
            int fd = UnixSockets.connect(socketPath.toString());
            Libc.close(fd);
            throw new IOException("another server answers on " + socketPath);
        } catch (NativeException e) {
            if (e.errno() != ECONNREFUSED) {
                throw new IOException("cannot probe " + socketPath + ": " + e.getMessage(), e);
            }
        }
        LOG.info("removing stale socket {}", socketPath);
        Files.delete(socketPath);
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
                ClientSession[] list = sessions.values().toArray(ClientSession[]::new);
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
                            if (hello(p.fd(), p.peer())) {
                                pending.remove(p.fd());
                            }
                        }
                    }
                    // A client sends nothing after its hello: readable means end of file (death) or a protocol breach.
                    for (int i = 0; i < list.length; i++) {
                        if (UnixSockets.revents(fds, 1 + i) != 0) {
                            LOG.info("{} disconnected", list[i]);
                            release(list[i]);
                            forgetRecords(list[i]);
                        }
                    }
                    if (accepting && (UnixSockets.revents(fds, 0) & UnixSockets.POLLIN) != 0 && running) {
                        acceptBatch();
                    }
                }
                for (PendingHandshakes.Pending p : pending.expired(System.nanoTime() - helloTimeout)) {
                    refuse(
                            REFUSED_HELLO_TIMEOUT,
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
     * handshake at once (an honest client has sent its hello already) or waits in {@link #pending}.
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
                    refusals.warn(REFUSED_DESCRIPTORS, "accept failed ({}); accepting pauses", e.getMessage());
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

    private void onAccepted(int fd) {
        UnixSockets.PeerCredentials peer;
        try {
            peer = UnixSockets.peerCredentials(fd);
        } catch (NativeException e) {
            Libc.close(fd);
            return;
        }
        if (hello(fd, peer)) {
            return;
        }
        for (PendingHandshakes.Dropped d : pending.add(new PendingHandshakes.Pending(fd, peer, System.nanoTime()))) {
            boolean uidBound = d.why() == PendingHandshakes.Eviction.UID_BOUND;
            refuse(
                    uidBound ? REFUSED_PENDING_UID : REFUSED_PENDING_TOTAL,
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
                    REFUSED_DESCRIPTORS,
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
                refuse(
                        REFUSED_DESCRIPTORS,
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

    /**
     * Reads the hello on {@code fd} if it has come and answers it: with a segment, or with a refusal (after which the
     * connection is closed). Returns false, having done nothing, while no byte has come yet.
     *
     * <p>A hello is one message of exactly {@link HandshakeDescriptor#HELLO_BYTES} bytes with no descriptor and nothing
     * after it, as FS Lib sends it; a split hello, a descriptor, trailing bytes, a wrong magic or major version are
     * refused with EINVAL.
     */
    private boolean hello(int fd, UnixSockets.PeerCredentials peer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hello = arena.allocate(HELLO_BYTES, 8);
            hello.fill((byte) 0);
            UnixSockets.Received got;
            try {
                got = UnixSockets.receive(fd, hello, UnixSockets.MSG_DONTWAIT);
            } catch (NativeException e) {
                // EBADMSG: more than one descriptor came (receive closed them all); ECONNRESET and the like.
                refuse(REFUSED_BAD_HELLO, fd, peer, Errno.EINVAL.code(), "hello failed: " + e.getMessage());
                return true;
            }
            if (got.bytes() == -1) {
                return false;
            }
            if (got.fd() != -1) {
                Libc.close(got.fd());
                refuse(REFUSED_BAD_HELLO, fd, peer, Errno.EINVAL.code(), "a descriptor came with the hello");
                return true;
            }
            if (got.bytes() == 0) {
                Libc.close(fd);
                return true;
            }
            String bad = null;
            if (got.bytes() != HELLO_BYTES && got.bytes() != HELLO_V0_BYTES) {
                bad = "hello of " + got.bytes() + " bytes, not " + HELLO_BYTES + " in one message";
            } else if (UnixSockets.hasPendingData(fd)) {
                bad = "bytes after the hello";
            } else if (hello.get(JAVA_LONG, MAGIC_OFFSET) != ChannelHeaderDescriptor.MAGIC
                    || hello.get(JAVA_INT, VERSION_OFFSET) >>> 16 != ChannelHeaderDescriptor.MAJOR_VERSION) {
                bad = "not an FSP hello of major version " + ChannelHeaderDescriptor.MAJOR_VERSION;
            }
            if (bad != null) {
                refuse(REFUSED_BAD_HELLO, fd, peer, Errno.EINVAL.code(), bad);
                return true;
            }
            if (closing || sessions.size() >= config.maxClients()) {
                refuse(REFUSED_SERVER_FULL, fd, peer, Errno.EAGAIN.code(), config.maxClients() + " clients connected");
                return true;
            }
            long ofUid = sessions.values().stream()
                    .filter(x -> x.credentials.uid() == peer.uid())
                    .count();
            if (ofUid >= config.clientsPerUid()) {
                refuse(REFUSED_UID_FULL, fd, peer, Errno.EAGAIN.code(), "its uid has " + ofUid + " clients connected");
                return true;
            }
            // A client of minor version 0 computes the segment's size without a bulk area: it gets none.
            boolean bulk = (hello.get(JAVA_INT, VERSION_OFFSET) & 0xFFFF) >= 1;
            long tokenHigh = hello.get(JAVA_LONG, HELLO_TOKEN_HIGH_OFFSET);
            long tokenLow = hello.get(JAVA_LONG, HELLO_TOKEN_LOW_OFFSET);
            boolean hasToken = tokenHigh != 0 || tokenLow != 0;
            boolean claimed = false;
            if (hasToken && gate.current() instanceof SessionRecords rs) {
                if (!rs.claim(tokenHigh, tokenLow, peer.uid())) {
                    refuse(REFUSED_TOKEN, fd, peer, Errno.EACCES.code(), "its session token belongs to another uid");
                    return true;
                }
                claimed = true;
            }
            setUp(fd, peer, hello.get(JAVA_INT, HELLO_LANES_OFFSET), bulk, arena, tokenHigh, tokenLow, claimed);
            return true;
        }
    }

    /** Makes the client's segment and session and sends the welcome with the segment's memfd. */
    private void setUp(
            int fd,
            UnixSockets.PeerCredentials peer,
            int asked,
            boolean bulk,
            Arena arena,
            long tokenHigh,
            long tokenLow,
            boolean claimed) {
        ClientSession session = null;
        int memfd = -1;
        try {
            int[] groups = UnixSockets.peerGroups(fd);
            int lanes = asked <= 0 ? config.lanesPerClient() : Math.min(asked, config.maxLanesPerClient());
            // One bulk buffer per lane: every thread of a client with a lane of its own can move 1 MiB at once. The
            // memfd is sparse, so only the pages a client touches cost memory.
            ChannelLayout layout = ChannelLayout.of(
                    lanes,
                    config.slotsPerLane(),
                    config.slotDataBytes(),
                    bulk ? lanes * ChannelLayout.BULK_IO_BYTES : 0);
            long id = nextClientId.getAndIncrement();
            memfd = MemFd.createSealed("fsp-client-" + id, layout.segmentBytes());
            Arena sessionArena = Arena.ofShared();
            MemorySegment segment;
            try {
                segment = mapShared(memfd, layout.segmentBytes(), sessionArena);
            } catch (RuntimeException e) {
                sessionArena.close();
                throw e;
            }
            ChannelHeaderDescriptor.write(segment, layout, id, Libc.getpid());
            Credentials who = new Credentials(peer.pid(), peer.uid(), peer.gid(), groups);
            session = new ClientSession(
                    id,
                    who,
                    layout,
                    segment,
                    sessionArena,
                    fd,
                    config.maxOpenFilesPerClient(),
                    System.currentTimeMillis(),
                    tokenHigh,
                    tokenLow);
            session.tokenClaimed = claimed;
            sessions.put(id, session);
            share.clientsChanged(sessions.size());
            for (int lane = 0; lane < layout.laneCount(); lane++) {
                assignLane(session, lane, 0);
            }
            MemorySegment welcome = welcome(arena, 0);
            welcome.set(JAVA_INT, WELCOME_LANE_COUNT_OFFSET, layout.laneCount());
            welcome.set(JAVA_INT, WELCOME_SLOTS_PER_LANE_OFFSET, layout.slotsPerLane());
            welcome.set(JAVA_INT, WELCOME_SLOT_DATA_BYTES_OFFSET, layout.slotDataBytes());
            welcome.set(JAVA_LONG, WELCOME_SEGMENT_BYTES_OFFSET, layout.segmentBytes());
            welcome.set(JAVA_LONG, WELCOME_CLIENT_ID_OFFSET, id);
            if (session.hasToken() && gate.current() instanceof SessionRecords rs && rs.recordsKept()) {
                welcome.set(JAVA_INT, WELCOME_FEATURES_OFFSET, FEATURE_RECORDS);
            }
            UnixSockets.send(fd, welcome, memfd);
            clientsServed.incrementAndGet();
            LOG.info("connected {} with {} lanes", session, lanes);
        } catch (RuntimeException e) {
            if (session != null && e instanceof NativeException n && (n.errno() == EPIPE || n.errno() == ECONNRESET)) {
                LOG.info("{} left during its handshake", session);
                release(session);
            } else if (session != null) {
                refusals.warn(REFUSED_SETUP, "could not set up {}: {}", session, e.toString());
                clientsRefused.incrementAndGet();
                release(session);
            } else {
                int errno = e instanceof NativeException n
                                && (n.errno() == UnixSockets.EMFILE || n.errno() == UnixSockets.ENFILE)
                        ? n.errno()
                        : Errno.EIO.code();
                refuse(errno == Errno.EIO.code() ? REFUSED_SETUP : REFUSED_DESCRIPTORS, fd, peer, errno, e.toString());
            }
        } finally {
            if (memfd != -1) {
                Libc.close(memfd);
            }
        }
    }

    /**
     * Refuses the connection on {@code fd}: sends a welcome with {@code errno} as its status unless it is 0 (a
     * connection dropped unanswered), closes it, counts the refusal under {@code kind} and logs it, rate-limited.
     */
    private void refuse(String kind, int fd, UnixSockets.PeerCredentials peer, int errno, String why) {
        if (errno != 0) {
            try (Arena arena = Arena.ofConfined()) {
                UnixSockets.send(fd, welcome(arena, errno), -1);
            } catch (NativeException e) {
                LOG.debug("refusal not delivered to pid {}", peer.pid(), e);
            }
        }
        Libc.close(fd);
        clientsRefused.incrementAndGet();
        refusals.warn(
                kind,
                "refused pid {} uid {}{}: {}",
                peer.pid(),
                peer.uid(),
                errno != 0 ? " with " + Errno.of(errno) : "",
                why);
    }

    private static MemorySegment welcome(Arena arena, int status) {
        MemorySegment welcome = arena.allocate(WELCOME_BYTES, 8);
        welcome.set(JAVA_LONG, MAGIC_OFFSET, ChannelHeaderDescriptor.MAGIC);
        welcome.set(
                JAVA_INT,
                VERSION_OFFSET,
                ChannelHeaderDescriptor.version(
                        ChannelHeaderDescriptor.MAJOR_VERSION, ChannelHeaderDescriptor.MINOR_VERSION));
        welcome.set(JAVA_INT, WELCOME_STATUS_OFFSET, status);
        return welcome;
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

    private void assignLane(ClientSession s, int lane, long head) {
        synchronized (laneLock) {
            workers.get(nextWorker).add(s, lane, head);
            nextWorker = (nextWorker + 1) % workers.size();
        }
    }

    /**
     * Maps {@code memfd} shared into {@code arena}, through the JDK's own file mapping (by way of
     * {@code /proc/self/fd}): the unmapping action the arena keeps is then the JDK's, not a lambda of this bundle, so
     * a segment handed to the next version does not hold this bundle's class loader alive.
     */
    private static MemorySegment mapShared(int memfd, long bytes, Arena arena) {
        try (FileChannel ch = FileChannel.open(
                Path.of("/proc/self/fd/" + memfd), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map the client's segment", e);
        }
    }

    /** Releases everything {@code s} held: lanes, open files, segment, socket. Idempotent. */
    void release(ClientSession s) {
        if (!s.markReleased()) {
            return;
        }
        sessions.remove(s.id);
        share.clientsChanged(sessions.size());
        for (LaneWorker w : List.copyOf(workers)) {
            w.remove(s);
        }
        gate.closeHandles(s.credentials, s.files.closeAll());
        s.awaitNoBulkCopies(TimeUnit.SECONDS.toNanos(5));
        closeArena(s);
        Libc.close(s.socketFd);
        LOG.info("released {} after {} requests", s, s.requestsServed.sum());
    }

    /**
     * The client left while this server runs: it will not re-issue anything, so its exactly-once records can go. (A
     * client whose server dies keeps them: the next server finds them in the journal.)
     */
    private void forgetRecords(ClientSession s) {
        if (s.hasToken() && s.tokenClaimed && gate.current() instanceof SessionRecords rs) {
            rs.forget(s.tokenHigh, s.tokenLow);
        }
    }

    private static void closeArena(ClientSession s) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            try {
                s.arena.close();
                return;
            } catch (IllegalStateException e) {
                if (!s.arena.scope().isAlive() || System.nanoTime() > deadline) {
                    if (s.arena.scope().isAlive()) {
                        LOG.error("{}: segment still in use after 5 s; leaving it mapped", s, e);
                    }
                    return;
                }
                Thread.onSpinWait();
            }
        }
    }
}
