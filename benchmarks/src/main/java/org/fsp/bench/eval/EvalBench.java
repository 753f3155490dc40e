package org.fsp.bench.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code fsp bench micro|meta|cached|filebench|channel|all}: FSP against the kernel file systems of the same machine in
 * one run (issue 8). It starts what it needs under a work directory: fspd ({@code bin/fspd --headless}) on a fresh
 * image, ext4 on a loop-mounted image of the same size on the same disk, tmpfs, and for the channel experiment fspd on
 * its RAM driver; runs every workload through FS Lib on FSP and through java.nio on the kernel file systems, round by
 * round, alternating which goes first; prints a table of both figures, their ratio and the verdict against the
 * issue's targets; writes {@code results.json}, {@code table.md} and PNG charts to the output directory; and
 * unmounts, detaches and stops everything it started, also when interrupted. Needs root (mount, losetup),
 * {@code mkfs.ext4}, and a built distribution for {@code bin/fspd}.
 *
 * <p>Usage: {@code EvalBench SUITE [--out DIR] [--rounds N] [--threads 1,2,4] [--seconds S] [--files N]
 * [--size 2G] [--fspd PATH] [--work DIR] [--only NAME,...] [--profile]}. {@code --only} keeps the workloads whose
 * name contains one of the names (an A/B of one or two rows). {@code --profile} records JFR (fspd with jcmd, and this JVM)
 * for FSP's first round of each workload, into {@code DIR/jfr/}.
 */
public final class EvalBench {

    static final List<String> SUITES = List.of("micro", "meta", "cached", "filebench", "channel");

    private final Options o;
    private final List<Row> rows = new ArrayList<>();
    /** Workloads that failed, with why: reported beside the table instead of ending the run. */
    private final List<String> failures = new ArrayList<>();

    private final Closer closer = new Closer();
    private final long began = System.nanoTime();
    private final String loadAtStart = loadAverage();
    private Fspd fspdForProfile;

    private EvalBench(Options o) {
        this.o = o;
    }

    /** Command-line options with their defaults. */
    static final class Options extends BenchOptions {
        List<String> suites;
        int[] threads = {1, 2, 4};
        int files = 1000;
        /** Workloads whose name contains one of these (e.g. "fileserver", "mkdir"); empty: every workload. */
        List<String> only = List.of();

        Options() {
            super(3, 2, true);
        }

        static Options parse(String[] args) {
            if (args.length == 0 || args[0].startsWith("-")) {
                throw new IllegalArgumentException("first argument: the suite, one of " + SUITES + " or all");
            }
            Options o = new Options();
            String suite = args[0];
            if (suite.equals("all") || suite.equals("eval")) {
                o.suites = SUITES;
            } else if (SUITES.contains(suite)) {
                o.suites = List.of(suite);
            } else {
                throw new IllegalArgumentException("unknown suite '" + suite + "': use one of " + SUITES + " or all");
            }
            o.parse(args, 1, "fsp bench", "", "fsp-eval-");
            return o;
        }

        @Override
        boolean option(String name, String value) {
            switch (name) {
                case "--threads" ->
                    threads = Arrays.stream(value.split(","))
                            .mapToInt(Integer::parseInt)
                            .toArray();
                case "--files" -> files = Integer.parseInt(value);
                case "--only" -> only = List.of(value.split(","));
                default -> {
                    return false;
                }
            }
            return true;
        }

        int maxThreads() {
            return Math.max(4, Arrays.stream(threads).max().orElse(1));
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = BenchOptions.parseOrExit(
                "fsp bench",
                "fsp bench micro|meta|cached|filebench|channel|all [--out DIR] [--rounds N]"
                        + " [--threads 1,2,4] [--seconds S] [--files N] [--size 2G] [--fspd PATH] [--work DIR]"
                        + " [--only NAME,...] [--profile]",
                Options::parse,
                args);
        BenchOptions.exitIfMissing("fsp bench", o.missingFspd());
        System.setProperty("java.awt.headless", "true");
        new EvalBench(o).run();
    }

    private void run() throws Exception {
        Files.createDirectories(o.out);
        Files.createDirectories(o.work);
        long bytes = parseSize(o.size);
        if (!closer.runCleaningUp(o.work, "eval-cleanup", () -> {
            List<String> disk =
                    o.suites.stream().filter(s -> !s.equals("channel")).toList();
            if (!disk.isEmpty()) {
                progress("starting fspd (io_uring, fresh " + o.size + " image), ext4 (loop, " + o.size
                        + ") and tmpfs in " + o.work);
                Fspd fspd = closer.add(Fspd.start(o.fspd, o.work, "fsp-disk", "io_uring", o.size));
                fspdForProfile = fspd;
                FileApi fsp = closer.add(fspd.connect(o.maxThreads()));
                KernelMount ext4 = closer.add(KernelMount.ext4(o.work, bytes));
                KernelMount tmpfs = closer.add(KernelMount.tmpfs(o.work, bytes));
                FileApi ext4Api = closer.add(ext4.api());
                FileApi tmpfsApi = closer.add(tmpfs.api());
                for (String suite : disk) {
                    switch (suite) {
                        case "micro" -> run(Workloads.paperMicro(o.files), fsp, ext4Api);
                        case "meta" -> {
                            run(Workloads.stat(50_000, 1000), fsp, ext4Api, tmpfsApi);
                            run(Workloads.createUnlink(2000), fsp, ext4Api, tmpfsApi);
                            run(Workloads.mkdir(2000), fsp, ext4Api, tmpfsApi);
                            run(Workloads.readdir(10_000, 10), fsp, ext4Api, tmpfsApi);
                        }
                        case "cached" -> {
                            run(Workloads.cached(false, 100_000, 16 << 20), fsp, tmpfsApi, ext4Api);
                            run(Workloads.cached(true, 100_000, 16 << 20), fsp, tmpfsApi, ext4Api);
                        }
                        case "filebench" -> {
                            for (Workload w : Filebench.all(400, o.threads, o.seconds)) {
                                run(w, fsp, ext4Api);
                            }
                        }
                        default -> throw new IllegalStateException(suite);
                    }
                }
                closer.closeAll();
            }
            if (o.suites.contains("channel")) {
                progress("starting fspd (RAM driver, 1G) and tmpfs in " + o.work);
                Fspd ram = closer.add(Fspd.start(o.fspd, o.work, "fsp-ram", "ram", "1G"));
                fspdForProfile = ram;
                FileApi fsp = closer.add(ram.connect(o.maxThreads()));
                KernelMount tmpfs = closer.add(KernelMount.tmpfs(o.work, bytes));
                FileApi tmpfsApi = closer.add(tmpfs.api());
                for (Workload w : Workloads.channels(4, o.seconds)) {
                    run(w, fsp, tmpfsApi);
                }
                closer.closeAll();
            }
        })) {
            return;
        }
        write();
    }

    /** Runs one workload (see {@link #measure}); a failure is reported and the run goes on with the next workload. */
    private void run(Workload w, FileApi fsp, FileApi... kernels) {
        if (!o.only.isEmpty() && o.only.stream().noneMatch(w.name()::contains)) {
            return;
        }
        try {
            measure(w, fsp, kernels);
        } catch (Exception e) {
            if (closer.interrupted) {
                throw new IllegalStateException("interrupted: everything started has been stopped", e);
            }
            String why = w.suite() + " / " + w.name() + " failed: " + e;
            failures.add(why);
            progress("FAILED: " + why);
        }
    }

    /** Runs one workload on FSP and on each kernel file system, rounds alternating the order; adds its rows. */
    private void measure(Workload w, FileApi fsp, FileApi... kernels) throws Exception {
        List<FileApi> apis = new ArrayList<>();
        apis.add(fsp);
        apis.addAll(List.of(kernels));
        Map<String, List<Measurement>> results = new LinkedHashMap<>();
        for (FileApi api : apis) {
            progress(w.suite() + " / " + w.name() + ": preparing and warming up on " + api.name());
            w.prepare(api);
            w.run(api, -1);
            results.put(api.name(), new ArrayList<>());
        }
        for (int round = 0; round < o.rounds; round++) {
            for (int k = 0; k < apis.size(); k++) {
                FileApi api = apis.get((k + round) % apis.size());
                boolean profile = o.profile && round == 0 && api == fsp;
                Profile p = profile ? Profile.start(fspdForProfile, o.fspd, o.out.resolve("jfr"), w) : null;
                Measurement m = null;
                try {
                    m = onFreshThread(w, api, round);
                } finally {
                    if (p != null) {
                        p.stop(m);
                    }
                }
                results.get(api.name()).add(m);
                if (o.profile && round == 0 && m.steps() != null) {
                    Path steps = writeSteps(o.out.resolve("jfr"), w, api.name(), m);
                    progress(w.suite() + " / " + w.name() + ": time per flowop on " + api.name() + " in " + steps);
                }
                progress(String.format(
                        Locale.ROOT,
                        "%s / %s: round %d/%d on %-5s %s %s",
                        w.suite(),
                        w.name(),
                        round + 1,
                        o.rounds,
                        api.name(),
                        Report.number(w.metric().of(m)),
                        w.metric().unit));
            }
        }
        for (FileApi k : kernels) {
            Goal goal = k.name().equals(w.goalKernel()) ? w.goal() : null;
            Row row = new Row(
                    w.suite(),
                    w.name(),
                    w.params(),
                    w.metric(),
                    k.name(),
                    results.get(fsp.name()),
                    results.get(k.name()),
                    goal);
            rows.add(row);
            progress(String.format(
                    Locale.ROOT,
                    "%s / %s: FSP %s, %s %s %s: FSP/%s %.2fx %s",
                    w.suite(),
                    w.name(),
                    Report.number(row.fspValue()),
                    k.name(),
                    Report.number(row.kernelValue()),
                    w.metric().unit,
                    k.name(),
                    row.ratio(),
                    goal == null ? "" : goal.label() + " " + row.verdict()));
        }
    }

    private void write() throws IOException {
        String table = Report.withFailures(Report.table(rows), failures);
        Map<String, String> run = Report.run(o);
        run.put("loadavg", loadAverage());
        run.put("loadavgAtStart", loadAtStart);
        run.put("failures", String.join("; ", failures));
        Files.writeString(
                o.out.resolve("table.md"),
                "Command: `" + o.command + "`\n\nFigures: medians of " + o.rounds + " rounds; load average at start "
                        + loadAtStart + ", at the end " + loadAverage() + ".\n\n" + table);
        Files.writeString(o.out.resolve("results.json"), Report.json(rows, run));
        List<Path> charts = Report.charts(rows, o.out);
        Report.printSummary(o, table, charts, rows);
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private void progress(String message) {
        System.err.printf(Locale.ROOT, "[%6.1fs] %s%n", (System.nanoTime() - began) / 1e9, message);
    }

    static long parseSize(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long unit =
                switch (t.charAt(t.length() - 1)) {
                    case 'K' -> 1L << 10;
                    case 'M' -> 1L << 20;
                    case 'G' -> 1L << 30;
                    case 'T' -> 1L << 40;
                    default -> 1;
                };
        return Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1)) * unit;
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("eval: could not remove " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Runs one measured round on a thread of its own, so that what one file system did to its calling thread (FS Lib
     * keeps its threads off fspd's worker CPUs) does not follow the thread into the kernel's rounds.
     */
    /**
     * Writes where a named-flowop workload's time went on {@code fs} (--profile, first round): per flowop, in the
     * flow's order, the count, mean, p50 and p99 in microseconds and the calls over 1 ms; returns the file.
     */
    static Path writeSteps(Path dir, Workload w, String fs, Measurement m) throws IOException {
        Files.createDirectories(dir);
        String name = (w.suite() + "-" + w.name() + "-" + fs).replaceAll("[^A-Za-z0-9]+", "-") + "-flowops.txt";
        StringBuilder b = new StringBuilder(String.format(
                Locale.ROOT,
                "%s / %s on %s%n%-18s %9s %10s %10s %10s %9s%n",
                w.suite(),
                w.name(),
                fs,
                "flowop",
                "count",
                "mean us",
                "p50 us",
                "p99 us",
                "> 1 ms"));
        for (Map.Entry<String, org.HdrHistogram.Histogram> e : m.steps().entrySet()) {
            org.HdrHistogram.Histogram h = e.getValue();
            long over = h.getTotalCount() - h.getCountBetweenValues(0, 1_000_000);
            b.append(String.format(
                    Locale.ROOT,
                    "%-18s %9d %10.2f %10.2f %10.2f %9d%n",
                    e.getKey(),
                    h.getTotalCount(),
                    h.getMean() / 1e3,
                    h.getValueAtPercentile(50) / 1e3,
                    h.getValueAtPercentile(99) / 1e3,
                    over));
        }
        Path file = dir.resolve(name);
        Files.writeString(file, b);
        return file;
    }

    private static Measurement onFreshThread(Workload w, FileApi api, int round) throws Exception {
        Measurement[] result = new Measurement[1];
        Throwable[] failure = new Throwable[1];
        Thread t = Thread.ofPlatform().name("eval-serial").start(() -> {
            try {
                result[0] = w.run(api, round);
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        t.join();
        if (failure[0] instanceof Error e) {
            throw e;
        }
        if (failure[0] instanceof Exception e) {
            throw e;
        }
        return result[0];
    }

    /**
     * A JFR recording of fspd (through jcmd) and of this JVM over one workload run, and fspd's device counters
     * ({@code fsp:device}) before and after it.
     */
    private record Profile(
            Fspd fspd,
            Path fspdBin,
            String name,
            Path dir,
            jdk.jfr.Recording client,
            Path clientFile,
            long[] switchesBefore) {

        static Profile start(Fspd fspd, Path fspdBin, Path dir, Workload w) throws Exception {
            Files.createDirectories(dir);
            String name = (w.suite() + "-" + w.name()).replaceAll("[^A-Za-z0-9]+", "-");
            Files.writeString(dir.resolve(name + "-device-before.txt"), device(fspdBin, fspd));
            String jcmd =
                    Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            Shell.run(
                    jcmd,
                    Long.toString(fspd.pid()),
                    "JFR.start",
                    "name=" + name,
                    "settings=profile",
                    "filename=" + dir.toAbsolutePath().resolve(name + "-fspd.jfr"));
            jdk.jfr.Recording client = new jdk.jfr.Recording(jdk.jfr.Configuration.getConfiguration("profile"));
            client.start();
            return new Profile(fspd, fspdBin, name, dir, client, dir.resolve(name + "-client.jfr"), switches(fspd));
        }

        /**
         * Context switches so far, voluntary (a thread slept: futex, I/O) and involuntary (preempted), summed over
         * fspd's threads and over this JVM's: {fspd voluntary, fspd involuntary, client voluntary, client involuntary}.
         */
        private static long[] switches(Fspd fspd) throws IOException {
            long[] server = switchesOf(Path.of("/proc", Long.toString(fspd.pid()), "task"));
            long[] client = switchesOf(Path.of("/proc/self/task"));
            return new long[] {server[0], server[1], client[0], client[1]};
        }

        private static long[] switchesOf(Path tasks) throws IOException {
            long[] sum = new long[2];
            try (Stream<Path> all = Files.list(tasks)) {
                for (Path t : all.toList()) {
                    try {
                        for (String line : Files.readAllLines(t.resolve("status"))) {
                            if (line.startsWith("voluntary_ctxt_switches:")) {
                                sum[0] += Long.parseLong(
                                        line.substring(line.indexOf(':') + 1).strip());
                            } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                                sum[1] += Long.parseLong(
                                        line.substring(line.indexOf(':') + 1).strip());
                            }
                        }
                    } catch (IOException threadEnded) {
                        // a thread that ended between the listing and the read
                    }
                }
            }
            return sum;
        }

        private static String device(Path fspdBin, Fspd fspd) throws IOException {
            return Shell.run(
                    fspdBin.resolveSibling("fsp").toString(),
                    "--socket",
                    fspd.socket.toString(),
                    "shell",
                    "-c",
                    "fsp:device");
        }

        void stop(Measurement m) throws Exception {
            long[] after = switches(fspd);
            if (m != null) {
                double ops = m.ops();
                Files.writeString(
                        dir.resolve(name + "-switches.txt"),
                        String.format(
                                Locale.ROOT,
                                "ops %d, %.1f us/op%ncontext switches per op: fspd voluntary %.2f, involuntary %.2f;"
                                        + " benchmark JVM voluntary %.2f, involuntary %.2f%n",
                                m.ops(),
                                m.microsPerOp(),
                                (after[0] - switchesBefore[0]) / ops,
                                (after[1] - switchesBefore[1]) / ops,
                                (after[2] - switchesBefore[2]) / ops,
                                (after[3] - switchesBefore[3]) / ops));
            }
            client.stop();
            client.dump(clientFile);
            client.close();
            String jcmd =
                    Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            Shell.run(jcmd, Long.toString(fspd.pid()), "JFR.stop", "name=" + name);
            Files.writeString(dir.resolve(name + "-device-after.txt"), device(fspdBin, fspd));
        }
    }
}
