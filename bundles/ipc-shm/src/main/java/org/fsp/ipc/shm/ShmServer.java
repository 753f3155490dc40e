package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.fsp.api.channel.HandshakeDescriptor.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.handoff.ChannelHandoff;
import org.fsp.api.handoff.LayerGate;
import org.fsp.api.sched.ThreadModel;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
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
 * <p>Its parts: the {@link ConnectionMonitor} (its one thread of its own: accepts, has hellos answered, notices a
 * client's death within {@value #POLL_MILLIS} ms, and bounds what silent or hostile connections can hold), the
 * {@link Handshake} (hello, bounds, segment and welcome), the {@link ClientTable} (sessions, lane assignment, release)
 * and the {@link FileSystemGate}. {@code workers} lane workers ({@link LaneWorker} agents) serve the lanes, each
 * client within its {@link FairShare}. The lane workers run on the {@link ThreadModel} the server is made with
 * (another one takes them over with {@link #driveWith}): the server runs no thread of its own for them, so the thread
 * model's ownership rule (a thread that ran an agent ends when the agent is detached) covers them.
 *
 * <p>Its length (about 600 lines): the life cycle of one server ({@link #start()}, {@link #close()},
 * {@link #quiesce()}, {@link #adopt}, {@link #discard}, {@link #driveWith}) runs under its monitor on one set of fields
 * (the listening socket, the lane workers, the hand-over being adopted, the thread model), and each step must leave
 * those fields as the others expect; kept together, the order of stopping and starting is checked in one place. What
 * could leave has left to the parts above; what stays is this life cycle and what {@code fsp:status} shows of it.
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

    /** How often the monitor looks at the sockets at least, ms: a client's death is noticed within it. */
    static final int POLL_MILLIS = 100;
    /** Listen backlog: room for a burst of honest connections beside a flood of silent ones being drained. */
    static final int BACKLOG = 512;

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
    private static final Logger LOG = LoggerFactory.getLogger(ShmServer.class);

    private final FileSystemGate gate;
    /** The clients' read leases (a client that wants none never asks). */
    private final ReadLeases leases;
    /** The clients' directory watches (channel minor 3), told of changes by the same file system as the leases. */
    private final DirectoryWatches watches;
    /** Under this: the file system that tells {@link #leases} and {@link #watches} of changes, or null. */
    private FileSystemService leasesFrom;

    private final Path socketPath;
    private final ShmServerConfig config;
    private final List<LaneWorker> workers = new CopyOnWriteArrayList<>();
    private final ClientTable clients;
    /** Refusals and drops of connections, one log line per kind per interval. */
    private final RateLimitedLog refusals = new RateLimitedLog(LOG);

    private final Handshake handshake;
    private final ConnectionMonitor monitor;
    /** Shared with the lane workers: how many requests each client may have executing. */
    private final FairShare share;

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
        this.leases = new ReadLeases();
        this.watches = new DirectoryWatches();
        listenForLeases(fs);
        this.socketPath = socketPath.toAbsolutePath();
        this.config = config;
        this.share = new FairShare(config.inFlightPerClient(), workers);
        this.clients = new ClientTable(workers, share, gate, leases, watches);
        this.handshake =
                new Handshake(config, clients, gate, refusals, () -> closing, () -> threadModel.workerCpuMask());
        this.monitor = new ConnectionMonitor(config, clients, handshake, refusals);
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
        s.clients.continueIdsFrom(handoff.nextClientId());
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
                s.clients.release(session);
            }
            s.adopted = null;
            s.stopListeningForLeases(fs);
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
        // Told of changes before any request reaches it; leases granted under another file system end.
        listenForLeases(fs);
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
        stopListeningForLeases(fs);
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
        running = true;
        for (int i = 0; i < config.workers(); i++) {
            workers.add(new LaneWorker("shm-worker-" + i, i, gate, config.slotDataBytes(), share, leases, watches));
        }
        if (handoff != null) {
            for (ClientSession session : sessionsOf(handoff)) {
                clients.add(session);
            }
        }
        startDrivers();
        // Connections the predecessor accepted whose hello had not come: their wait starts again here.
        monitor.start(listenFd, handoff == null ? List.of() : handoff.pendingFds());
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
                    clients.assignLane(session, lane, c.laneHeads()[lane]);
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
            monitor.stop(0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Integer> silent = monitor.takePending();
        // From here clients see the pause: their requests wait in the rings until the successor polls.
        long quiescedAt = System.nanoTime();
        stopDrivers();
        // The successor starts with no leases and no watches: clients ask again (the watches' epoch tells them).
        stopListeningForLeases(leasesFrom);
        List<ChannelHandoff.Client> handedOver = new ArrayList<>();
        for (ClientSession s : this.clients.all()) {
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
            handedOver.add(new ChannelHandoff.Client(
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
        handedOver.sort(Comparator.comparingLong(ChannelHandoff.Client::id));
        ChannelHandoff handoff = new ChannelHandoff(
                socketPath.toString(), listenFd, this.clients.nextId(), handedOver, quiescedAt, silent);
        this.clients.clear();
        workers.clear();
        listenFd = -1;
        if (gate.deferredHandles() > 0) {
            LOG.warn(
                    "{} handles of clients that left while no file system was attached stay open in the file system",
                    gate.deferredHandles());
        }
        LOG.info("quiesced {} with {} clients for a successor", socketPath, handedOver.size());
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
        for (ClientSession s : clients.all()) {
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
        return monitor.pendingByUid();
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
        for (ClientSession s : clients.all()) {
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
        m.put("clients", clients.size());
        m.put("clientsAccepted", handshake.accepted());
        m.put("clientsRefused", handshake.refused());
        SortedMap<String, Long> refused = refusals();
        if (!refused.isEmpty()) {
            m.put("refusedByKind", refused.toString());
        }
        SortedMap<Integer, Integer> pendingByUid = monitor.pendingByUid();
        m.put("pendingHandshakes", pendingByUid.isEmpty() ? "none" : "by uid " + pendingByUid);
        m.put("sharePerClient", share.perClient() + " executing requests beside other clients");
        m.put("openFiles", files);
        m.put("requestsServed", served);
        m.put(
                "readLeases",
                leases.held() + " held, " + leases.granted() + " granted, " + leases.revoked() + " revoked");
        m.put(
                "changeEvents",
                watches.held() + " watches, " + watches.eventsSent() + " events sent, " + watches.overflows()
                        + " overflows");
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
            monitor.stop(5_000);
            monitor.closePending();
            stopListeningForLeases(leasesFrom);
            for (ClientSession s : List.copyOf(clients.all())) {
                s.segment.set(
                        JAVA_INT, ChannelHeaderDescriptor.SERVER_STATE_OFFSET, ChannelHeaderDescriptor.SERVER_CLOSED);
                clients.release(s);
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

    /**
     * Makes {@code fs} (if not null) tell the read leases and the directory watches of changes, instead of the file
     * system that did: every lease granted so far ends and every watch is forgotten (its client registers again),
     * since the new one would not tell of changes to their files.
     */
    private synchronized void listenForLeases(FileSystemService fs) {
        if (fs == null || fs == leasesFrom) {
            return;
        }
        if (leasesFrom != null) {
            leasesFrom.removeChangeListener(leases);
            leasesFrom.removeChangeListener(watches);
        }
        fs.addChangeListener(leases);
        fs.addChangeListener(watches);
        leasesFrom = fs;
        leases.revokeAll();
        watches.listeningTo(fs);
        watches.forgetAll();
    }

    /**
     * {@code fs} (if it is the one telling the leases and watches of changes) stops telling them: every lease ends,
     * every watch is forgotten.
     */
    private synchronized void stopListeningForLeases(FileSystemService fs) {
        if (fs == null || fs != leasesFrom) {
            return;
        }
        fs.removeChangeListener(leases);
        fs.removeChangeListener(watches);
        leasesFrom = null;
        leases.revokeAll();
        watches.listeningTo(null);
        watches.forgetAll();
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
}
