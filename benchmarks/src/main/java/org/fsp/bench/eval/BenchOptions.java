package org.fsp.bench.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * The command line the eval, apps and fuse benchmarks share: where results go ({@code --out}), where they work
 * ({@code --work}), which fspd they start ({@code --fspd}), how many rounds of how many seconds ({@code --rounds},
 * {@code --seconds}), the size of a fresh image ({@code --size}) and, for the benchmarks that can, whether to profile
 * fspd ({@code --profile}, the one option without a value). A benchmark's own options go to {@link #option}. The loop
 * and the checks were written out once per benchmark before, and had drifted (one checked its counts, another did
 * not).
 *
 * <p>A typical sequence is: a subclass's constructor sets the defaults of {@link #rounds} and {@link #seconds},
 * {@link #parse} reads the arguments and fills in the paths left unset, then the benchmark reads the fields.
 */
abstract class BenchOptions {

    Path out;
    Path work;
    Path fspd;
    int rounds;
    double seconds;
    String size = "2G";
    /** {@code --profile}: profile fspd while the benchmark runs; only where {@link #profiles} is set. */
    boolean profile;
    /** The command line as the user typed it, for the report. */
    String command;

    private final boolean profiles;

    /** {@code profiles}: this benchmark takes {@code --profile}. */
    BenchOptions(int rounds, double seconds, boolean profiles) {
        this.rounds = rounds;
        this.seconds = seconds;
        this.profiles = profiles;
    }

    /** Takes {@code name}, an option of this benchmark's own, with its value; false when it is not one. */
    abstract boolean option(String name, String value);

    /**
     * Reads {@code args} from index {@code from} on; {@code commandName} ("fsp bench fuse") and all of {@code args}
     * are kept as {@link #command} for the report, and the paths left unset become {@link BenchPaths#results} of
     * {@code resultsPrefix}, {@link BenchPaths#work} of {@code workPrefix} and {@link BenchPaths#fspd}.
     *
     * @throws IllegalArgumentException for an unknown option, a missing value or a value out of range
     */
    final void parse(String[] args, int from, String commandName, String resultsPrefix, String workPrefix) {
        this.command = commandName + (args.length == 0 ? "" : " " + String.join(" ", args));
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (profiles && a.equals("--profile")) {
                profile = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--out" -> out = Path.of(v);
                case "--work" -> work = Path.of(v);
                case "--fspd" -> fspd = Path.of(v);
                case "--rounds" -> rounds = atLeastOne(a, v);
                case "--seconds" -> seconds = positiveSeconds(a, v);
                case "--size" -> size = size(a, v);
                default -> {
                    if (!option(a, v)) {
                        throw new IllegalArgumentException("unknown option " + a);
                    }
                }
            }
        }
        if (out == null) {
            out = BenchPaths.results(resultsPrefix);
        }
        if (work == null) {
            work = BenchPaths.work(workPrefix);
        }
        if (fspd == null) {
            fspd = BenchPaths.fspd();
        }
    }

    /** {@code value} as a count of at least 1. */
    static int atLeastOne(String option, String value) {
        int n = Integer.parseInt(value);
        if (n < 1) {
            throw new IllegalArgumentException(option + " must be at least 1, not " + value);
        }
        return n;
    }

    private static double positiveSeconds(String option, String value) {
        double s = Double.parseDouble(value);
        if (!(s > 0)) {
            throw new IllegalArgumentException(option + " must be positive, not " + value);
        }
        return s;
    }

    /** {@code value} when it is a size {@link EvalBench#parseSize} reads (such as 512M or 2G). */
    private static String size(String option, String value) {
        if (value.isBlank()) {
            throw new IllegalArgumentException(option + " needs a size such as 2G");
        }
        if (EvalBench.parseSize(value) <= 0) {
            throw new IllegalArgumentException(option + " must be positive, not " + value);
        }
        return value;
    }

    /**
     * What {@code parse} makes of {@code args}; when they are nonsense, {@code command} ("fsp bench fuse") with the
     * reason, then {@code usage}, on stderr, and the JVM exits with status 2, as every benchmark's command line does.
     */
    static <O extends BenchOptions> O parseOrExit(
            String command, String usage, Function<String[], O> parse, String[] args) {
        try {
            return parse.apply(args);
        } catch (IllegalArgumentException e) {
            System.err.println(command + ": " + e.getMessage());
            System.err.println("usage: " + usage);
            System.exit(2);
            throw e; // not reached
        }
    }

    /** Why the benchmark cannot start fspd ({@link #fspd} is not an executable), or null when it can. */
    String missingFspd() {
        return Files.isExecutable(fspd)
                ? null
                : "no fspd at " + fspd + " (build with 'mvn -q install -DskipTests' or pass --fspd)";
    }

    /** When {@code missing} (what the run cannot do without) is not null: says so after {@code command}, exits 2. */
    static void exitIfMissing(String command, String missing) {
        if (missing != null) {
            System.err.println(command + ": " + missing);
            System.exit(2);
        }
    }
}
