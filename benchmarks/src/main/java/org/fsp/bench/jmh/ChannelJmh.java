package org.fsp.bench.jmh;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.fsp.bench.BenchHost;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * {@code fsp bench ipc}: runs {@link ChannelRoundTrip} (no-op, 4 KiB write, 4 KiB read) with 1, 2 and 4 client threads
 * and, in the same run, the floor {@link ShmPingPong}, each in SampleTime mode (p50 / p99 of a round trip) and
 * Throughput mode, then prints a table with each p50 over the floor's and the two targets: p50 of a 4 KiB
 * write at most twice the floor's, and at least 1,000,000 4 KiB writes per second from one thread. JMH's JSON of every
 * result goes to {@code --json} (default {@code ./fsp-bench-ipc-<time>.json}).
 *
 * <p>Options: {@code --threads 1,2,4 --forks 1 --warmup 3 --iterations 5 --seconds 1 --json PATH --verbose}, and
 * {@code --profile jfr} (a JFR recording of each client fork, by JMH's {@code -prof jfr}). {@code -Dfsp.client.spinMicros}
 * and {@code -Dfsp.home} are passed on to the forks.
 */
public final class ChannelJmh {

    private static final String ROUND_TRIP = ChannelRoundTrip.class.getName();
    private static final String FLOOR = ShmPingPong.class.getName() + ".pingPong4k";
    private static final double WRITES_PER_SECOND_TARGET = 1_000_000;
    private static final double P50_RATIO_TARGET = 2.0;

    private ChannelJmh() {}

    public static void main(String[] args) throws Exception {
        String threadList = "1,2,4";
        int forks = 1;
        int warmup = 3;
        int iterations = 5;
        int seconds = 1;
        String profile = null;
        boolean verbose = false;
        Path json = Path.of("fsp-bench-ipc-" + Instant.now().toString().replace(':', '-') + ".json");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threadList = args[++i];
                case "--forks" -> forks = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--iterations" -> iterations = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--json" -> json = Path.of(args[++i]);
                case "--profile" -> profile = args[++i];
                case "--verbose" -> verbose = true;
                default -> {
                    System.err.println("usage: fsp bench ipc [--threads 1,2,4] [--forks N] [--warmup N] "
                            + "[--iterations N] [--seconds S] [--json PATH] [--profile jfr] [--verbose]");
                    System.exit(2);
                }
            }
        }
        String loadBefore = BenchHost.loadAverage();
        List<String> jvmArgs = new ArrayList<>(List.of(
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m",
                "--sun-misc-unsafe-memory-access=allow",
                "-Dfsp.home=" + FspdProcess.home()));
        if (System.getProperty("fsp.client.spinMicros") != null) {
            jvmArgs.add("-Dfsp.client.spinMicros=" + System.getProperty("fsp.client.spinMicros"));
        }
        List<RunResult> all = new ArrayList<>();
        for (String t : threadList.split(",")) {
            int threads = Integer.parseInt(t.strip());
            ChainedOptionsBuilder options = new OptionsBuilder()
                    .include(ROUND_TRIP + "\\.")
                    .mode(Mode.SampleTime)
                    .mode(Mode.Throughput)
                    .timeUnit(TimeUnit.MICROSECONDS)
                    .threads(threads)
                    .forks(forks)
                    .warmupIterations(warmup)
                    .warmupTime(TimeValue.seconds(seconds))
                    .measurementIterations(iterations)
                    .measurementTime(TimeValue.seconds(seconds))
                    .jvmArgsAppend(jvmArgs.toArray(String[]::new))
                    .verbosity(verbose ? VerboseMode.NORMAL : VerboseMode.SILENT);
            if (threads == 1) {
                options.include(FLOOR);
            }
            if (profile != null) {
                options.addProfiler(profile);
            }
            System.err.printf(Locale.ROOT, "bench ipc: %d client thread(s)...%n", threads);
            all.addAll(new Runner(options.build()).run());
        }
        ResultFormatFactory.getInstance(ResultFormatType.JSON, json.toString()).writeOut(all);
        report(all, loadBefore, BenchHost.loadAverage(), json);
    }

    /** One benchmark at one thread count: p50 / p99 from SampleTime, operations per second from Throughput. */
    private record Row(String name, int threads, double p50Micros, double p99Micros, double opsPerSecond) {}

    private static void report(Collection<RunResult> results, String loadBefore, String loadAfter, Path json) {
        Map<String, double[]> rows = new LinkedHashMap<>(); // "name threads" -> p50, p99, ops/s
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1);
            String key = name + " " + r.getParams().getThreads();
            double[] row = rows.computeIfAbsent(key, k -> new double[] {Double.NaN, Double.NaN, Double.NaN});
            if (r.getParams().getMode() == Mode.SampleTime) {
                row[0] = r.getPrimaryResult().getStatistics().getPercentile(50);
                row[1] = r.getPrimaryResult().getStatistics().getPercentile(99);
            } else {
                row[2] = r.getPrimaryResult().getScore() * 1e6; // ops/us to ops/s
            }
        }
        List<Row> table = new ArrayList<>();
        rows.forEach((key, v) -> {
            String[] k = key.split(" ");
            table.add(new Row(k[0], Integer.parseInt(k[1]), v[0], v[1], v[2]));
        });
        Row floor = table.stream()
                .filter(r -> r.name.equals("pingPong4k"))
                .findFirst()
                .orElse(null);
        System.out.printf(
                Locale.ROOT,
                "%nFSP channel round trips (JMH), client in its own JVM, fspd on its RAM driver in another; %d cores%n",
                Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "load average before: %s, after: %s%n", loadBefore, loadAfter);
        System.out.printf(
                Locale.ROOT,
                "%-12s %7s %9s %9s %14s %12s%n",
                "benchmark",
                "threads",
                "p50 us",
                "p99 us",
                "ops/s (all)",
                "p50 / floor");
        for (Row r : table) {
            System.out.printf(
                    Locale.ROOT,
                    "%-12s %7d %9.3f %9.3f %,14.0f %12s%n",
                    r.name,
                    r.threads,
                    r.p50Micros,
                    r.p99Micros,
                    r.opsPerSecond,
                    floor == null ? "-" : String.format(Locale.ROOT, "%.2f", r.p50Micros / floor.p50Micros));
        }
        Row write1 = table.stream()
                .filter(r -> r.name.equals("write4k") && r.threads == 1)
                .findFirst()
                .orElse(null);
        if (write1 != null && floor != null) {
            double ratio = write1.p50Micros / floor.p50Micros;
            System.out.printf(
                    Locale.ROOT,
                    "p50 4 KiB write / p50 floor = %.2f (target <= %.0f): %s%n",
                    ratio,
                    P50_RATIO_TARGET,
                    ratio <= P50_RATIO_TARGET ? "MET" : "MISS");
        }
        if (write1 != null) {
            System.out.printf(
                    Locale.ROOT,
                    "4 KiB writes/s from one thread = %,.0f (target >= %,.0f): %s%n",
                    write1.opsPerSecond,
                    WRITES_PER_SECOND_TARGET,
                    write1.opsPerSecond >= WRITES_PER_SECOND_TARGET ? "MET" : "MISS");
        }
        System.out.println("JMH results (JSON): " + json.toAbsolutePath());
    }
}
