package org.fsp.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What every benchmark asks of the machine it runs on: the FSP distribution to start fspd from, and the load average
 * its report records beside the figures (a second engineer's build on a small machine shows there, not in the
 * figures). The benchmarks asked in copies of their own before.
 */
public final class BenchHost {

    private BenchHost() {}

    /** The distribution this JVM runs from ({@code fsp.home}, set by {@code bin/fsp}), else the build tree's. */
    public static Path distribution() {
        return Path.of(System.getProperty("fsp.home", "distribution/target/fsp"));
    }

    /** The 1, 5 and 15 minute load averages of {@code /proc/loadavg}, blank-separated, or "unknown". */
    public static String loadAverage() {
        return loadAverage(Path.of("/proc/loadavg"));
    }

    static String loadAverage(Path loadavg) {
        try {
            String[] f = Files.readString(loadavg).split(" ");
            return f.length < 3 ? "unknown" : f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }
}
