package org.fsp.ipc.fuse;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.handoff.FuseHandoff;
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
 * Mounts FSP through FUSE inside fspd: the directory from the configuration, or else from the framework property
 * {@value FrameworkProperties#FUSE_MOUNT} (what {@code fspd --mount DIR} sets), once a {@link FileSystemService} is there; more with
 * the Gogo command {@code fsp:mount DIR}, fewer with {@code fsp:umount DIR}; all of them unmounted when the bundle
 * stops. Publishes the {@code "fuse"} section of {@code fsp:status} (order 55).
 *
 * <p>With a {@link HandoffVault} registered, a bundle stop that is not a shutdown (a live upgrade: {@code fsp:upgrade
 * ipc-fuse URL}) unmounts nothing: each mount is quiesced and deposited as a {@link FuseHandoff} (the {@code /dev/fuse}
 * descriptors, what INIT settled, the node table), and the next version takes it on activation and carries on; the
 * kernel queues requests in between, so programs inside see a pause, reported as {@link Layer#FUSE}'s.
 *
 * <p>The file-system reference is dynamic and greedy: while fs-core is replaced, requests through the mount wait (see
 * {@link FileSystemSlot}); when the daemon shuts down, the mounts go first. The thread-model reference is optional,
 * dynamic and greedy: the serving loops run on its workers while it is there, on threads of their own otherwise.
 */
@Component(
        immediate = true,
        configurationPid = FuseMountComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {StatusContributor.class, FuseMountComponent.class},
        property = {"osgi.command.scope=fsp", "osgi.command.function=mount", "osgi.command.function=umount"})
@Designate(ocd = FuseMountComponent.Config.class)
public final class FuseMountComponent implements StatusContributor {

    private static final Logger LOG = LoggerFactory.getLogger(FuseMountComponent.class);

    /** Configuration PID. */
    public static final String PID = "org.fsp.ipc.fuse";

    /** Framework property with the transport when the configuration leaves it empty: auto, uring or classic. */
    public static final String TRANSPORT_PROPERTY = "fsp.fuse.transport";

    /** The FUSE front end's configuration. */
    @ObjectClassDefinition(
            name = "FSP FUSE mount",
            description = "ipc-fuse: where FSP is mounted through FUSE and how the mount is served")
    public @interface Config {

        @AttributeDefinition(
                description = "Directory to mount at start; empty = framework property fsp.fuse.mount; "
                        + "both empty = no mount until fsp:mount")
        String mountPoint() default "";

        @AttributeDefinition(description = "Serving loops per mount, each on its own /dev/fuse descriptor (1 to 64)")
        int channels() default 4;

        @AttributeDefinition(
                description = "Milliseconds the kernel may cache a name (0: ask every time); changes by other "
                        + "clients are invalidated at once (FUSE_NOTIFY_INVAL_ENTRY), so this bounds only what a "
                        + "lost notice could leave stale")
        long entryTimeoutMillis() default 30_000;

        @AttributeDefinition(
                description = "Milliseconds the kernel may cache attributes (0: ask every time); changes by other "
                        + "clients are invalidated at once (FUSE_NOTIFY_INVAL_INODE)")
        long attrTimeoutMillis() default 30_000;

        @AttributeDefinition(
                description = "Let the kernel cache writes (FUSE_WRITEBACK_CACHE): small writes are gathered into "
                        + "large WRITEs, but the kernel then owns file sizes, so FS Lib clients see data only after "
                        + "the kernel writes it back (fsync, close, or its write-back) and a size an FS Lib client "
                        + "changes is not seen by the mount. For mounts whose files FS Lib clients do not write")
        boolean writebackCache() default false;

        @AttributeDefinition(
                description = "Serve extended attributes; false answers the xattr requests ENOSYS, after which the "
                        + "kernel sends none, saving the GETXATTR security.capability it sends before every write "
                        + "to a file system that keeps xattrs")
        boolean xattrs() default true;

        @AttributeDefinition(
                description =
                        "When a change through the mount is made durable before it is answered (a WRITE by "
                                + "fdatasync, others by a journal commit): SUPERVISED (under fspd --supervise, where the mount "
                                + "outlives a killed fspd and nothing answered may be lost), ALWAYS, NEVER (answered from the "
                                + "buffer cache; a kill of a supervised fspd may then lose data the program was told is written)")
        String commitBeforeAnswer() default "SUPERVISED";

        @AttributeDefinition(
                description = "Milliseconds requests wait for a file system while fs-core is being replaced, "
                        + "before they fail with EIO")
        long fileSystemWaitMillis() default 30_000;

        @AttributeDefinition(
                description = "How requests reach fspd: auto (FUSE-over-io_uring when "
                        + "/sys/module/fuse/parameters/enable_uring is Y, else classic), uring, or classic "
                        + "(/dev/fuse read/write); empty = framework property fsp.fuse.transport, else auto. A "
                        + "uring that cannot be set up falls back to classic with one log line; supervised mounts "
                        + "are always classic")
        String transport() default "";

        @AttributeDefinition(
                description = "With io_uring: threads (each with a ring of its own) serving each CPU queue (1 to 16)")
        int uringThreadsPerQueue() default 2;

        @AttributeDefinition(description = "With io_uring: ring entries per thread, each with a 1 MiB buffer (1 to 64)")
        int uringQueueDepth() default 2;
    }

    /** Guarded by this. */
    private final Map<Path, FuseMount> mounts = new LinkedHashMap<>();

    private FileSystemSlot slot;
    private HandoffVault vault;
    private FileSystemService fs;
    private ThreadModel threadModel;
    private FuseMount.Settings settings;
    private Path configured;
    private BundleContext context;
    private String lastError;
    /** With {@code fspd --supervise}: where each mount's descriptors go, so that the mount outlives this process. */
    private SupervisorLink supervisor;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindFileSystem(FileSystemService service) {
        fs = service;
        if (slot != null) {
            slot.attach(service);
            mountConfigured();
        }
    }

    synchronized void unbindFileSystem(FileSystemService service) {
        if (fs == service) {
            fs = null;
        }
        if (slot == null) {
            return;
        }
        if (FrameworkSettings.frameworkStopping(context)) {
            // The daemon stops: the mounts go before the file system, so no program waits on a file system that
            // will not come back.
            closeAll();
        }
        slot.detach(service);
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
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindThreadModel(ThreadModel model) {
        threadModel = model;
        for (FuseMount m : mounts.values()) {
            m.driveWith(model);
        }
    }

    synchronized void unbindThreadModel(ThreadModel model) {
        if (threadModel == model) {
            threadModel = null;
            for (FuseMount m : mounts.values()) {
                m.driveWith(null);
            }
        }
    }

    @Activate
    synchronized void activate(Config config, BundleContext bundleContext) {
        context = bundleContext;
        settings = new FuseMount.Settings(
                config.channels(),
                config.entryTimeoutMillis() * 1_000_000L,
                config.attrTimeoutMillis() * 1_000_000L,
                config.writebackCache(),
                config.xattrs(),
                FuseMount.Commit.valueOf(config.commitBeforeAnswer().trim().toUpperCase(java.util.Locale.ROOT)),
                FuseTransport.parse(
                        !config.transport().isBlank()
                                ? config.transport()
                                : bundleContext.getProperty(TRANSPORT_PROPERTY)),
                config.uringThreadsPerQueue(),
                config.uringQueueDepth());
        slot = new FileSystemSlot(config.fileSystemWaitMillis());
        String dir =
                FrameworkSettings.setting(config.mountPoint(), bundleContext, FrameworkProperties.FUSE_MOUNT, null);
        configured = dir == null ? null : Path.of(dir).toAbsolutePath().normalize();
        if (fs != null) {
            slot.attach(fs);
        }
        FuseHandoff handed =
                vault != null ? vault.take(Layer.FUSE, FuseHandoff.class, bundleContext.getBundle()) : null;
        supervisor = SupervisorLink.of(bundleContext.getProperty(FrameworkProperties.SUPERVISOR_CONTROL_FD));
        if (handed != null) {
            for (FuseHandoff.Mount m : handed.mounts()) {
                FuseMount adopted = FuseMount.adopt(m, slot, settings, threadModel);
                adopted.supervisedBy(supervisor);
                mounts.put(adopted.mountPoint(), adopted);
            }
            vault.pauseObserved(Layer.FUSE, System.nanoTime() - handed.quiescedAtNanos());
        }
        takeOverFromTheDead(bundleContext);
        if (fs != null) {
            mountConfigured();
        }
    }

    /**
     * Under this: serves the mounts a dead fspd left to the supervisor (the launcher put them in
     * {@link FrameworkProperties#FUSE_HANDOVER} before the layers started), once; the property is cleared so that a
     * later start of this bundle in the same process does not take them again.
     */
    private void takeOverFromTheDead(BundleContext bundleContext) {
        String value = bundleContext.getProperty(FrameworkProperties.FUSE_HANDOVER);
        if (value == null || value.isBlank()) {
            return;
        }
        System.clearProperty(FrameworkProperties.FUSE_HANDOVER);
        for (SupervisorLink.Handed h : SupervisorLink.Handed.parse(value)) {
            if (mounts.containsKey(h.mountPoint())) {
                continue;
            }
            try {
                FuseMount m = FuseMount.takeOver(h, slot, settings, threadModel, supervisor);
                mounts.put(m.mountPoint(), m);
            } catch (RuntimeException e) {
                lastError = e.getMessage();
                LOG.error("cannot take over the FSP mount at {}", h.mountPoint(), e);
            }
        }
    }

    /** Under this: mounts the configured directory once a file system is there. */
    private void mountConfigured() {
        if (configured == null || mounts.containsKey(configured)) {
            return;
        }
        try {
            mountAt(configured);
        } catch (IOException | RuntimeException e) {
            lastError = e.getMessage();
            LOG.error("cannot mount FSP at {}", configured, e);
        }
    }

    private void mountAt(Path dir) throws IOException {
        FuseMount m = new FuseMount(dir, slot, settings);
        m.supervisedBy(supervisor);
        m.start(threadModel);
        mounts.put(m.mountPoint(), m);
        lastError = null;
    }

    @Deactivate
    synchronized void deactivate() {
        if (vault != null && !FrameworkSettings.frameworkStopping(context) && !mounts.isEmpty()) {
            // Replaced, not shut down: the next version serves the same mounts; programs inside see a pause.
            List<FuseHandoff.Mount> handed = new ArrayList<>();
            for (FuseMount m : mounts.values()) {
                handed.add(m.quiesce());
            }
            mounts.clear();
            vault.deposit(Layer.FUSE, new FuseHandoff(System.nanoTime(), handed));
        } else {
            closeAll();
        }
        slot = null;
    }

    private void closeAll() {
        for (FuseMount m : mounts.values()) {
            m.close();
        }
        mounts.clear();
    }

    @Override
    public String section() {
        return "fuse";
    }

    @Override
    public int order() {
        return 55;
    }

    @Override
    public synchronized Map<String, Object> status() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("mounts", mounts.size());
        for (FuseMount m : mounts.values()) {
            Map<String, Object> ms = m.status();
            s.put(
                    m.mountPoint().toString(),
                    ms.get("state") + "; " + ms.get("origin") + "; " + ms.get("transport") + "; protocol "
                            + ms.get("protocol") + "; " + ms.get("nodes") + " nodes; " + ms.get("requests")
                            + " requests");
        }
        if (lastError != null) {
            s.put("lastError", lastError);
        }
        return s;
    }

    /** {@code fsp:mount}: the mounts, one line each, with the transport in use. */
    public synchronized String mount() {
        if (mounts.isEmpty()) {
            return "no FUSE mounts" + (lastError != null ? " (last error: " + lastError + ")" : "");
        }
        List<String> lines = new ArrayList<>();
        for (FuseMount m : mounts.values()) {
            Map<String, Object> ms = m.status();
            lines.add(m.mountPoint() + ": " + ms.get("state") + "\n  origin:    " + ms.get("origin")
                    + "\n  transport: " + ms.get("transport")
                    + "\n  protocol:  " + ms.get("protocol") + "\n  nodes:     " + ms.get("nodes")
                    + "\n  requests:  " + ms.get("requests"));
        }
        return String.join("\n", lines);
    }

    /** {@code fsp:mount DIR}: mounts FSP at DIR (an existing directory). */
    public synchronized String mount(String dir) throws IOException {
        if (slot == null || fs == null) {
            throw new IllegalStateException("no file system is running to mount");
        }
        Path p = Path.of(dir).toAbsolutePath().normalize();
        if (mounts.containsKey(p)) {
            FuseMount old = mounts.get(p);
            if (!old.ended()) {
                throw new IllegalStateException("FSP is already mounted at " + p);
            }
            old.close();
            mounts.remove(p);
        }
        mountAt(p);
        return "mounted FSP at " + p + "\n" + mount();
    }

    /** {@code fsp:umount DIR}: unmounts FSP from DIR (lazily: programs inside it see ENOTCONN). */
    public synchronized String umount(String dir) {
        Path p = Path.of(dir).toAbsolutePath().normalize();
        FuseMount m = mounts.remove(p);
        if (m == null) {
            throw new IllegalArgumentException("FSP is not mounted at " + p);
        }
        m.close();
        return "unmounted FSP from " + p;
    }
}
