package org.fsp.bench.eval;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.fsp.bench.ChildProcesses;

/**
 * {@code fsp bench apps}: unmodified Java applications on FSP through its java.nio provider against the same JVM code
 * on ext4 and tmpfs, in one run (issue 13). It starts fspd ({@code bin/fspd --headless}, io_uring, fresh image), ext4
 * on a loop-mounted image on the same disk and tmpfs as {@code fsp bench eval} does, then one client JVM per file
 * system running {@link AppsChild}: on FSP with FSP's provider as the JVM's default file system provider (what
 * {@code bin/fsp-java} sets) and its directory under {@code /fsp}, on the kernel file systems with the platform
 * provider. Workloads: H2 TPC-B-like transactions with durable commits, Lucene indexing and search, and
 * {@code Files.readAllBytes} / {@code Files.write} of 4 KiB files and {@code Files.readAttributes}. Each is prepared
 * and warmed up in every JVM, then timed round by round, alternating which file system goes first; the table, the
 * ratios and the verdicts against the targets are printed and written with {@code results.json} and
 * {@code ratios.png} to the output directory; everything started is stopped and removed, also when interrupted.
 * Needs root (mount, losetup), {@code mkfs.ext4}, and a built distribution for {@code bin/fspd}.
 *
 * <p>Usage: {@code AppsBench [--out DIR] [--rounds N] [--seconds S] [--size 2G] [--only w1,w2] [--fspd PATH]
 * [--work DIR] [--profile]}. {@code --profile} records JFR in FSP's client JVM over its whole life, into
 * {@code DIR/jfr/apps-fsp-client.jfr}.
 */
public final class AppsBench {

    /** One application workload as the table shows it, and its target from issue 13 (against ext4). */
    record App(String name, String params, Metric metric, Goal goal) {}

    static final List<App> APPS = List.of(
            new App(
                    "h2-tpcb",
                    "H2 2.4.240 (MVStore), TPC-B-like transaction (3 updates, 1 select, 1 insert) on 4 branches, 40"
                            + " tellers, 4000 accounts, one connection; commit then CHECKPOINT SYNC (durable) each",
                    Metric.OPS_PER_SECOND,
                    Goal.atLeast(1.5)),
            new App(
                    "lucene-index",
                    "Lucene 10.3.2, FSDirectory.open (MMapDirectory), StandardAnalyzer, 16 MB RAM buffer, documents of"
                            + " 20-220 words; commit (fsync) every 1000 documents and at the end, in the time",
                    Metric.OPS_PER_SECOND,
                    Goal.atLeast(1.0)),
            new App(
                    "lucene-search",
                    "Lucene 10.3.2, 20,000 documents merged to 1 segment, term / boolean / phrase queries, top 10,"
                            + " one thread; reader opened before the timing",
                    Metric.OPS_PER_SECOND,
                    Goal.atLeast(1.0)),
            new App(
                    "readAllBytes",
                    "Files.readAllBytes of 1000 files of 4 KiB in turn",
                    Metric.MICROS_PER_OP,
                    Goal.atMost(0.5)),
            new App(
                    "write",
                    "Files.write of 4 KiB over 1000 existing files in turn (create/truncate/write/close, no fsync)",
                    Metric.MICROS_PER_OP,
                    Goal.atMost(0.5)),
            new App(
                    "readAttributes",
                    "Files.readAttributes(path, BasicFileAttributes.class) of 1000 files in turn",
                    Metric.MICROS_PER_OP,
                    Goal.atMost(0.5)));

    /** Command-line options with their defaults. */
    static final class Options extends BenchOptions {
        List<App> apps = APPS;

        Options() {
            super(2, 3, true);
        }

        static Options parse(String[] args) {
            Options o = new Options();
            o.parse(args, 0, "fsp bench apps", "apps-", "fsp-apps-");
            return o;
        }

        @Override
        boolean option(String name, String value) {
            if (!name.equals("--only")) {
                return false;
            }
            List<String> names = Arrays.asList(value.split(","));
            for (String n : names) {
                if (APPS.stream().noneMatch(app -> app.name().equals(n))) {
                    throw new IllegalArgumentException("unknown workload '" + n + "': use some of "
                            + APPS.stream().map(App::name).toList());
                }
            }
            apps = APPS.stream().filter(app -> names.contains(app.name())).toList();
            return true;
        }
    }

    private final Options o;
    private final List<Row> rows = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();
    private final Closer closer = new Closer();
    private final long began = System.nanoTime();
    private final String loadAtStart = EvalBench.loadAverage();

    private AppsBench(Options o) {
        this.o = o;
    }

    public static void main(String[] args) throws Exception {
        Options o = BenchOptions.parseOrExit(
                "fsp bench apps",
                "fsp bench apps [--out DIR] [--rounds N] [--seconds S] [--size 2G]"
                        + " [--only h2-tpcb,lucene-index,...] [--fspd PATH] [--work DIR] [--profile]",
                Options::parse,
                args);
        BenchOptions.exitIfMissing("fsp bench apps", o.missingFspd());
        System.setProperty("java.awt.headless", "true");
        new AppsBench(o).run();
    }

    private void run() throws Exception {
        Files.createDirectories(o.out);
        Files.createDirectories(o.work);
        Path logs = o.out.resolve("logs");
        Files.createDirectories(logs);
        long bytes = EvalBench.parseSize(o.size);
        if (!closer.runCleaningUp(o.work, "apps-cleanup", () -> {
            progress("starting fspd (io_uring, fresh " + o.size + " image), ext4 (loop, " + o.size + ") and tmpfs in "
                    + o.work);
            Fspd fspd = closer.add(Fspd.start(o.fspd, o.work, "fsp-disk", "io_uring", o.size));
            KernelMount ext4 = closer.add(KernelMount.ext4(o.work, bytes));
            KernelMount tmpfs = closer.add(KernelMount.tmpfs(o.work, bytes));
            List<String> fspFlags = new ArrayList<>(List.of(
                    "-Djava.nio.file.spi.DefaultFileSystemProvider=org.fsp.client.nio.FspDefaultFileSystemProvider",
                    "-Dfsp.socket=" + fspd.socket.toAbsolutePath(),
                    "-Dfsp.prefix=/fsp"));
            if (o.profile) {
                Files.createDirectories(o.out.resolve("jfr"));
                fspFlags.add("-XX:StartFlightRecording=settings=profile,filename="
                        + o.out.resolve("jfr/apps-fsp-client.jfr").toAbsolutePath());
            }
            Client fsp = closer.add(Client.start("FSP", Path.of("/fsp/apps"), fspFlags, logs));
            Client onExt4 = closer.add(Client.start("ext4", ext4.mountPoint.resolve("apps"), List.of(), logs));
            Client onTmpfs = closer.add(Client.start("tmpfs", tmpfs.mountPoint.resolve("apps"), List.of(), logs));
            for (App app : o.apps) {
                try {
                    measure(app, fsp, onExt4, onTmpfs);
                } catch (Exception e) {
                    if (closer.interrupted) {
                        throw new IllegalStateException("interrupted: everything started has been stopped", e);
                    }
                    String why = app.name() + " failed: " + e.getMessage();
                    failures.add(why);
                    progress("FAILED: " + why);
                }
            }
        })) {
            return;
        }
        write();
    }

    private void measure(App app, Client fsp, Client... kernels) throws IOException {
        List<Client> clients = new ArrayList<>();
        clients.add(fsp);
        clients.addAll(List.of(kernels));
        Map<String, List<Measurement>> results = new LinkedHashMap<>();
        for (Client c : clients) {
            progress(app.name() + ": preparing and warming up on " + c.name);
            c.prepare(app.name());
            c.run(app.name(), -1, Math.max(0.5, o.seconds / 2));
            results.put(c.name, new ArrayList<>());
        }
        for (int round = 0; round < o.rounds; round++) {
            for (int k = 0; k < clients.size(); k++) {
                Client c = clients.get((k + round) % clients.size());
                Measurement m = c.run(app.name(), round, o.seconds);
                results.get(c.name).add(m);
                progress(String.format(
                        Locale.ROOT,
                        "%s: round %d/%d on %-5s %s %s",
                        app.name(),
                        round + 1,
                        o.rounds,
                        c.name,
                        Report.number(app.metric().of(m)),
                        app.metric().unit));
            }
        }
        for (Client k : kernels) {
            Row row = new Row(
                    "apps",
                    app.name(),
                    app.params(),
                    app.metric(),
                    k.name,
                    results.get(fsp.name),
                    results.get(k.name),
                    k.name.equals("ext4") ? app.goal() : null);
            rows.add(row);
            progress(String.format(
                    Locale.ROOT,
                    "%s: FSP %s, %s %s %s: FSP/%s %.2fx %s",
                    app.name(),
                    Report.number(row.fspValue()),
                    k.name,
                    Report.number(row.kernelValue()),
                    app.metric().unit,
                    k.name,
                    row.ratio(),
                    row.goal() == null ? "" : row.goal().label() + " " + row.verdict()));
        }
    }

    private void write() throws IOException {
        String table = Report.withFailures(Report.table(rows), failures);
        Map<String, String> run = Report.run(o);
        run.put("loadavg", EvalBench.loadAverage());
        run.put("loadavgAtStart", loadAtStart);
        run.put("failures", String.join("; ", failures));
        Files.writeString(
                o.out.resolve("table.md"),
                "Command: `" + o.command + "`\n\nFigures: medians of " + o.rounds + " rounds of " + o.seconds
                        + " s; load average at start " + loadAtStart + ", at the end " + EvalBench.loadAverage()
                        + ".\n\n" + table);
        Files.writeString(o.out.resolve("results.json"), Report.json(rows, run));
        List<Path> charts = Report.charts(rows, o.out, "ratios.png", "issue 13");
        Report.printSummary(o, table, charts, rows);
    }

    private void progress(String message) {
        System.err.printf(Locale.ROOT, "[%6.1fs] %s%n", (System.nanoTime() - began) / 1e9, message);
    }

    /**
     * One client JVM running {@link AppsChild} on one file system, with this JVM's class path (the applications'
     * jars, FS Lib) and the JVM flags FSP's client needs; its stderr goes to {@code logs/apps-NAME.log}.
     */
    static final class Client implements AutoCloseable {

        /** How long one command may take beyond its timed seconds (a prepare builds a 20,000-document index). */
        private static final long SLACK_SECONDS = 300;

        final String name;
        private final Process process;
        private final PrintStream in;
        private final BufferedReader out;
        private final Path log;

        private Client(String name, Process process, Path log) {
            this.name = name;
            this.process = process;
            this.log = log;
            this.in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static Client start(String name, Path dir, List<String> flags, Path logs) throws IOException {
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx1g",
                    "--enable-native-access=ALL-UNNAMED",
                    "--sun-misc-unsafe-memory-access=allow"));
            command.addAll(flags);
            command.addAll(
                    List.of("-cp", System.getProperty("java.class.path"), AppsChild.class.getName(), dir.toString()));
            Path log = logs.resolve("apps-" + name + ".log");
            Process p = ChildProcesses.start(new ProcessBuilder(command).redirectError(log.toFile()));
            return new Client(name, p, log);
        }

        void prepare(String workload) throws IOException {
            answer("prepare " + workload, 0);
        }

        Measurement run(String workload, int round, double seconds) throws IOException {
            return AppsChild.decode(
                    answer(String.format(Locale.ROOT, "run %s %d %s", workload, round, seconds), seconds)
                            .substring("@@RESULT ".length()));
        }

        /** Sends one command and returns its answer line; a child that fails, dies or hangs fails with its log. */
        private String answer(String command, double seconds) throws IOException {
            in.println(command);
            long limit = (long) seconds + SLACK_SECONDS;
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(TimeUnit.SECONDS.toMillis(limit));
                    process.destroyForcibly();
                } catch (InterruptedException answered) {
                    // the answer came in time
                }
            });
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    if (line.startsWith("@@RESULT ") || line.equals("@@OK")) {
                        return line;
                    }
                    if (line.startsWith("@@ERROR")) {
                        throw new IOException(name + ": '" + command + "': "
                                + line.substring(7).strip() + " (stack trace in " + log + ")");
                    }
                }
            } finally {
                watchdog.interrupt();
            }
            throw new IOException(name + ": client JVM ended (or was stopped after " + limit + " s) during '" + command
                    + "'; see " + log);
        }

        @Override
        public void close() {
            in.println("quit");
            in.close();
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }
}
