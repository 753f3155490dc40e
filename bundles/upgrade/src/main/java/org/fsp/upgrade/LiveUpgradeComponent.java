package org.fsp.upgrade;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.Layer;
import org.fsp.api.sched.ThreadModel;
import org.fsp.api.status.StatusContributor;
import org.fsp.upgrade.api.LiveUpgrade;
import org.fsp.upgrade.api.UpgradeReport;
import org.fsp.upgrade.api.UpgradeReport.Outcome;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.Version;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code fsp:upgrade <layer> <jar-url>} and {@code fsp:upgrades}, the same as the {@link LiveUpgrade} service, and the
 * {@code "upgrades"} section of {@code fsp:status} (order 90).
 *
 * <p>An upgrade, step by step (clients are paused only between stopping the old version and the new one serving):
 *
 * <ol>
 *   <li>Find the layer's running bundle by symbolic name; read the jar's manifest: it must be the same symbolic name.
 *   <li>Install the jar next to the old bundle (another version of the same symbolic name), resolve it and load all
 *       its classes, so that neither resolving nor class loading falls into the pause. If that very version is
 *       already installed, the old bundle is updated in place from the jar instead.
 *   <li>For fs-core, {@link FileSystemService#sync()} while still serving, so the quiesce has little left to write.
 *   <li>Stop the old bundle (its component quiesces and deposits its state in the vault); start the new one (its
 *       component takes the state and resumes; the layer above lets its held requests through and reports the pause).
 *       The thread model is the exception: two can run at once, so the new one starts before the old one stops and
 *       the lane agents move straight from the old workers to the new. fs-core (a version whose manifest says
 *       {@code FSP-Standby: fs-core}) is made before it is broken too: the new one starts first and stands by, its component active
 *       without a FileSystemService; a new version that does not come up that far is removed and the old one never
 *       stopped; otherwise the old one stops, and the new one adopts its deposit at once.
 *   <li>Verify within {@link Config#verifyTimeoutMillis()}: every component of the new bundle is active or satisfied
 *       and the layer's service is registered by it.
 *   <li>Success: uninstall the old bundle and refresh it alone, which releases its class loader. Failure: stop and
 *       uninstall the new bundle, start the old one, which takes the same deposit back.
 * </ol>
 */
@Component(
        immediate = true,
        configurationPid = LiveUpgradeComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {LiveUpgrade.class, StatusContributor.class, LiveUpgradeComponent.class},
        property = {"osgi.command.scope=fsp", "osgi.command.function=upgrade", "osgi.command.function=upgrades"})
@Designate(ocd = LiveUpgradeComponent.Config.class)
public final class LiveUpgradeComponent implements LiveUpgrade, StatusContributor {

    /** Configuration PID. */
    public static final String PID = "org.fsp.upgrade";

    private static final Logger LOG = LoggerFactory.getLogger(LiveUpgradeComponent.class);
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());
    private static final String CLASS_SUFFIX = ".class";
    /** The manifest header by which a bundle says it can stand by next to the serving version (see standsBy). */
    static final String STANDBY_HEADER = "FSP-Standby";

    /** The upgrade's configuration. */
    @ObjectClassDefinition(name = "FSP live upgrade", description = "upgrade: fsp:upgrade and its rollback")
    public @interface Config {

        @AttributeDefinition(
                description = "Milliseconds a new version has to bring its components up and register the "
                        + "layer's service before it is rolled back")
        long verifyTimeoutMillis() default 10_000;

        @AttributeDefinition(
                description = "Milliseconds to wait, after the new version is up, for the layer above to "
                        + "report the pause it saw")
        long pauseWaitMillis() default 2_000;

        @AttributeDefinition(description = "Upgrades remembered for fsp:upgrades")
        int historySize() default 100;
    }

    @Reference
    private ServiceComponentRuntime scr;

    @Reference
    private HandoffVaultComponent vault;

    private BundleContext context;
    private volatile Config config;
    /** Guarded by itself. */
    private final ArrayDeque<UpgradeReport> history = new ArrayDeque<>();

    @Activate
    void activate(BundleContext context, Config config) {
        this.context = context;
        this.config = config;
    }

    @Modified
    void modified(Config config) {
        this.config = config;
    }

    /** {@code fsp:upgrade <layer> <jar-url>}: one line saying what happened; a rolled-back or refused upgrade fails. */
    public String upgrade(String layer, String location) {
        UpgradeReport report = upgrade(Layer.byShellName(layer), location);
        if (report.outcome() != Outcome.UPGRADED) {
            // A failed upgrade is a failed command: the shell prints it on stderr and bin/fsp exits 1.
            throw new IllegalStateException(report.summary());
        }
        return report.summary();
    }

    /** {@code fsp:upgrades}: every upgrade since fspd started, then the last pauses each layer reported. */
    public String upgrades() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                "%-19s  %-13s  %-40s  %-11s  %12s  %12s%n", "time", "layer", "from -> to", "result", "took", "pause"));
        for (UpgradeReport r : history()) {
            sb.append(historyLine(r));
        }
        sb.append(String.format("%npauses reported by the layer above, last 5 per layer%n"));
        for (Layer layer : Layer.values()) {
            List<ExpiringHandoffVault.Pause> pauses = vault.pauses(layer);
            List<String> last = new ArrayList<>();
            for (ExpiringHandoffVault.Pause p : pauses.subList(Math.max(0, pauses.size() - 5), pauses.size())) {
                last.add(UpgradeReport.millis(p.pauseNanos()));
            }
            sb.append(
                    String.format("  %-13s  %s%n", layer.shellName(), last.isEmpty() ? "-" : String.join(", ", last)));
        }
        return sb.toString();
    }

    static String historyLine(UpgradeReport r) {
        return String.format(
                "%-19s  %-13s  %-40s  %-11s  %12s  %12s%n",
                TIME.format(r.at()),
                r.layer().shellName(),
                r.fromVersion() + " -> " + r.toVersion(),
                r.outcome().shellName(),
                r.outcome() == Outcome.REFUSED ? "-" : UpgradeReport.millis(r.tookNanos()),
                r.pauseNanos() < 0 ? "-" : UpgradeReport.millis(r.pauseNanos()));
    }

    @Override
    public List<UpgradeReport> history() {
        synchronized (history) {
            return List.copyOf(history);
        }
    }

    @Override
    public String section() {
        return "upgrades";
    }

    @Override
    public int order() {
        return 90;
    }

    @Override
    public Map<String, Object> status() {
        Map<String, Object> status = new LinkedHashMap<>();
        List<UpgradeReport> all = history();
        status.put("upgrades", all.size());
        for (UpgradeReport r : all.subList(Math.max(0, all.size() - 3), all.size())) {
            status.put("at " + TIME.format(r.at()), r.summary());
        }
        Map<Layer, String> deposits = vault.deposits();
        status.put("vault", deposits.isEmpty() ? "empty" : deposits.toString());
        return status;
    }

    @Override
    public synchronized UpgradeReport upgrade(Layer layer, String location) {
        Attempt a = new Attempt(layer, toUrl(location));
        UpgradeReport report;
        try {
            report = a.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            report = a.report(Outcome.REFUSED, -1, "interrupted");
        }
        LOG.info("fsp:upgrade {}", report.summary());
        synchronized (history) {
            if (history.size() >= Math.max(1, config.historySize())) {
                history.removeFirst();
            }
            history.addLast(report);
        }
        return report;
    }

    /** A plain path becomes a file URL; anything with a scheme is taken as it is. */
    static String toUrl(String location) {
        String s = location.trim();
        if (s.startsWith("/") || s.startsWith(".")) {
            return Path.of(s).toAbsolutePath().normalize().toUri().toString();
        }
        return s;
    }

    /** One upgrade of one layer; fields are what the report needs. */
    private final class Attempt {
        final Layer layer;
        final String location;
        final Instant at = Instant.now();
        final long startNanos = System.nanoTime();
        String fromVersion = "-";
        String toVersion = "-";
        String method = "-";
        final List<String> notes = new ArrayList<>();

        Attempt(Layer layer, String location) {
            this.layer = layer;
            this.location = location;
        }

        UpgradeReport run() throws InterruptedException {
            Bundle old = runningBundle(layer);
            if (old == null) {
                return report(Outcome.REFUSED, -1, "no active bundle " + layer.symbolicName());
            }
            fromVersion = old.getVersion().toString();
            String[] identity;
            try {
                identity = identity(location);
            } catch (IOException | RuntimeException e) {
                return report(Outcome.REFUSED, -1, "cannot read " + location + ": " + e);
            }
            toVersion = identity[1];
            if (!layer.symbolicName().equals(identity[0])) {
                return report(
                        Outcome.REFUSED,
                        -1,
                        location + " is bundle " + identity[0] + ", not " + layer.symbolicName() + " (" + layer + ")");
            }
            Version version = Version.parseVersion(identity[1]);
            Bundle atLocation = context.getBundle(location);
            Bundle sameVersion = null;
            for (Bundle b : context.getBundles()) {
                if (layer.symbolicName().equals(b.getSymbolicName())
                        && b.getVersion().equals(version)) {
                    sameVersion = b;
                }
            }
            if ((sameVersion != null && sameVersion != old) || (atLocation != null && atLocation != old)) {
                Bundle other = sameVersion != null ? sameVersion : atLocation;
                return report(
                        Outcome.REFUSED,
                        -1,
                        "bundle " + other.getBundleId() + " (" + other.getSymbolicName() + " " + other.getVersion()
                                + ", " + other.getLocation() + ") is already installed; uninstall it first");
            }
            if (sameVersion == old || atLocation == old) {
                method = UpgradeReport.IN_PLACE;
                return inPlace(old);
            }
            method = UpgradeReport.SIDE_BY_SIDE;
            return sideBySide(old);
        }

        private UpgradeReport sideBySide(Bundle old) throws InterruptedException {
            Bundle fresh;
            try {
                fresh = context.installBundle(location);
            } catch (BundleException | RuntimeException e) {
                return report(Outcome.REFUSED, -1, "cannot install " + location + ": " + e.getMessage());
            }
            fresh.adapt(BundleStartLevel.class)
                    .setStartLevel(old.adapt(BundleStartLevel.class).getStartLevel());
            if (!frameworkWiring().resolveBundles(List.of(fresh))) {
                uninstallQuietly(fresh);
                return report(Outcome.REFUSED, -1, "the new bundle does not resolve in this framework (see the log)");
            }
            int preloaded = preloadClasses(fresh);
            LOG.info("{}: {} classes of {} {} loaded before the pause", layer, preloaded, layer, toVersion);
            preflush();
            long pauseMark = vault.pauseSequence();
            if (layer == Layer.SCHED || layer == Layer.BLOCK_SCHED) {
                // Make before break: the new version starts first, beside the old one, and when the old one stops
                // the layer above (a dynamic greedy reference) binds the new one before it lets the old one go.
                // Two thread models can run side by side: the lane agents move from worker to worker at their
                // boundary. Two block schedulers can be active at once, the new one idle: fs-core's gate finishes
                // the old one's requests and only then gives the new one any (a scheduler with nothing in flight
                // never polls the device), so the pause is that drain, not Felix stopping one bundle and starting
                // another.
                UpgradeReport notUp = startBesideOrRemove(fresh, true);
                if (notUp != null) {
                    return notUp;
                }
                try {
                    old.stop();
                } catch (BundleException | RuntimeException e) {
                    notes.add("the old bundle did not stop cleanly: " + e);
                }
            } else {
                // Make before break for a file system that stands by: it starts while the old one serves, stands by
                // without mounting (its component is active, registers no FileSystemService) and adopts the deposit
                // the moment the old one makes it, so the pause holds only the quiesce and the adoption, not Felix
                // stopping one bundle and starting another. Any other layer starts once the old one has stopped.
                boolean standsBy = layer == Layer.FS && standsBy(fresh, layer);
                if (standsBy) {
                    UpgradeReport notUp = startBesideOrRemove(fresh, false);
                    if (notUp != null) {
                        return notUp;
                    }
                }
                String failure;
                try {
                    old.stop();
                    if (!standsBy) {
                        fresh.start();
                    }
                    failure = awaitUp(fresh);
                } catch (BundleException | RuntimeException e) {
                    failure = e.toString();
                }
                if (failure != null) {
                    return rollBackSideBySide(old, fresh, failure);
                }
            }
            long pause = observedPause(pauseMark);
            try {
                old.uninstall();
            } catch (BundleException e) {
                notes.add("the old bundle did not uninstall: " + e.getMessage());
            }
            refreshAlone(old);
            return report(Outcome.UPGRADED, pause, String.join("; ", notes));
        }

        private UpgradeReport rollBackSideBySide(Bundle old, Bundle fresh, String failure) throws InterruptedException {
            LOG.warn("{}: {} did not come up, rolling back to {}: {}", layer, toVersion, fromVersion, failure);
            uninstallQuietly(fresh);
            String back;
            try {
                old.start();
                String stillDown = awaitUp(old);
                back = stillDown == null
                        ? fromVersion + " is active again"
                        : "and " + fromVersion + " did not come back either: " + stillDown;
            } catch (BundleException | RuntimeException e) {
                back = "and " + fromVersion + " did not start again: " + e;
            }
            refreshAlone(fresh);
            return report(Outcome.ROLLED_BACK, -1, failure + "; " + back);
        }

        private UpgradeReport inPlace(Bundle old) throws InterruptedException {
            preflush();
            long pauseMark = vault.pauseSequence();
            String failure;
            try (InputStream in = URI.create(location).toURL().openStream()) {
                old.update(in);
                failure = awaitUp(old);
            } catch (IOException | BundleException | RuntimeException e) {
                failure = e.toString();
            }
            if (failure != null) {
                LOG.warn(
                        "{}: {} did not come up, updating back from {}: {}",
                        layer,
                        toVersion,
                        old.getLocation(),
                        failure);
                String back;
                try (InputStream in = URI.create(old.getLocation()).toURL().openStream()) {
                    old.update(in);
                    String stillDown = awaitUp(old);
                    back = stillDown == null
                            ? "updated back from " + old.getLocation()
                            : "and the bundle updated back from " + old.getLocation() + " is not up: " + stillDown;
                } catch (IOException | BundleException | RuntimeException e) {
                    back = "and updating back from " + old.getLocation() + " failed: " + e;
                }
                refreshIfPending(old);
                return report(Outcome.ROLLED_BACK, -1, failure + "; " + back);
            }
            long pause = observedPause(pauseMark);
            refreshIfPending(old);
            return report(Outcome.UPGRADED, pause, String.join("; ", notes));
        }

        /** The pause the layer above reported since {@code mark}, waited for briefly; -1 if none came. */
        private long observedPause(long mark) throws InterruptedException {
            ExpiringHandoffVault.Pause p = vault.awaitPause(layer, mark, config.pauseWaitMillis());
            return p == null ? -1 : p.pauseNanos();
        }

        private void preflush() {
            if (layer != Layer.FS) {
                return;
            }
            ServiceReference<FileSystemService> ref = context.getServiceReference(FileSystemService.class);
            if (ref == null) {
                return;
            }
            FileSystemService fs = context.getService(ref);
            try {
                if (fs != null) {
                    fs.sync();
                }
            } catch (FsException | RuntimeException e) {
                notes.add("the pre-flush failed (" + e.getMessage() + "); the quiesce wrote everything");
            } finally {
                context.ungetService(ref);
            }
        }

        /** {@link #awaitUp(Bundle, boolean)} including the layer's service. */
        /**
         * Make before break: starts {@code fresh} beside the version that serves and waits until it is up (with its
         * layer's service if {@code withService}, else only its components: a version that stands by). Returns null
         * then; otherwise removes it again and returns the report: the serving version was never stopped.
         */
        private UpgradeReport startBesideOrRemove(Bundle fresh, boolean withService) throws InterruptedException {
            String failure;
            try {
                fresh.start();
                failure = awaitUp(fresh, withService);
            } catch (BundleException | RuntimeException e) {
                failure = e.toString();
            }
            if (failure == null) {
                return null;
            }
            LOG.warn("{}: {} did not come up, {} keeps running: {}", layer, toVersion, fromVersion, failure);
            uninstallQuietly(fresh);
            refreshAlone(fresh);
            return report(Outcome.ROLLED_BACK, -1, failure + "; " + fromVersion + " kept running");
        }

        private String awaitUp(Bundle b) throws InterruptedException {
            return awaitUp(b, true);
        }

        /**
         * Waits until every enabled component of {@code b} is active or satisfied and, if {@code withService}, the
         * layer's service is registered by {@code b}; returns null then, or why not (a failed activation at once,
         * anything else at the time-out). Without the service it is how a file system standing by is seen to be up.
         */
        private String awaitUp(Bundle b, boolean withService) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.verifyTimeoutMillis());
            String waitingFor;
            do {
                waitingFor = null;
                Collection<ComponentDescriptionDTO> descriptions = scr.getComponentDescriptionDTOs(b);
                if (descriptions.isEmpty()) {
                    waitingFor = "no components of " + b.getSymbolicName() + " " + b.getVersion() + " known to SCR";
                }
                for (ComponentDescriptionDTO d : descriptions) {
                    if (!scr.isComponentEnabled(d)) {
                        continue;
                    }
                    Collection<ComponentConfigurationDTO> configs = scr.getComponentConfigurationDTOs(d);
                    if (configs.isEmpty()) {
                        waitingFor = d.name + ": no configuration";
                    }
                    for (ComponentConfigurationDTO c : configs) {
                        if (c.state == ComponentConfigurationDTO.FAILED_ACTIVATION) {
                            return d.name + " failed to activate: " + c.failure;
                        }
                        if (c.state != ComponentConfigurationDTO.ACTIVE
                                && c.state != ComponentConfigurationDTO.SATISFIED) {
                            waitingFor = d.name + " " + componentState(c);
                        }
                    }
                }
                if (waitingFor == null && withService && !servesLayer(b)) {
                    waitingFor = serviceOf(layer) + " not registered by " + b.getSymbolicName() + " " + b.getVersion();
                }
                if (waitingFor == null) {
                    return null;
                }
                Thread.sleep(5);
            } while (System.nanoTime() < deadline);
            return "not up within " + config.verifyTimeoutMillis() + " ms: " + waitingFor;
        }

        private boolean servesLayer(Bundle b) {
            String service = serviceOf(layer);
            if (service == null) {
                return true;
            }
            try {
                ServiceReference<?>[] refs = context.getAllServiceReferences(service, null);
                if (refs != null) {
                    for (ServiceReference<?> ref : refs) {
                        if (b.equals(ref.getBundle())) {
                            return true;
                        }
                    }
                }
                return false;
            } catch (InvalidSyntaxException e) {
                throw new AssertionError(e);
            }
        }

        /** Uninstalls {@code b} and refreshes it alone, unless that would restart other bundles (then says so). */
        private void refreshAlone(Bundle b) throws InterruptedException {
            FrameworkWiring wiring = frameworkWiring();
            Collection<Bundle> closure = wiring.getDependencyClosure(List.of(b));
            List<String> others = new ArrayList<>();
            for (Bundle c : closure) {
                if (c.getBundleId() != b.getBundleId()) {
                    others.add(c.getSymbolicName() + " " + c.getVersion());
                }
            }
            if (!others.isEmpty()) {
                notes.add("the old revision stays until a refresh: refreshing it would restart " + others);
                return;
            }
            CountDownLatch refreshed = new CountDownLatch(1);
            wiring.refreshBundles(List.of(b), event -> {
                if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                    refreshed.countDown();
                }
            });
            if (!refreshed.await(config.verifyTimeoutMillis(), TimeUnit.MILLISECONDS)) {
                notes.add("the refresh of the old revision did not finish in time");
            }
        }

        private void refreshIfPending(Bundle b) throws InterruptedException {
            if (frameworkWiring().getRemovalPendingBundles().contains(b)) {
                notes.add("the refresh of the updated bundle restarted it (a second pause)");
                refreshAlone(b);
            }
        }

        UpgradeReport report(Outcome outcome, long pauseNanos, String detail) {
            return new UpgradeReport(
                    at,
                    layer,
                    location,
                    fromVersion,
                    toVersion,
                    outcome,
                    method,
                    detail,
                    System.nanoTime() - startNanos,
                    pauseNanos);
        }
    }

    /**
     * True if {@code b} declares (manifest header {@value #STANDBY_HEADER}, a list of layer names) that its component
     * stands by when it starts next to a serving version of {@code layer}: it then waits for the deposit instead of
     * taking the shared resources. A version without it (an older fs-core would mount the device a second time) is
     * swapped the old way, stop then start.
     */
    static boolean standsBy(Bundle b, Layer layer) {
        String declared = b.getHeaders("").get(STANDBY_HEADER);
        if (declared == null) {
            return false;
        }
        for (String name : declared.split(",")) {
            if (name.trim().equals(layer.shellName())) {
                return true;
            }
        }
        return false;
    }

    private Bundle runningBundle(Layer layer) {
        for (Bundle b : context.getBundles()) {
            if (layer.symbolicName().equals(b.getSymbolicName()) && b.getState() == Bundle.ACTIVE) {
                return b;
            }
        }
        return null;
    }

    private FrameworkWiring frameworkWiring() {
        return context.getBundle(0).adapt(FrameworkWiring.class);
    }

    private void uninstallQuietly(Bundle b) {
        try {
            if (b.getState() != Bundle.UNINSTALLED) {
                b.uninstall();
            }
        } catch (BundleException | RuntimeException e) {
            LOG.warn("could not uninstall {}: {}", b, e.toString());
        }
    }

    /** The symbolic name and version in the jar's manifest. */
    static String[] identity(String location) throws IOException {
        try (InputStream in = URI.create(location).toURL().openStream();
                JarInputStream jar = new JarInputStream(in)) {
            Manifest m = jar.getManifest();
            if (m == null) {
                throw new IOException("no manifest");
            }
            Attributes a = m.getMainAttributes();
            String bsn = a.getValue("Bundle-SymbolicName");
            if (bsn == null) {
                throw new IOException("not a bundle: no Bundle-SymbolicName");
            }
            int semicolon = bsn.indexOf(';');
            String version = a.getValue("Bundle-Version");
            return new String[] {
                (semicolon < 0 ? bsn : bsn.substring(0, semicolon)).trim(),
                Version.parseVersion(version).toString()
            };
        }
    }

    /**
     * Loads and links (without initialising) every class of {@code b}, so that neither class loading nor bytecode
     * verification of the new version falls into the pause; returns how many loaded. Linking is forced by asking for
     * the declared methods: HotSpot links a class before it reflects on it, and verification of a large class (FsCore)
     * takes milliseconds.
     */
    static int preloadClasses(Bundle b) {
        BundleWiring wiring = b.adapt(BundleWiring.class);
        if (wiring == null) {
            return 0;
        }
        ClassLoader loader = wiring.getClassLoader();
        int loaded = 0;
        for (String resource : wiring.listResources(
                "/", "*" + CLASS_SUFFIX, BundleWiring.LISTRESOURCES_RECURSE | BundleWiring.LISTRESOURCES_LOCAL)) {
            String name = resource.substring(0, resource.length() - CLASS_SUFFIX.length())
                    .replace('/', '.');
            if (name.endsWith("package-info") || name.endsWith("module-info")) {
                continue;
            }
            try {
                Class<?> c = Class.forName(name, false, loader);
                c.getDeclaredMethods();
                loaded++;
            } catch (ClassNotFoundException | LinkageError e) {
                // An optional import that is absent: the class loads (and fails) only if it is ever used.
                LOG.debug("not preloaded: {}: {}", name, e.toString());
            }
        }
        return loaded;
    }

    /** The service a layer's bundle must register to count as up, or null (ipc-shm, ipc-fuse: their component being active). */
    static String serviceOf(Layer layer) {
        return switch (layer) {
            case FS -> FileSystemService.class.getName();
            case BLOCK_SCHED -> BlockScheduler.class.getName();
            case DEVICE -> BlockDevice.class.getName();
            case SCHED -> ThreadModel.class.getName();
            case IPC, FUSE -> null;
        };
    }

    private static String componentState(ComponentConfigurationDTO c) {
        return switch (c.state) {
            case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION -> "waits for its configuration";
            case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> {
                List<String> refs = new ArrayList<>();
                for (UnsatisfiedReferenceDTO r : c.unsatisfiedReferences) {
                    refs.add(r.name);
                }
                yield "waits for references " + refs;
            }
            default -> "is in state " + c.state;
        };
    }
}
