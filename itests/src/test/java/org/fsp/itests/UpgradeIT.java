package org.fsp.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.handoff.HandoverMethod;
import org.fsp.api.handoff.Layer;
import org.fsp.client.FspClient;
import org.fsp.support.LayerJars;
import org.fsp.upgrade.api.LiveUpgrade;
import org.fsp.upgrade.api.UpgradeReport;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.CoreOptions;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Upgrades and downgrades every layer of the booted distribution while client JVMs ({@link UpgradeLoadClient}) write,
 * fsync and read back through file handles they keep open the whole time, and checks that the clients never noticed:
 * no request failed, every fsynced byte reads back intact through the handle opened before the first upgrade, and the
 * old version's class loader is collected after each upgrade (a weak reference to a class loaded through the old
 * bundle, found by name so that this probe imports nothing of the layer).
 *
 * <p>fs-core goes from v1 to the provenance version (v2, whose {@code fsp:provenance} must name the client that wrote
 * a file) and back, twice. The other layers have no second release: each goes to a copy of its own jar with another
 * Bundle-Version (installed side by side), back to the shipped jar, and once to the shipped jar again (the same
 * version: updated in place). A broken fs-core (a test fixture whose component throws on activation) must be rolled
 * back with clients unaffected. The pauses the layer above reported are printed per layer (max and p99); they are not
 * asserted: timing belongs in benchmarks.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class UpgradeIT {

    private static final int CLIENT_JVMS = 2;
    private static final int THREADS_PER_JVM = 2;
    private static final int ROUNDS = 2;
    private static final long WAIT_MILLIS = 20_000;
    /** How long GCs may take to collect a replaced version's class loader, ms. */
    private static final long GC_WAIT_MILLIS = 30_000;

    @Inject
    private BundleContext context;

    /** Classes of replaced versions, held weakly, with what replaced them: collected once the load has stopped. */
    private final List<Map.Entry<WeakReference<Class<?>>, String>> replaced = new ArrayList<>();

    @Configuration
    public Option[] config() {
        return OptionUtils.combine(
                FspBundleSet.options(FspBundleSet.workDirectory("upgrade"), "io_uring"),
                CoreOptions.bundle(
                        Path.of(System.getProperty("fsp.client.bundle")).toUri().toString()));
    }

    @Test
    public void fsCoreShouldGoToTheProvenanceVersionAndBackWhileClientsWrite() throws Exception {
        Path v2 = FspBundleSet.distribution().resolve("upgrades/fs-core-provenance.jar");
        assertTrue("no " + v2 + ": the distribution must ship fs-core-provenance", Files.isRegularFile(v2));
        Path v1 = shippedJar(Layer.FS);
        try (Load load = Load.start(socket(), clientDirectory("fs-core"))) {
            List<UpgradeReport> reports = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                reports.add(upgradeAndCheck(Layer.FS, v2, round == 0));
                // v2 knows only writes made since it took over: wait for the client's next one.
                long writer = load.jvms.getFirst().process().pid();
                long deadline = System.currentTimeMillis() + WAIT_MILLIS;
                String provenance;
                while (!(provenance = execute("fsp:provenance /up/fs-core/jvm0-0/log"))
                                .contains("last written by pid " + writer + " ")
                        && System.currentTimeMillis() < deadline) {
                    Thread.sleep(20);
                }
                assertTrue(
                        "fsp:provenance should name the client JVM (pid " + writer + ") that wrote the file: "
                                + provenance,
                        provenance.contains("last written by pid " + writer + " "));
                reports.add(upgradeAndCheck(Layer.FS, v1, false));
            }
            List<String> verdicts = finish(load);
            awaitReplacedCollected();
            printPauses(Layer.FS, reports, verdicts);
        }
    }

    @Test
    public void ipcShmShouldBeReplacedWhileClientsKeepTheirChannels() throws Exception {
        replaceUnderLoad(Layer.IPC);
    }

    @Test
    public void schedPollingShouldBeReplacedWhileClientsWrite() throws Exception {
        replaceUnderLoad(Layer.SCHED);
    }

    @Test
    public void blockSchedShouldBeReplacedWhileClientsWrite() throws Exception {
        replaceUnderLoad(Layer.BLOCK_SCHED);
    }

    @Test
    public void blockNvmeShouldBeReplacedWhileClientsWrite() throws Exception {
        replaceUnderLoad(Layer.DEVICE);
    }

    @Test
    public void aBrokenFsCoreShouldBeRolledBackWithClientsUnaffected() throws Exception {
        Path broken = FspBundleSet.distribution()
                .resolve("../../../itests-fixtures/broken-fs-core/target/broken-fs-core-fixture-0.1.0-SNAPSHOT.jar")
                .normalize();
        assertTrue("no test fixture " + broken + "; build itests-fixtures", Files.isRegularFile(broken));
        try (Load load = Load.start(socket(), clientDirectory("broken-fs-core"))) {
            Bundle before = running(Layer.FS);
            String version = before.getVersion().toString();
            UpgradeReport r = liveUpgrade().upgrade(Layer.FS, broken.toUri().toString());

            assertEquals(r.summary(), UpgradeReport.Outcome.ROLLED_BACK, r.outcome());
            assertTrue(r.summary(), r.detail().contains("activation fails on purpose"));
            assertTrue(r.summary(), r.detail().contains(version + " is active again"));
            Bundle after = running(Layer.FS);
            assertEquals("the same bundle runs again", before.getBundleId(), after.getBundleId());
            assertNull("the broken bundle is gone", installed(Layer.FS.symbolicName(), "9.0.0.broken-fixture"));
            assertEquals(after, awaitService(FileSystemService.class).getBundle());
            List<String> verdicts = finish(load);
            System.out.printf("upgrade: broken fs-core rolled back: %s; clients: %s%n", r.summary(), verdicts);
        }
    }

    /** A layer without a second release: side by side to a re-versioned copy, back, again, then in place. */
    private void replaceUnderLoad(Layer layer) throws Exception {
        Path shipped = shippedJar(layer);
        Path work =
                Files.createTempDirectory(Path.of(System.getProperty("fsp.itests.work", "target/it-work")), "jars-");
        try (Load load = Load.start(socket(), clientDirectory(layer.shellName()))) {
            List<UpgradeReport> reports = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                Path copy = LayerJars.reversioned(shipped, work, "upgrade" + round);
                reports.add(upgradeAndCheck(layer, copy, round == 0));
                reports.add(upgradeAndCheck(layer, shipped, false));
            }
            UpgradeReport inPlace = upgradeAndCheck(layer, shipped, false);
            assertEquals(inPlace.summary(), UpgradeReport.IN_PLACE, inPlace.method());
            reports.add(inPlace);
            List<String> verdicts = finish(load);
            awaitReplacedCollected();
            if (Boolean.getBoolean("fsp.itests.heapReport")) {
                // -Dfsp.itests.heapReport=true: what holds the running version's loader (a check of the report itself).
                System.out.println(HeapRetention.explain(
                        heapDumpDirectory(), classOfRunning(layer).get().getPackageName() + "."));
            }
            printPauses(layer, reports, verdicts);
        }
    }

    /**
     * Upgrades {@code layer} to {@code jar} (through the shell command if {@code throughShell}, else the service) and
     * checks the new version runs; the old version's class is kept weakly for {@link #awaitReplacedCollected}.
     */
    private UpgradeReport upgradeAndCheck(Layer layer, Path jar, boolean throughShell) throws Exception {
        String expectedVersion = bundleVersion(jar);
        WeakReference<Class<?>> oldClass = classOfRunning(layer);
        String location = jar.toUri().toString();
        UpgradeReport report;
        if (throughShell) {
            String reply = execute("fsp:upgrade " + layer.shellName() + " " + location);
            assertTrue(reply, reply.contains(": upgraded in "));
            report = liveUpgrade().history().getLast();
            assertEquals(reply, report.summary());
        } else {
            report = liveUpgrade().upgrade(layer, location);
        }
        assertEquals(report.summary(), UpgradeReport.Outcome.UPGRADED, report.outcome());
        Bundle now = running(layer);
        assertEquals(report.summary(), expectedVersion, now.getVersion().toString());
        // The layers that can hand over without stopping first say so; without the header fsp:upgrade stops, then
        // starts.
        HandoverMethod expectedHandover =
                switch (layer) {
                    case SCHED, BLOCK_SCHED -> HandoverMethod.MAKE_BEFORE_BREAK;
                    case FS -> HandoverMethod.STANDBY;
                    default -> HandoverMethod.STOP_START;
                };
        assertEquals(
                layer + " hand-over",
                expectedHandover,
                HandoverMethod.ofHeader(now.getHeaders("").get(HandoverMethod.HEADER)));
        assertEquals(
                "one " + layer.symbolicName() + " installed after " + report.summary(), 1, count(layer.symbolicName()));
        replaced.add(Map.entry(oldClass, layer + " before " + report.summary()));
        return report;
    }

    /** A class loaded through the running bundle of {@code layer}, held weakly. */
    private WeakReference<Class<?>> classOfRunning(Layer layer) throws Exception {
        Bundle b = running(layer);
        BundleWiring wiring = b.adapt(BundleWiring.class);
        for (String resource : wiring.listResources(
                "/", "*.class", BundleWiring.LISTRESOURCES_RECURSE | BundleWiring.LISTRESOURCES_LOCAL)) {
            if (!resource.contains("package-info")) {
                String name = resource.substring(0, resource.length() - ".class".length())
                        .replace('/', '.');
                return new WeakReference<>(b.loadClass(name));
            }
        }
        throw new AssertionError("no classes in " + b);
    }

    /**
     * Every replaced version's class loader must be collected, within {@value #GC_WAIT_MILLIS} ms of GCs; checked once
     * the clients have stopped, so that no request of theirs is on a stack. No remedy is tried first: the thread
     * model ends every thread that ran a detached agent (its ownership rule), so nothing on a thread's stack or in a
     * thread-local keeps a replaced layer. When a loader survives, the test fails with the live FSP threads and, with
     * {@code -Dfsp.itests.heapReport=true}, what held it (HeapRetention's walk of a heap dump).
     */
    private void awaitReplacedCollected() throws InterruptedException {
        for (Map.Entry<WeakReference<Class<?>>, String> e : replaced) {
            awaitCollected(e.getKey(), e.getValue());
        }
        replaced.clear();
    }

    private void awaitCollected(WeakReference<Class<?>> ref, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + GC_WAIT_MILLIS;
        while (ref.get() != null) {
            if (System.currentTimeMillis() >= deadline) {
                // The heap walk is an opt-in diagnostic: it dumps the heap and reads it in a JVM of its own.
                String report = (Boolean.getBoolean("fsp.itests.heapReport")
                                ? HeapRetention.explain(heapDumpDirectory(), packageOf(ref))
                                : "(run with -Dfsp.itests.heapReport=true for a heap walk from the GC roots)\n")
                        + fspThreads();
                throw new AssertionError("the old class loader of " + what + " is still reachable after "
                        + GC_WAIT_MILLIS + " ms of GCs; what held it:\n" + report);
            }
            System.gc();
            Thread.sleep(50);
        }
    }

    /** The live threads of FSP's layers, for a retention report. */
    private static String fspThreads() {
        StringBuilder sb = new StringBuilder("live fsp threads:");
        Thread.getAllStackTraces().forEach((t, stack) -> {
            if (t.getName().startsWith("fsp-")) {
                sb.append("\n  ").append(t.getName()).append(stack.length > 0 ? " at " + stack[0] : "");
            }
        });
        return sb.toString();
    }

    /** The package of the class {@code ref} holds, taken in a frame of its own so that no local keeps the class. */
    private static String packageOf(WeakReference<Class<?>> ref) {
        Class<?> c = ref.get();
        return c == null ? "(collected meanwhile)" : c.getPackageName() + ".";
    }

    private static Path heapDumpDirectory() {
        return Path.of(System.getProperty("fsp.itests.work", "target/it-work"), "heap");
    }

    private static void printPauses(Layer layer, List<UpgradeReport> reports, List<String> verdicts) {
        List<Long> pauses = new ArrayList<>();
        List<Long> took = new ArrayList<>();
        for (UpgradeReport r : reports) {
            took.add(r.tookNanos());
            if (r.pauseNanos() >= 0) {
                pauses.add(r.pauseNanos());
            }
        }
        pauses.sort(null);
        took.sort(null);
        System.out.printf(
                "upgrade %s: %d upgrades, pause reported for %d: max %s, p99 %s; whole upgrade max %s; clients: %s%n",
                layer,
                reports.size(),
                pauses.size(),
                pauses.isEmpty() ? "-" : UpgradeReport.millis(pauses.getLast()),
                pauses.isEmpty() ? "-" : UpgradeReport.millis(percentile(pauses, 0.99)),
                UpgradeReport.millis(took.getLast()),
                verdicts);
        for (UpgradeReport r : reports) {
            System.out.println("  " + r.summary());
        }
    }

    private static long percentile(List<Long> sorted, double p) {
        return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(p * sorted.size()) - 1));
    }

    /** The jar of {@code layer} the distribution ships. */
    private static Path shippedJar(Layer layer) throws IOException {
        return FspBundleSet.shippedJar(layer.symbolicName().substring("org.fsp.".length()) + "-");
    }

    /** The Bundle-Version of {@code jar} as the framework prints it. */
    private static String bundleVersion(Path jar) throws IOException {
        return org.osgi.framework.Version.parseVersion(LayerJars.bundleVersion(jar))
                .toString();
    }

    private Path socket() throws InterruptedException {
        awaitService(FileSystemService.class);
        return Path.of(context.getProperty("fsp.socket.path"));
    }

    /** A fresh directory {@code /up/<name>} for one test's clients. */
    private String clientDirectory(String name) throws InterruptedException {
        try (FspClient setup = FspClient.connect(socket())) {
            if (setup.readdir("/").stream().noneMatch(e -> e.name().equals("up"))) {
                setup.mkdir("/up", 0755);
            }
            setup.mkdir("/up/" + name, 0755);
        } catch (IOException e) {
            throw new AssertionError("cannot prepare /up/" + name, e);
        }
        return "/up/" + name;
    }

    private Bundle running(Layer layer) {
        for (Bundle b : context.getBundles()) {
            if (layer.symbolicName().equals(b.getSymbolicName()) && b.getState() == Bundle.ACTIVE) {
                return b;
            }
        }
        throw new AssertionError("no active " + layer.symbolicName());
    }

    private Bundle installed(String symbolicName, String version) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())
                    && b.getVersion().toString().equals(version)) {
                return b;
            }
        }
        return null;
    }

    private int count(String symbolicName) {
        int n = 0;
        for (Bundle b : context.getBundles()) {
            n += symbolicName.equals(b.getSymbolicName()) ? 1 : 0;
        }
        return n;
    }

    private LiveUpgrade liveUpgrade() throws InterruptedException {
        return context.getService(awaitService(LiveUpgrade.class));
    }

    /** Runs one shell command line in a session of its own, as {@code bin/fsp shell -c} does. */
    /** The clients' verdicts; when one failed, the message carries what fsp:status said (fs-core names its error). */
    private List<String> finish(Load load) throws Exception {
        try {
            return load.finish();
        } catch (AssertionError e) {
            String status;
            try {
                status = execute("fsp:status");
            } catch (Exception statusFailed) {
                status = "<fsp:status failed: " + statusFailed + ">";
            }
            throw new AssertionError(e.getMessage() + "\nfsp:status then:\n" + status, e);
        }
    }

    private String execute(String commandLine) throws Exception {
        CommandProcessor processor = context.getService(awaitService(CommandProcessor.class));
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        CommandSession session = processor.createSession(System.in, out, out);
        try {
            return String.valueOf(session.execute(commandLine));
        } finally {
            session.close();
        }
    }

    private <T> ServiceReference<T> awaitService(Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        try {
            assertNotNull(
                    type.getSimpleName() + " not registered within " + WAIT_MILLIS + " ms",
                    tracker.waitForService(WAIT_MILLIS));
            return tracker.getServiceReference();
        } finally {
            tracker.close();
        }
    }

    /** The client JVMs of one test: started connected, finished with their verdicts (or killed on close). */
    private record Load(List<LoadClientJvm> jvms) implements AutoCloseable {

        static Load start(Path socket, String dir) throws Exception {
            List<LoadClientJvm> jvms = new ArrayList<>();
            for (int j = 0; j < CLIENT_JVMS; j++) {
                jvms.add(LoadClientJvm.start(
                        UpgradeLoadClient.class,
                        "upgrade-client-jvm-" + j,
                        socket.toString(),
                        dir,
                        Integer.toString(j),
                        Integer.toString(THREADS_PER_JVM)));
            }
            for (LoadClientJvm jvm : jvms) {
                jvm.awaitLine("connected", 60_000);
            }
            return new Load(jvms);
        }

        List<String> finish() throws Exception {
            List<String> verdicts = new ArrayList<>();
            for (LoadClientJvm jvm : jvms) {
                verdicts.add(jvm.finish(120_000));
            }
            return verdicts;
        }

        @Override
        public void close() {
            jvms.forEach(j -> j.process().destroyForcibly());
        }
    }
}
