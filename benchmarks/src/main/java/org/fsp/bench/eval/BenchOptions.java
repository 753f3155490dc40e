package org.fsp.bench.eval;

import java.nio.file.Path;

/**
 * The command line the eval, apps and fuse benchmarks share: where results go ({@code --out}), where they work
 * ({@code --work}), which fspd they start ({@code --fspd}), how many rounds of how many seconds ({@code --rounds},
 * {@code --seconds}) and the size of a fresh image ({@code --size}). Every option takes one value, except the flags a
 * benchmark names in {@link #flag}; a benchmark's own options go to {@link #option}. The loop and the checks were
 * written out once per benchmark before, and had drifted (one checked its counts, another did not).
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
    /** The command line as the user typed it, for the report. */
    String command;

    BenchOptions(int rounds, double seconds) {
        this.rounds = rounds;
        this.seconds = seconds;
    }

    /** Takes {@code name}, an option of this benchmark's own, with its value; false when it is not one. */
    abstract boolean option(String name, String value);

    /** Takes {@code name} when it is a flag of this benchmark (an option without a value); false when not. */
    boolean flag(String name) {
        return false;
    }

    /**
     * Reads {@code args} from index {@code from} on; {@code command} is kept for the report, and the paths left unset
     * become {@link BenchPaths#results} of {@code resultsPrefix}, {@link BenchPaths#work} of {@code workPrefix} and
     * {@link BenchPaths#fspd}.
     *
     * @throws IllegalArgumentException for an unknown option, a missing value or a value out of range
     */
    final void parse(String[] args, int from, String command, String resultsPrefix, String workPrefix) {
        this.command = command;
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (flag(a)) {
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
}
