package org.fsp.fs.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.HandoverMethod;
import org.fsp.api.handoff.Layer;
import org.fsp.api.launch.FrameworkSettings;
import org.fsp.api.status.StatusContributor;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.tools.Formatter;
import org.osgi.annotation.bundle.Header;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.wiring.BundleWiring;
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
 * Mounts fs-core on the {@link BlockScheduler} service and publishes it: the {@link FileSystemService}, the
 * {@code "filesystem"} section of {@code fsp:status} (order 30) and the Gogo commands {@code fsp:fsck} and
 * {@code fsp:df} ({@link FsCommands}).
 *
 * <p>The file system is mounted on a {@link SchedulerGate}, not on the scheduler itself: the {@link BlockScheduler}
 * reference is optional, dynamic and greedy, so a new scheduler (a block-sched update, or a better-ranked one) is
 * swapped in under the mounted file system, whose clients keep their handles and only see a pause; a mount waits for
 * the first scheduler to arrive.
 *
 * <p>On activation the superblock is read: a blank device (all zeros) is formatted first when
 * {@link Config#formatIfBlank()} is set, with a log message; a corrupt one is refused with an error that says what is
 * wrong, and nothing is written. On deactivation everything is written home and the image is marked clean.
 *
 * <p>Live upgrade: when a {@link HandoffVault} is bound and the framework is not shutting down, deactivation instead
 * {@link FsCore#quiesce quiesces} the file system and deposits its {@link FileSystemHandoff} (open handles, features'
 * data); activation takes a deposit of the same device and mounts from it, so clients' handles stay valid. A deposit
 * that cannot be mounted fails the activation, so that the upgrade is rolled back and the previous version takes the
 * state again.
 *
 * <p>Make before break: a version that activates while another version of this bundle (same symbolic name) still
 * serves a {@link FileSystemService} does not touch the device: it stands by. Activation returns at once with a
 * {@code "filesystem"} status that says {@code STANDBY}, and a standby thread initialises the classes a mount uses,
 * then waits in {@link HandoffVault#awaitDeposit}; when the serving version has quiesced and deposited, it adopts the
 * deposit and publishes the file system, so the pause clients see holds only the quiesce and the adoption. A deposit
 * that cannot be mounted leaves it unpublished (the upgrade times out waiting for the service and rolls back).
 * Deactivation while standing by interrupts the thread and waits for it to end. The manifest header
 * {@code FSP-Handover: standby} tells {@code fsp:upgrade} that this version may be started before the old one stops.
 *
 * <p>Later versions of fs-core reuse this class: their own component (with this PID) delegates its lifecycle and
 * references to a {@code FsCoreComponent} made with their {@link FsCoreExtension}, which adds its observer, status,
 * commands and hand-off data to what is described here.
 *
 * <p>Its length (about 600 lines): some 80 are the {@link Config} attributes, and the rest is one life cycle whose
 * states (waiting for a scheduler, standing by, mounted, handing off) are entered from SCR's callbacks, the scheduler
 * reference and the standby thread, all under this component's monitor; kept in one class, each move between them is
 * checked against the others in one place. The swap of schedulers is {@link SchedulerGate}'s, the mount itself
 * {@link FsCore}'s (and {@link Mounting}'s), the rehearsals {@link HandOverRehearsal}'s, the commands
 * {@link FsCommands}'.
 */
@Component(
        immediate = true,
        configurationPid = FsCoreComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {})
@Designate(ocd = FsCoreComponent.Config.class)
@Header(name = HandoverMethod.HEADER, value = "standby")
public final class FsCoreComponent {

    /** Configuration PID. */
    public static final String PID = "org.fsp.fs.core";

    private static final Logger LOG = LoggerFactory.getLogger(FsCoreComponent.class);

    /** The file system's configuration. */
    @ObjectClassDefinition(name = "FSP file system", description = "fs-core: cache, journal, formatting")
    public @interface Config {

        @AttributeDefinition(
                name = "Cache size (MiB)",
                description = "Buffer cache memory bound, MiB; 0 = a quarter of the machine's memory (or of the "
                        + "cgroup's limit), at least 64, taken as the cache fills")
        int cacheSizeMiB() default 0;

        @AttributeDefinition(
                name = "Journal blocks",
                description = "Journal length in 4 KiB blocks when formatting; 0 = 1/64 of the device, "
                        + "between 64 and 8192")
        long journalBlocks() default 0;

        @AttributeDefinition(
                name = "Format if blank",
                description = "Format the device if its superblock is blank (all zeros)")
        boolean formatIfBlank() default true;

        @AttributeDefinition(
                name = "Read-ahead blocks",
                description = "Blocks read ahead on sequential reads (0 disables)")
        int readAheadBlocks() default 32;

        @AttributeDefinition(
                name = "Flush interval (ms)",
                description = "Background commit period, milliseconds; 0 also disables background write-back")
        long flushIntervalMillis() default 5000;

        @AttributeDefinition(
                name = "Journal shadow directory",
                description = "A tmpfs directory for the journal's copy that outlives fspd: commits that only have to "
                        + "survive a crash of fspd (a recoverable client's namespace change) are a memory copy "
                        + "there, not a device write; empty for none")
        String journalShadowDir() default "/dev/shm";

        @AttributeDefinition(
                name = "Scheduler wait (ms)",
                description = "How long an I/O waits for a block scheduler while none is bound (during a swap) "
                        + "before it fails with EIO, milliseconds")
        long schedulerWaitMillis() default 30_000;

        @AttributeDefinition(
                name = "Reserved for root (%)",
                description = "Percent of the data blocks only root may allocate, when formatting (as mke2fs -m)")
        int reservedPercent() default 5;

        @AttributeDefinition(
                name = "protected_symlinks",
                description = "Follow a symlink in a sticky world-writable directory only if the follower or the "
                        + "directory's owner owns it (Linux's fs.protected_symlinks)")
        boolean protectedSymlinks() default true;

        @AttributeDefinition(
                name = "protected_hardlinks",
                description = "Hard links only to files the caller owns or may read and write "
                        + "(Linux's fs.protected_hardlinks)")
        boolean protectedHardlinks() default true;

        @AttributeDefinition(
                name = "protected_regular",
                description = "O_CREAT on another user's file in a sticky world-writable (1) or also group-writable "
                        + "(2) directory fails; 0 off (Linux's fs.protected_regular)")
        int protectedRegular() default 1;
    }

    /** Rehearsals of a hand-over a version standing by runs first, so that its code has run before the pause. */
    private static final int REHEARSALS = 3;

    /** How long one wait in the vault lasts before the standby thread checks it is still wanted. */
    private static final long STANDBY_WAIT_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final SchedulerGate gate = new SchedulerGate(this::schedulerPause);
    private final FsCoreExtension extension;

    private volatile HandoffVault vault;

    /** Guarded by this. */
    private Config config;
    /** Guarded by this. */
    private BundleContext context;
    /** Guarded by this: activated, waiting for the first scheduler to mount. */
    private boolean mountPending;
    /** Guarded by this: the previous version's state to mount from once a scheduler arrives (mountPending). */
    private FileSystemHandoff pendingHandoff;
    /** Guarded by this: the thread waiting for the serving version's deposit, while standing by; else null. */
    private Thread standby;

    private FsCore fs;
    private ServiceRegistration<FileSystemService> fsRegistration;
    private ServiceRegistration<StatusContributor> statusRegistration;
    private ServiceRegistration<Object> commandsRegistration;

    /** The plain file system, as SCR creates it. */
    public FsCoreComponent() {
        this(FsCoreExtension.NONE);
    }

    /** The file system with what {@code extension} adds, for a later version's component to delegate to. */
    public FsCoreComponent(FsCoreExtension extension) {
        this.extension = extension;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    public void bindVault(HandoffVault vault) {
        this.vault = vault;
    }

    public void unbindVault(HandoffVault vault) {
        if (this.vault == vault) {
            this.vault = null;
        }
        synchronized (this) {
            if (standby != null) {
                // It waits in that vault: without it no deposit will come.
                standby.interrupt();
            }
        }
    }

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindScheduler(BlockScheduler scheduler) {
        gate.bind(scheduler);
        synchronized (this) {
            if (mountPending) {
                mountPending = false;
                statusRegistration.unregister();
                FileSystemHandoff handoff = pendingHandoff != null ? pendingHandoff : takeDeposit();
                pendingHandoff = null;
                mountAndPublish(handoff);
            }
        }
    }

    public void unbindScheduler(BlockScheduler scheduler) {
        int left = gate.unbind(scheduler);
        if (left > 0) {
            LOG.warn("block scheduler {} left with {} requests unfinished", scheduler.policy(), left);
        }
    }

    /** Reports a block-scheduler swap's pause: how long new requests waited at the gate. */
    private void schedulerPause(long nanos) {
        HandoffVault v = vault;
        if (v != null) {
            v.pauseObserved(Layer.BLOCK_SCHED, nanos);
        }
        LOG.info("block scheduler swapped under the file system: pause {} us", TimeUnit.NANOSECONDS.toMicros(nanos));
    }

    @Activate
    public synchronized void activate(Config config, BundleContext context) {
        this.config = config;
        this.context = context;
        gate.configure(TimeUnit.MILLISECONDS.toNanos(config.schedulerWaitMillis()));
        HandoffVault v = vault;
        // Before looking: the serving version's deposit comes after this, an older one (not its state) before.
        long servingSeenAt = System.nanoTime();
        Bundle serving = v == null ? null : otherVersionServing(context);
        if (serving != null) {
            statusRegistration = context.registerService(
                    StatusContributor.class,
                    new NotMounted(
                            NotMounted.STANDBY,
                            "version " + serving.getVersion() + " (bundle " + serving.getBundleId() + ") serves; "
                                    + "this one takes over when it deposits its state",
                            "nothing: fsp:upgrade stops the serving version next"),
                    null);
            Bundle self = context.getBundle();
            // Here rather than on the standby thread: fsp:upgrade stops the serving version as soon as this activation
            // returns, and everything done before that stays out of the pause.
            int initialised = initialiseClasses(self);
            long rehearsal = HandOverRehearsal.run(REHEARSALS);
            LOG.info(
                    "standby: {} classes initialised and {} hand-over rehearsals on a scratch image in {} ms",
                    initialised,
                    REHEARSALS,
                    TimeUnit.NANOSECONDS.toMillis(rehearsal));
            standby = Thread.ofPlatform()
                    .daemon()
                    .name("fsp-fs-standby-" + self.getBundleId())
                    .start(() -> standBy(v, self, servingSeenAt));
            LOG.info("standing by: version {} serves the file system; waiting for its deposit", serving.getVersion());
            return;
        }
        if (!gate.isBound()) {
            waitForScheduler(null);
            return;
        }
        mountAndPublish(takeDeposit());
    }

    /** Guarded by this: no scheduler yet; mount from {@code handoff} (or a deposit then) once one is bound. */
    private void waitForScheduler(FileSystemHandoff handoff) {
        mountPending = true;
        pendingHandoff = handoff;
        statusRegistration = context.registerService(
                StatusContributor.class, new NotMounted("waiting for a block scheduler service"), null);
    }

    /** Guarded by this: the previous version's deposit, now claimed by this bundle, or null. */
    private FileSystemHandoff takeDeposit() {
        HandoffVault v = vault;
        return v == null ? null : v.take(Layer.FS, FileSystemHandoff.class, context.getBundle());
    }

    /** Another bundle with this bundle's symbolic name that has a {@link FileSystemService} registered, or null. */
    private static Bundle otherVersionServing(BundleContext context) {
        Bundle self = context.getBundle();
        try {
            for (ServiceReference<FileSystemService> ref :
                    context.getServiceReferences(FileSystemService.class, null)) {
                Bundle owner = ref.getBundle();
                if (owner != null
                        && owner.getBundleId() != self.getBundleId()
                        && self.getSymbolicName().equals(owner.getSymbolicName())) {
                    return owner;
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new AssertionError("no filter given", e);
        }
        return null;
    }

    /**
     * The standby thread (activation prepared the mount already): waits for the serving version's deposit and adopts it. Ends when
     * it has, or when interrupted (deactivation, or the vault went away).
     */
    private void standBy(HandoffVault v, Bundle self, long servingSeenAt) {
        FileSystemHandoff handoff = null;
        try {
            while (handoff == null) {
                handoff = v.awaitDeposit(Layer.FS, FileSystemHandoff.class, self, servingSeenAt, STANDBY_WAIT_NANOS);
                if (handoff == null && Thread.currentThread().isInterrupted()) {
                    throw new InterruptedException();
                }
            }
        } catch (InterruptedException e) {
            synchronized (this) {
                if (standby == Thread.currentThread()) {
                    // Still activated: the vault went away, so the serving version shuts down instead of handing over.
                    standby = null;
                    statusRegistration.unregister();
                    statusRegistration = context.registerService(
                            StatusContributor.class,
                            new NotMounted("the hand-off vault went away while standing by; restart this bundle"),
                            null);
                    LOG.warn("standby ended: the hand-off vault went away before the serving version deposited");
                }
            }
            return;
        }
        synchronized (this) {
            if (standby != Thread.currentThread()) {
                // Deactivated meanwhile: the claim ends when this bundle stops, for the next version to take it.
                return;
            }
            standby = null;
            statusRegistration.unregister();
            if (!gate.isBound()) {
                waitForScheduler(handoff);
                return;
            }
            try {
                mountAndPublish(handoff);
            } catch (IllegalStateException e) {
                // No activation to fail any more: stay unpublished, so that the upgrade waiting for the service rolls
                // back and the previous version takes the deposit again.
                LOG.error("standby: {}", e.getMessage());
                statusRegistration =
                        context.registerService(StatusContributor.class, new NotMounted(e.getMessage()), null);
            }
        }
    }

    /**
     * Loads and initialises every class of {@code b} (static initialisers: the layout descriptors' var handles and
     * the like), so that the adoption does not run them inside the pause; returns how many.
     */
    private static int initialiseClasses(Bundle b) {
        BundleWiring wiring = b.adapt(BundleWiring.class);
        if (wiring == null) {
            return 0;
        }
        ClassLoader loader = wiring.getClassLoader();
        int initialised = 0;
        for (String resource : wiring.listResources(
                "/", "*.class", BundleWiring.LISTRESOURCES_RECURSE | BundleWiring.LISTRESOURCES_LOCAL)) {
            String name =
                    resource.substring(0, resource.length() - ".class".length()).replace('/', '.');
            if (name.endsWith("package-info") || name.endsWith("module-info") || name.contains(".tools.")) {
                continue;
            }
            try {
                Class.forName(name, true, loader);
                initialised++;
            } catch (ClassNotFoundException | LinkageError e) {
                LOG.debug("not initialised before the hand-over: {}: {}", name, e.toString());
            }
        }
        return initialised;
    }

    /**
     * Guarded by this: mounts on the gate (from {@code handoff}, the previous version's deposit, if not null) and
     * registers the services, or the reason it could not.
     */
    private void mountAndPublish(FileSystemHandoff handoff) {
        try {
            long start = System.nanoTime();
            fs = open(gate, config, handoff, extension.observer());
            if (handoff != null) {
                if (fs.handlesAdopted() >= 0) {
                    extension.adopt(handoff.extensions());
                }
                long end = System.nanoTime();
                if (fs.handlesAdopted() >= 0) {
                    LOG.info(
                            "file system taken over: {} open handles, mount from the hand-off {} us, {} us since the"
                                    + " previous version stopped serving",
                            fs.handlesAdopted(),
                            TimeUnit.NANOSECONDS.toMicros(end - start),
                            TimeUnit.NANOSECONDS.toMicros(end - handoff.quiescedAtNanos()));
                } else {
                    LOG.warn(
                            "hand-off ignored: it was left by a file system on another device ({})",
                            handoff.deviceIdentity());
                }
            }
        } catch (IOException e) {
            if (handoff != null) {
                // The handles clients hold live in the deposit: fail so that the upgrade rolls back and the previous
                // version takes it again, rather than mounting afresh and losing them.
                throw new IllegalStateException(
                        "cannot mount from the previous version's hand-off: " + e.getMessage(), e);
            }
            // open() has logged the reason. Stay active without a FileSystemService, so that fsp:status says why
            // and the operator can act, instead of a component failure buried in SCR's log.
            statusRegistration = context.registerService(StatusContributor.class, new NotMounted(e.getMessage()), null);
            return;
        }
        fsRegistration = context.registerService(FileSystemService.class, fs, null);
        statusRegistration = context.registerService(StatusContributor.class, new Status(fs, gate, extension), null);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "fsp");
        props.put("osgi.command.function", new String[] {"fsck", "df"});
        commandsRegistration = context.registerService(Object.class, new FsCommands(fs, gate), props);
        extension.published(fs, context);
    }

    @Deactivate
    public void deactivate(BundleContext context) throws IOException {
        Thread standingBy;
        synchronized (this) {
            standingBy = standby;
            standby = null;
        }
        if (standingBy != null) {
            // Outside the monitor: the thread takes it once it has a deposit, and must end before this bundle's class
            // loader can go.
            standingBy.interrupt();
            try {
                standingBy.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        deactivateMounted(context);
    }

    private synchronized void deactivateMounted(BundleContext context) throws IOException {
        mountPending = false;
        pendingHandoff = null;
        statusRegistration.unregister();
        if (fs == null) {
            return;
        }
        HandoffVault v = vault;
        boolean handOff = v != null && !FrameworkSettings.frameworkStopping(context);
        if (handOff) {
            // Still serving: the checkpoint's device flushes happen here rather than in the quiesce, after the IPC
            // layer has started holding requests.
            try {
                fs.checkpoint();
            } catch (FsException e) {
                LOG.warn("checkpoint before the hand-off failed ({}); the quiesce will try again", e.getMessage());
            }
        }
        extension.withdrawn();
        commandsRegistration.unregister();
        fsRegistration.unregister();
        if (handOff) {
            try {
                long start = System.nanoTime();
                FileSystemHandoff handoff = fs.quiesce(extension::handOver);
                v.deposit(Layer.FS, handoff);
                LOG.info(
                        "file system quiesced for a hand-off in {} us: {} open handles deposited",
                        TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start),
                        handoff.openFiles().size());
                fs = null;
                return;
            } catch (IOException e) {
                LOG.error("file system could not be handed over ({}); unmounting instead", e.getMessage());
            }
        }
        fs.unmount();
        fs = null;
        LOG.info("file system unmounted cleanly from {}", gate.device().describe());
    }

    /** Formats a blank device if configured to, then mounts; refuses a corrupt image with a logged error. */
    static FsCore open(BlockScheduler scheduler, Config config) throws IOException {
        return open(scheduler, config, null);
    }

    /**
     * {@link #open(BlockScheduler, Config)}, taking over from {@code handoff} (may be null) when it was left on this
     * device.
     */
    static FsCore open(BlockScheduler scheduler, Config config, FileSystemHandoff handoff) throws IOException {
        return open(scheduler, config, handoff, FileObserver.NONE);
    }

    /** {@link #open(BlockScheduler, Config, FileSystemHandoff)} telling {@code observer} of file changes. */
    static FsCore open(BlockScheduler scheduler, Config config, FileSystemHandoff handoff, FileObserver observer)
            throws IOException {
        BlockIo io = new BlockIo(scheduler);
        if (isBlank(io)) {
            if (!config.formatIfBlank()) {
                throw new IOException("device " + scheduler.device().describe()
                        + " is blank and formatIfBlank is false: run mkfs first");
            }
            Geometry g = Formatter.format(io, io.blockCount(), config.journalBlocks(), config.reservedPercent());
            LOG.info(
                    "formatted blank device {}: {} blocks, {} inodes, journal {} blocks",
                    scheduler.device().describe(),
                    g.totalBlocks(),
                    g.inodeCount() - 1,
                    g.journalBlocks());
        }
        FsCore.Options options = new FsCore.Options(
                config.cacheSizeMiB() > 0 ? (long) config.cacheSizeMiB() << 20 : BufferCache.defaultCapacityBytes(),
                config.readAheadBlocks(),
                config.flushIntervalMillis(),
                new LinkProtection(config.protectedSymlinks(), config.protectedHardlinks(), config.protectedRegular()),
                config.journalShadowDir().isBlank()
                        ? null
                        : java.nio.file.Path.of(config.journalShadowDir().trim()));
        try {
            FsCore fs = FsCore.mount(scheduler, options, FsCore::wallClockNanos, handoff, observer);
            LOG.info("file system mounted on {}: {}", scheduler.device().describe(), fs.status());
            return fs;
        } catch (IOException e) {
            LOG.error("file system not mounted on {}: {}", scheduler.device().describe(), e.getMessage());
            throw e;
        }
    }

    private static boolean isBlank(BlockIo io) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sb = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            io.read(0, sb, BlockRequest.Priority.METADATA);
            return SuperblockDescriptor.isBlank(sb);
        }
    }

    /** The {@code "filesystem"} status section of a device that could not be mounted. */
    private record NotMounted(String state, String reason, String whatToDo) implements StatusContributor {

        static final String STANDBY = "STANDBY";

        NotMounted(String reason) {
            this("NOT MOUNTED", reason, "check the image offline with bin/fsp fsck IMAGE; nothing was written to it");
        }

        @Override
        public String section() {
            return "filesystem";
        }

        @Override
        public int order() {
            return 30;
        }

        @Override
        public Map<String, Object> status() {
            Map<String, Object> status = new LinkedHashMap<>();
            status.put("state", state);
            status.put("reason", reason);
            status.put("what to do", whatToDo);
            return status;
        }
    }

    /** The {@code "filesystem"} status section: the file system's figures and the block-scheduler swaps under it. */
    private record Status(FsCore fs, SchedulerGate gate, FsCoreExtension extension) implements StatusContributor {
        @Override
        public String section() {
            return "filesystem";
        }

        @Override
        public int order() {
            return 30;
        }

        @Override
        public Map<String, Object> status() {
            Map<String, Object> status = fs.status();
            status.put("scheduler.swaps", gate.swaps());
            List<Long> pauses = gate.recentPauseNanos();
            status.put(
                    "scheduler.recentPausesMicros",
                    pauses.stream().map(TimeUnit.NANOSECONDS::toMicros).toList());
            extension.addStatus(status);
            return status;
        }
    }
}
