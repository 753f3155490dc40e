package org.fsp.bench.upgrade;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.fsp.bench.BenchHost;
import org.fsp.bench.ChildProcesses;
import org.fsp.client.FspClient;
import org.fsp.support.LayerJars;

/**
 * The pause per layer upgrade under load (issue 7's benchmark). Starts {@code fspd} of the distribution (RAM driver by
 * default, or {@code --driver io_uring} on an image in a temporary directory) and client JVMs
 * ({@link UpgradeLoadClient}: pwrite + fsync through a handle kept open, stat, no-op, read-back, every operation timed
 * and its data verified). First a baseline: the same load while the bench runs a read-only shell command
 * ({@code fsp:upgrades}) as many times as it will upgrade each layer, so that a baseline window holds everything an
 * upgrade window holds (above all a {@code bin/fsp shell} JVM starting on the same cores) except the upgrade. Then, per
 * layer, N upgrades through {@code bin/fsp shell -c "fsp:upgrade LAYER JAR-URL"}, alternating between the shipped jar
 * and another version (fs-core: the shipped provenance version {@code upgrades/fs-core-provenance.jar}; the other
 * layers: a copy of the shipped jar with another Bundle-Version), spaced out so that each upgrade's effect is
 * separable.
 *
 * <p>Per upgrade it keeps the pause the daemon reported (the layer above's measurement, parsed from the reply) and the
 * client-seen pause: the longest operation of any client that overlapped the upgrade window (from starting the shell
 * command to its reply). It prints, per layer, p50/p99/max of both over the upgrades next to the baseline windows'
 * longest operations, failed requests and failed upgrades, and PASS/MISS against issue 7's targets on p99 (fs-core at
 * most 5 ms; sched-polling and block-sched at most 1 ms; ipc-shm and block-nvme have none). It writes
 * {@code results.json} (every figure, every upgrade) and {@code table.txt} to {@code --out}. A failed request, a wrong
 * byte or an upgrade that did not upgrade is printed at once and makes the bench fail at the end.
 *
 * <p>Usage: {@code UpgradeBench [--upgrades N] [--layers a,b] [--driver ram|io_uring] [--clients 1|2] [--spacing-ms
 * MS] [--out DIR] [--dist DIR]}; {@code --dist} defaults to {@code fsp.home} (bin/fsp sets it). An odd N is followed by
 * one more upgrade back to the shipped jar that is not counted.
 */
public final class UpgradeBench {

    /** The layers in the order the shell lists them. */
    static final List<String> LAYERS = List.of("ipc-shm", "sched-polling", "fs-core", "block-sched", "block-nvme");

    /** Issue 7's targets for the pause of one upgrade, milliseconds; layers without one are reported only. */
    static final Map<String, Double> TARGET_MILLIS = Map.of("fs-core", 5.0, "sched-polling", 1.0, "block-sched", 1.0);

    static final String BASELINE = "baseline";
    private static final long SHELL_TIMEOUT_SECONDS = 180;

    /** One shell command run while the clients were loading: the bench's clock before it started and after it ended. */
    record Window(
            String phase, int index, long startNanos, long endNanos, String jar, UpgradeReply reply, String error) {

        boolean upgraded() {
            return reply != null && reply.upgraded();
        }
    }

    private static final class Options {
        Path dist = BenchHost.distribution();
        int upgrades = 20;
        List<String> layers = LAYERS;
        String driver = "ram";
        int clients = 2;
        long spacingMillis = 300;
        Path out;
    }

    private final Options options;
    private final Path bin;
    private final Path work;
    private final Path socket;
    private final List<Window> windows = new ArrayList<>();

    private UpgradeBench(Options options, Path work) {
        this.options = options;
        this.bin = options.dist.resolve("bin").toAbsolutePath();
        this.work = work;
        this.socket = work.resolve("fsp.sock");
    }

    public static void main(String[] args) throws Exception {
        Options o = parse(args);
        Path work = Files.createTempDirectory("fsp-upgrade-bench-");
        UpgradeBench bench = new UpgradeBench(o, work);
        try {
            bench.run();
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value after " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--dist" -> o.dist = Path.of(v);
                case "--upgrades" -> o.upgrades = Integer.parseInt(v);
                case "--layers" -> o.layers = List.of(v.split(","));
                case "--driver" -> o.driver = v;
                case "--clients" -> o.clients = Integer.parseInt(v);
                case "--spacing-ms" -> o.spacingMillis = Long.parseLong(v);
                case "--out" -> o.out = Path.of(v);
                default -> usage("unknown option " + a);
            }
        }
        for (String layer : o.layers) {
            if (!LAYERS.contains(layer)) {
                usage("unknown layer '" + layer + "' (expected some of " + String.join(",", LAYERS) + ")");
            }
        }
        if (!o.driver.equals("ram") && !o.driver.equals("io_uring")) {
            usage("--driver is ram or io_uring");
        }
        if (o.upgrades < 1 || o.clients < 1) {
            usage("--upgrades and --clients must be at least 1");
        }
        if (o.out == null) {
            String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                    .withZone(ZoneOffset.UTC)
                    .format(Instant.now());
            o.out = Path.of("fsp-bench-results", "upgrade-" + stamp);
        }
        return o;
    }

    private static void usage(String why) {
        System.err.println("fsp bench upgrade: " + why);
        System.err.println("usage: fsp bench upgrade [--upgrades N] [--layers a,b] [--driver ram|io_uring]"
                + " [--clients N] [--spacing-ms MS] [--out DIR] [--dist DIR]");
        System.exit(2);
    }

    private void run() throws Exception {
        Map<String, Object> runInfo = new LinkedHashMap<>();
        runInfo.put("started", Instant.now().toString());
        runInfo.put("loadAverageAtStart", BenchHost.loadAverage());
        runInfo.put("driver", options.driver);
        runInfo.put("clientJvms", options.clients);
        runInfo.put("upgradesPerLayer", options.upgrades);
        runInfo.put("spacingMillis", options.spacingMillis);
        runInfo.put("cpus", Runtime.getRuntime().availableProcessors());

        Process fspd = startFspd();
        List<ClientJvm> clients = new ArrayList<>();
        List<UpgradeReport.ClientResult> results = new ArrayList<>();
        try {
            awaitServer(fspd);
            runInfo.put("fspdPid", fspd.pid());
            try (FspClient setup = FspClient.connect(socket, 1)) {
                setup.mkdir("/upgrade-bench", 0755);
            }
            for (int id = 0; id < options.clients; id++) {
                clients.add(ClientJvm.start(socket, "/upgrade-bench", id, work));
            }
            for (ClientJvm c : clients) {
                c.awaitReady();
            }
            System.out.printf(
                    "upgrade bench: fspd pid %d (%s driver), %d client JVMs, %d upgrades per layer of %s, %d ms apart;"
                            + " load average %s%n",
                    fspd.pid(),
                    options.driver,
                    clients.size(),
                    options.upgrades,
                    String.join(",", options.layers),
                    options.spacingMillis,
                    runInfo.get("loadAverageAtStart"));

            Map<String, List<Path>> jarsOfLayers = jarsOfLayers();
            phase(clients, BASELINE);
            for (int i = 0; i < options.upgrades; i++) {
                windows.add(shellWindow(BASELINE, i, "fsp:upgrades", null));
                Thread.sleep(options.spacingMillis);
            }
            System.out.printf("  %s: %d windows of fsp:upgrades%n", BASELINE, options.upgrades);
            for (String layer : options.layers) {
                upgradeLayer(clients, layer, jarsOfLayers.get(layer));
            }
            phase(clients, "end");
            for (ClientJvm c : clients) {
                results.add(c.finish());
            }
        } finally {
            clients.forEach(c -> c.process.destroyForcibly());
            stop(fspd);
        }
        runInfo.put("loadAverageAtEnd", BenchHost.loadAverage());
        new UpgradeReport(options.layers, options.out, windows).write(runInfo, results);
    }

    /**
     * Copies of the jars each layer is upgraded between, made before the first upgrade: the distribution's bundle tree
     * is rewritten by every build, and a jar that vanished in the middle of a run would fail that upgrade. Index 0 is
     * the shipped jar, then one other version per round.
     */
    private Map<String, List<Path>> jarsOfLayers() throws IOException {
        Path jars = Files.createDirectories(work.resolve("jars"));
        Map<String, List<Path>> byLayer = new LinkedHashMap<>();
        for (String layer : options.layers) {
            Path shipped = LayerJars.shipped(options.dist, layer);
            Path shippedCopy = Files.copy(shipped, jars.resolve(shipped.getFileName()));
            List<Path> list = new ArrayList<>(List.of(shippedCopy));
            if (layer.equals("fs-core")) {
                Path v2 = options.dist.resolve("upgrades/fs-core-provenance.jar");
                Path v2Copy = Files.copy(v2, jars.resolve(v2.getFileName()));
                for (int round = 0; round < (options.upgrades + 1) / 2; round++) {
                    list.add(v2Copy);
                }
            } else {
                for (int round = 0; round < (options.upgrades + 1) / 2; round++) {
                    list.add(LayerJars.reversioned(shippedCopy, jars, "bench" + round));
                }
            }
            byLayer.put(layer, list);
        }
        return byLayer;
    }

    private void upgradeLayer(List<ClientJvm> clients, String layer, List<Path> jars) throws Exception {
        Path shipped = jars.getFirst();
        List<Path> others = jars.subList(1, jars.size());
        phase(clients, layer);
        int failed = 0;
        for (int i = 0; i < options.upgrades; i++) {
            Path jar = i % 2 == 0 ? others.get(i / 2) : shipped;
            Window w = shellWindow(layer, i, "fsp:upgrade " + layer + " " + jar.toUri(), jar);
            windows.add(w);
            if (!w.upgraded()) {
                failed++;
                System.err.printf(
                        "UPGRADE FAILED: %s #%d to %s: %s%n",
                        layer, i, jar, w.reply != null ? w.reply.line() : w.error);
            }
            Thread.sleep(options.spacingMillis);
        }
        if (options.upgrades % 2 == 1) {
            phase(clients, "restore " + layer);
            Window back = shellWindow("restore " + layer, 0, "fsp:upgrade " + layer + " " + shipped.toUri(), shipped);
            if (!back.upgraded()) {
                System.err.printf("UPGRADE FAILED: %s back to the shipped jar: %s%n", layer, back);
            }
            Thread.sleep(options.spacingMillis);
        }
        System.out.printf("  %s: %d upgrades, %d failed%n", layer, options.upgrades, failed);
    }

    /** Runs one {@code bin/fsp shell -c} command, timed on the bench's clock; its reply parsed when it upgraded. */
    private Window shellWindow(String phase, int index, String command, Path jar) throws Exception {
        Path out = work.resolve("shell.out");
        ProcessBuilder pb = new ProcessBuilder(
                        bin.resolve("fsp").toString(), "--socket=" + socket, "shell", "-c", command)
                .redirectErrorStream(true)
                .redirectOutput(out.toFile());
        long t0 = System.nanoTime();
        Process p = ChildProcesses.start(pb);
        boolean exited = p.waitFor(SHELL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        long t1 = System.nanoTime();
        String jarName = jar == null ? null : jar.getFileName().toString();
        if (!exited) {
            p.destroyForcibly();
            return new Window(phase, index, t0, t1, jarName, null, "no reply within " + SHELL_TIMEOUT_SECONDS + " s");
        }
        String reply = Files.readString(out);
        if (p.exitValue() != 0) {
            return new Window(phase, index, t0, t1, jarName, null, "exit " + p.exitValue() + ": " + reply.strip());
        }
        if (jar == null) {
            return new Window(phase, index, t0, t1, null, null, null);
        }
        try {
            return new Window(phase, index, t0, t1, jarName, UpgradeReply.parse(reply), null);
        } catch (IllegalArgumentException e) {
            return new Window(phase, index, t0, t1, jarName, null, e.getMessage());
        }
    }

    private Process startFspd() throws IOException {
        List<String> cmd =
                new ArrayList<>(List.of(bin.resolve("fspd").toString(), "--headless", "--socket", socket.toString()));
        if (options.driver.equals("ram")) {
            cmd.addAll(List.of("--driver", "ram"));
        } else {
            cmd.addAll(List.of(
                    "--driver", "io_uring", "--device", work.resolve("fsp.img").toString(), "--size", "512M"));
        }
        return ChildProcesses.start(new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("fspd.out").toFile()));
    }

    private void awaitServer(Process fspd) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (!fspd.isAlive()) {
                throw new IOException("fspd exited: "
                        + Files.readString(work.resolve("fspd.out")).strip());
            }
            if (Files.exists(socket)) {
                try (FspClient probe = FspClient.connect(socket, 1)) {
                    probe.noop();
                    return;
                } catch (IOException notYet) {
                    // the socket file appears before the server accepts
                }
            }
            Thread.sleep(100);
        }
        throw new IOException("fspd did not accept clients within 120 s");
    }

    private static void stop(Process fspd) throws InterruptedException {
        fspd.destroy(); // SIGTERM: Felix stops every layer in order
        if (!fspd.waitFor(60, TimeUnit.SECONDS)) {
            fspd.destroyForcibly();
        }
    }

    private static void phase(List<ClientJvm> clients, String name) throws IOException {
        for (ClientJvm c : clients) {
            c.send("phase " + name);
        }
    }

    // ---- results

    /** What one client JVM reported at the end: per phase its histogram figures, and its timeline. */
    /** An {@link UpgradeLoadClient} process, its output lines collected by a reader thread. */
    private static final class ClientJvm {
        final int id;
        final Process process;
        final Path timelineFile;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final Thread reader;

        private ClientJvm(int id, Process process, Path timelineFile) {
            this.id = id;
            this.process = process;
            this.timelineFile = timelineFile;
            this.reader = Thread.ofPlatform().daemon().start(() -> {
                try (var in = process.inputReader(StandardCharsets.UTF_8)) {
                    for (String line; (line = in.readLine()) != null; ) {
                        if (line.startsWith("FAILED")) {
                            System.err.println("CLIENT " + id + " " + line); // at once, loudly
                        }
                        lines.add(line);
                    }
                } catch (IOException e) {
                    lines.add("FAILED reading the client's output: " + e);
                }
            });
        }

        static ClientJvm start(Path socket, String dir, int id, Path work) throws IOException {
            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
            if (System.getProperty("fsp.client.spinMicros") != null) {
                cmd.add("-Dfsp.client.spinMicros=" + System.getProperty("fsp.client.spinMicros"));
            }
            Path timeline = work.resolve("client" + id + ".timeline");
            cmd.addAll(List.of(
                    "-cp",
                    System.getProperty("java.class.path"),
                    UpgradeLoadClient.class.getName(),
                    socket.toString(),
                    dir,
                    Integer.toString(id),
                    timeline.toString()));
            Process p = ChildProcesses.start(new ProcessBuilder(cmd).redirectErrorStream(true));
            return new ClientJvm(id, p, timeline);
        }

        void awaitReady() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            List<String> seen = new ArrayList<>();
            while (System.nanoTime() < deadline) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line != null) {
                    seen.add(line);
                    if (line.equals("ready")) {
                        return;
                    }
                }
                if (line == null && !process.isAlive() && lines.isEmpty()) {
                    break;
                }
            }
            throw new IOException("client " + id + " did not get ready: " + String.join("\n", seen));
        }

        void send(String command) throws IOException {
            OutputStream in = process.getOutputStream();
            in.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        UpgradeReport.ClientResult finish() throws Exception {
            send("stop");
            if (!process.waitFor(300, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("client " + id + " did not finish within 300 s");
            }
            reader.join(10_000);
            Map<String, UpgradeReport.PhaseFigures> phases = new LinkedHashMap<>();
            long ops = -1, failures = -1, verified = -1;
            for (String line : lines) {
                String[] f = line.split(" ");
                if (f[0].equals("PHASE") && f.length == 8) {
                    long[] v = Arrays.stream(f, 2, 8).mapToLong(Long::parseLong).toArray();
                    phases.put(
                            f[1].replace('_', ' '), new UpgradeReport.PhaseFigures(v[0], v[1], v[2], v[3], v[4], v[5]));
                } else if (f[0].equals("RESULT") && f.length == 7) {
                    ops = Long.parseLong(f[2]);
                    failures = Long.parseLong(f[4]);
                    verified = Long.parseLong(f[6]);
                }
            }
            if (ops < 0) {
                throw new IOException("client " + id + " printed no result (exit " + process.exitValue() + "): "
                        + String.join("\n", lines));
            }
            return new UpgradeReport.ClientResult(
                    id, phases, ops, failures, verified, LatencyTimeline.readFrom(timelineFile), process.exitValue());
        }
    }
}
