package org.fsp.ipc.shm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.fsp.api.fs.FileSystemService;
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

/**
 * Runs the {@link ShmServer} inside fspd on the {@link FileSystemService}, and publishes the {@code "clients"} section
 * of {@code fsp:status} (order 50) and the Gogo command {@code fsp:clients} (this object, through the
 * {@code osgi.command.*} service properties).
 *
 * <p>The socket path comes from the configuration, or else from the framework property {@code fsp.socket.path} (the
 * launcher passes its command-line choice that way), or else {@value #DEFAULT_SOCKET}.
 *
 * <p>The {@link ThreadModel} reference is optional, dynamic and greedy: while a thread model is registered (bundle
 * sched-polling) the lane workers run on its threads, and a better or updated one takes them over; without one they run
 * on the server's own threads. Clients see a short pause at each hand-over, never an error.
 */
@Component(
        immediate = true,
        configurationPid = ShmServerComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {StatusContributor.class, ShmServerComponent.class},
        property = {"osgi.command.scope=fsp", "osgi.command.function=clients"})
@Designate(ocd = ShmServerComponent.Config.class)
public final class ShmServerComponent implements StatusContributor {

    /** Configuration PID. */
    public static final String PID = "org.fsp.ipc.shm";
    /** Framework property naming the client socket. */
    public static final String SOCKET_PROPERTY = "fsp.socket.path";
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
                description = "Lane workers (agents); they run on the thread model's threads when one is "
                        + "registered (sched-polling), else one thread each")
        int workers() default 2;

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

        @AttributeDefinition(description = "Requests of one client executing at once at most (more: EAGAIN)")
        int maxInFlightPerClient() default 64;

        @AttributeDefinition(description = "Busy-spin rounds of an idle worker before it yields (own threads only)")
        int idleSpins() default 20_000;

        @AttributeDefinition(
                description = "Yields of an idle worker before it sleeps on futex words (own threads only)")
        int idleYields() default 50;
    }

    @Reference
    private FileSystemService fs;

    /** Guarded by this: the server (null before activation) and the thread model bound to it. */
    private ShmServer server;

    private ThreadModel threadModel;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindThreadModel(ThreadModel model) {
        threadModel = model;
        if (server != null) {
            server.driveWith(model);
        }
    }

    synchronized void unbindThreadModel(ThreadModel model) {
        if (threadModel == model) {
            threadModel = null;
            if (server != null) {
                server.driveWith(null);
            }
        }
    }

    @Activate
    void activate(Config config, BundleContext context) throws IOException {
        String configured = config.socketPath();
        String framework = context.getProperty(SOCKET_PROPERTY);
        Path socket = Path.of(
                !configured.isEmpty()
                        ? configured
                        : framework != null && !framework.isEmpty() ? framework : DEFAULT_SOCKET);
        if (socket.toAbsolutePath().getParent() != null) {
            Files.createDirectories(socket.toAbsolutePath().getParent());
        }
        ShmServerConfig shape = new ShmServerConfig(
                config.workers(),
                config.lanesPerClient(),
                config.maxLanesPerClient(),
                config.slotsPerLane(),
                config.slotDataBytes(),
                config.maxClients(),
                config.maxOpenFilesPerClient(),
                config.maxInFlightPerClient(),
                config.idleSpins(),
                config.idleYields());
        ShmServer s = new ShmServer(fs, socket, shape);
        synchronized (this) {
            s.driveWith(threadModel);
            s.start();
            server = s;
        }
    }

    @Deactivate
    void deactivate() {
        ShmServer s;
        synchronized (this) {
            s = server;
            server = null;
        }
        s.close();
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
    public Map<String, Object> status() {
        return currentServer().status();
    }

    /** {@code fsp:clients}: one line per connected client. */
    public String clients() {
        return format(currentServer().clients());
    }

    private synchronized ShmServer currentServer() {
        if (server == null) {
            throw new IllegalStateException("the shared-memory front end is not running");
        }
        return server;
    }

    /** The table {@code fsp:clients} prints. */
    static String format(List<ShmServer.ClientInfo> clients) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                "%6s %8s %6s %6s %5s %6s %12s %10s%n",
                "id", "pid", "uid", "gid", "lanes", "files", "requests", "connected"));
        Instant now = Instant.now();
        for (ShmServer.ClientInfo c : clients) {
            Duration up = Duration.between(Instant.ofEpochMilli(c.connectedAtMillis()), now);
            sb.append(String.format(
                    "%6d %8d %6d %6d %5d %6d %12d %9ds%n",
                    c.id(), c.pid(), c.uid(), c.gid(), c.lanes(), c.openFiles(), c.requestsServed(), up.toSeconds()));
        }
        sb.append(clients.size()).append(clients.size() == 1 ? " client" : " clients");
        return sb.toString();
    }
}
