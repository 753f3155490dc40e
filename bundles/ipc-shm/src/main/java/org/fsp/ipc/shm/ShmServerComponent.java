package org.fsp.ipc.shm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.handoff.ChannelHandoff;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.Layer;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.api.launch.FrameworkSettings;
import org.fsp.api.sched.ThreadModel;
import org.fsp.api.status.StatusContributor;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link ShmServer} inside fspd on the {@link FileSystemService}, and publishes the {@code "clients"} section
 * of {@code fsp:status} (order 50) and the Gogo command {@code fsp:clients} (this object, through the
 * {@code osgi.command.*} service properties).
 *
 * <p>The socket path comes from the configuration, or else from the framework property {@code fsp.socket.path} (the
 * launcher passes its command-line choice that way), or else {@value #DEFAULT_SOCKET}. When the framework property
 * {@code fsp.socket.listenFd} names a descriptor, the server accepts on that socket (already listening on the path,
 * owned by the supervisor of {@code bin/fspd --supervise}) instead of binding its own, and leaves the file at close.
 *
 * <p>The {@link FileSystemService} reference is dynamic and greedy, so that fs-core can be replaced under running
 * clients: when it goes, the server's file system gate holds new requests at the boundary (clients see a pause) and
 * the unbind returns once no request is inside the old file system; when the next one comes, the held requests run
 * and the pause is reported to the {@link HandoffVault} (if one is registered) as {@link Layer#FS}'s. The server
 * starts listening only once a first file system is there, so that clients of a daemon whose file system did not
 * mount are told there is no server rather than kept waiting.
 *
 * <p>The {@link HandoffVault} reference (optional, dynamic) makes the component itself replaceable: when it
 * deactivates while a vault is registered and the framework keeps running (an upgrade, not a shutdown), the server
 * {@link ShmServer#quiesce() quiesces} and its {@link ChannelHandoff} is deposited instead of closing anything; the next
 * version takes it on activation ({@link ShmServer#adopt}), so clients keep their connection, segment and open files
 * and see only a pause, which it reports as {@link Layer#IPC}'s.
 *
 * <p>The {@link ThreadModel} reference is mandatory, dynamic and greedy: the lane workers run on the thread model's
 * threads (bundle sched-polling), never on threads of this bundle's, and a better or updated one takes them over.
 * Clients see a short pause at each hand-over, never an error. Without a thread model the component is not active
 * (during an upgrade its state waits in the vault meanwhile).
 */
@Component(
        immediate = true,
        configurationPid = ShmServerComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {StatusContributor.class, ShmServerComponent.class},
        property = {"osgi.command.scope=fsp", "osgi.command.function=clients"})
@Designate(ocd = ShmServerComponent.Config.class)
public final class ShmServerComponent implements StatusContributor {

    private static final Logger LOG = LoggerFactory.getLogger(ShmServerComponent.class);

    /** Configuration PID. */
    public static final String PID = "org.fsp.ipc.shm";
    /** Socket used when neither the configuration nor the framework names one. */
    public static final String DEFAULT_SOCKET = "/run/fsp/fsp.sock";

    /** The channel front end's configuration; defaults are those of {@link ShmServerConfig#DEFAULTS}. */
    @ObjectClassDefinition(
            name = "FSP shared-memory channels",
            description = "ipc-shm: the UNIX socket clients connect to, channel geometry and per-client limits")
    public @interface Config {

        @AttributeDefinition(description = "Client socket path; empty = framework property fsp.socket.path")
        String socketPath() default "";

        @AttributeDefinition(
                description = "Lane workers (agents); they run on the thread model's threads (sched-polling). "
                        + "0: one per core, at least 2, so that the thread model's load manager has agents to "
                        + "spread over as many threads as it starts")
        int workers() default 0;

        @AttributeDefinition(description = "Lanes a client gets when it asks for none")
        int lanesPerClient() default 4;

        @AttributeDefinition(description = "Lanes a client gets at most")
        int maxLanesPerClient() default 16;

        @AttributeDefinition(description = "Slots per lane (power of two, at least 64)")
        int slotsPerLane() default 64;

        @AttributeDefinition(description = "Data bytes per slot (multiple of 4096, at least 8192)")
        int slotDataBytes() default 16384;

        @AttributeDefinition(description = "Connected clients at most (more: EAGAIN)")
        int maxClients() default 256;

        @AttributeDefinition(description = "Open files per client at most (more: EMFILE)")
        int maxOpenFilesPerClient() default 1024;

        @AttributeDefinition(
                description = "Requests of one client executing at once while other clients are connected (0: half "
                        + "the workers, at least 1); the rest wait in their slots while the workers serve others")
        int maxInFlightPerClient() default 0;

        @AttributeDefinition(
                description = "Milliseconds requests wait for a file system while fs-core is being replaced, "
                        + "before they fail with EIO")
        long fileSystemWaitMillis() default 30_000;

        @AttributeDefinition(
                description = "Connected clients of one user at most (0: half of maxClients); more: EAGAIN")
        int maxClientsPerUid() default 0;

        @AttributeDefinition(description = "Milliseconds a connection may stay silent before its hello")
        long helloTimeoutMillis() default 2_000;

        @AttributeDefinition(
                description = "Connections waiting for their hello at most; beyond it the oldest of the user "
                        + "holding the most is dropped")
        int maxPendingHandshakes() default 128;

        @AttributeDefinition(
                description = "Connections of one user waiting for their hello at most; beyond it that user's "
                        + "oldest is dropped")
        int maxPendingHandshakesPerUid() default 16;
    }

    /**
     * Guarded by this: the server (null before it starts), the services bound to the component, and what is needed
     * to start the server on the first file system.
     */
    private ShmServer server;

    private ThreadModel threadModel;
    private FileSystemService fs;
    private HandoffVault vault;
    private BundleContext context;
    private Path socket;
    private ShmServerConfig shape;
    /** The listening socket the launcher handed over ({@link FrameworkProperties#SOCKET_LISTEN_FD}), or -1. */
    private int inheritedListenFd = -1;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindFileSystem(FileSystemService service) {
        fs = service;
        if (server != null) {
            long pause = server.attachFileSystem(service);
            if (pause >= 0 && vault != null) {
                vault.pauseObserved(Layer.FS, pause);
            }
        } else if (shape != null) {
            startServer();
        }
    }

    synchronized void unbindFileSystem(FileSystemService service) {
        if (fs == service) {
            fs = null;
        }
        if (server == null) {
            return;
        }
        if (FrameworkSettings.frameworkStopping(context)) {
            // The daemon stops: clients are told the server closed rather than kept waiting for a file system.
            server.close();
            server = null;
            return;
        }
        server.detachFileSystem(service);
    }

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindVault(HandoffVault v) {
        vault = v;
    }

    synchronized void unbindVault(HandoffVault v) {
        if (vault == v) {
            vault = null;
        }
    }

    @Reference(
            cardinality = ReferenceCardinality.MANDATORY,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindThreadModel(ThreadModel model) {
        threadModel = model;
        if (server != null) {
            reportThreadModelPause(server.driveWith(model));
        }
    }

    /** A replacement is bound before the one it replaces goes; the last one goes only after {@link #deactivate}. */
    synchronized void unbindThreadModel(ThreadModel model) {
        if (threadModel == model) {
            threadModel = null;
        }
    }

    /** Under this: the lanes went unpolled for {@code pauseNanos} while the thread model changed. */
    private void reportThreadModelPause(long pauseNanos) {
        if (pauseNanos >= 0 && vault != null) {
            vault.pauseObserved(Layer.SCHED, pauseNanos);
        }
    }

    @Activate
    void activate(Config config, BundleContext bundleContext) throws IOException {
        Path socket = Path.of(FrameworkSettings.setting(
                config.socketPath(), bundleContext, FrameworkProperties.SOCKET_PATH, DEFAULT_SOCKET));
        if (socket.toAbsolutePath().getParent() != null) {
            Files.createDirectories(socket.toAbsolutePath().getParent());
        }
        ShmServerConfig shape = new ShmServerConfig(
                laneWorkers(config.workers()),
                config.lanesPerClient(),
                config.maxLanesPerClient(),
                config.slotsPerLane(),
                config.slotDataBytes(),
                config.maxClients(),
                config.maxOpenFilesPerClient(),
                config.maxInFlightPerClient(),
                config.fileSystemWaitMillis(),
                config.maxClientsPerUid(),
                config.helloTimeoutMillis(),
                config.maxPendingHandshakes(),
                config.maxPendingHandshakesPerUid());
        int listenFd = inheritedListenFd(bundleContext.getProperty(FrameworkProperties.SOCKET_LISTEN_FD));
        synchronized (this) {
            this.context = bundleContext;
            this.socket = socket;
            this.inheritedListenFd = listenFd;
            this.shape = shape;
            ChannelHandoff handed =
                    vault != null ? vault.take(Layer.IPC, ChannelHandoff.class, bundleContext.getBundle()) : null;
            if (handed != null) {
                adoptOrDiscard(handed);
            }
            if (server == null && fs != null) {
                startServer();
            }
        }
    }

    /** The descriptor in {@link FrameworkProperties#SOCKET_LISTEN_FD}, or -1 when the property is unset. */
    static int inheritedListenFd(String property) {
        if (property == null || property.isBlank()) {
            return -1;
        }
        try {
            int fd = Integer.parseInt(property.strip());
            if (fd >= 0) {
                return fd;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                FrameworkProperties.SOCKET_LISTEN_FD + " is not a descriptor number: '" + property + "'");
    }

    /**
     * Under this: carries on with what the previous version left when it served the same socket (the clients stay
     * connected), or ends it when the socket is configured elsewhere now.
     */
    private void adoptOrDiscard(ChannelHandoff handed) {
        if (!Path.of(handed.socketPath()).equals(socket.toAbsolutePath())) {
            LOG.info("the previous version served {}, this one is configured for {}", handed.socketPath(), socket);
            ShmServer.discard(fs, handed, shape);
            return;
        }
        ShmServer s = ShmServer.adopt(fs, handed, shape, threadModel);
        if (inheritedListenFd >= 0) {
            s.useInheritedSocket(inheritedListenFd);
        }
        try {
            s.start();
        } catch (IOException | RuntimeException e) {
            // The state goes back to the vault for the version the upgrade rolls back to.
            LOG.error("cannot take over the clients of the previous version", e);
            vault.deposit(Layer.IPC, s.isRunning() ? s.quiesce() : handed);
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        server = s;
        vault.pauseObserved(Layer.IPC, s.adoptionPauseNanos());
    }

    /** Under this: starts listening on the socket with the bound file system. */
    private void startServer() {
        ShmServer s = new ShmServer(fs, socket, shape, threadModel);
        if (inheritedListenFd >= 0) {
            s.useInheritedSocket(inheritedListenFd);
        }
        try {
            s.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server = s;
    }

    @Deactivate
    synchronized void deactivate() {
        shape = null;
        if (server == null) {
            return;
        }
        if (vault != null && !FrameworkSettings.frameworkStopping(context)) {
            // Replaced, not shut down: the next version carries on with the clients as they are.
            vault.deposit(Layer.IPC, server.quiesce());
        } else {
            server.close();
        }
        server = null;
    }

    @Override
    public String section() {
        return "clients";
    }

    @Override
    public int order() {
        return 50;
    }

    @Override
    public synchronized Map<String, Object> status() {
        if (server == null) {
            return Map.of("socket", String.valueOf(socket), "state", "not listening: waiting for a file system");
        }
        return server.status();
    }

    /**
     * {@code fsp:clients}: one line per connected client, then the connections waiting for their hello per uid and
     * the refusals per kind, so that an attack on the socket shows here.
     */
    public String clients() {
        ShmServer s = currentServer();
        return format(s.clients(), s.pendingHandshakes(), s.refusals());
    }

    private synchronized ShmServer currentServer() {
        if (server == null) {
            throw new IllegalStateException("the shared-memory front end is not running");
        }
        return server;
    }

    /** The configured lane-worker count, or for 0 one per core (at least 2, at most 64). */
    static int laneWorkers(int configured) {
        return configured > 0
                ? configured
                : Math.min(64, Math.max(2, Runtime.getRuntime().availableProcessors()));
    }

    /** The table {@code fsp:clients} prints. */
    static String format(
            List<ShmServer.ClientInfo> clients, Map<Integer, Integer> pendingByUid, Map<String, Long> refusals) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                "%6s %8s %6s %6s %5s %6s %12s %10s %10s%n",
                "id", "pid", "uid", "gid", "lanes", "files", "requests", "throttled", "connected"));
        Instant now = Instant.now();
        for (ShmServer.ClientInfo c : clients) {
            Duration up = Duration.between(Instant.ofEpochMilli(c.connectedAtMillis()), now);
            sb.append(String.format(
                    "%6d %8d %6d %6d %5d %6d %12d %10d %9ds%n",
                    c.id(),
                    c.pid(),
                    c.uid(),
                    c.gid(),
                    c.lanes(),
                    c.openFiles(),
                    c.requestsServed(),
                    c.throttled(),
                    up.toSeconds()));
        }
        sb.append(clients.size()).append(clients.size() == 1 ? " client" : " clients");
        sb.append(String.format("%nwaiting for hello: "));
        if (pendingByUid.isEmpty()) {
            sb.append("none");
        } else {
            StringJoiner j = new StringJoiner(", ");
            pendingByUid.forEach((uid, n) -> j.add("uid " + uid + ": " + n));
            sb.append(j);
        }
        sb.append(String.format("%nrefused since start: "));
        if (refusals.isEmpty()) {
            sb.append("none");
        } else {
            StringJoiner j = new StringJoiner(", ");
            refusals.forEach((kind, n) -> j.add(kind + " " + n));
            sb.append(j);
        }
        return sb.toString();
    }
}
