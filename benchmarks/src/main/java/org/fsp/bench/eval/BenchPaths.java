package org.fsp.bench.eval;

import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Where the eval, apps and fuse benchmarks put their results, their scratch files and find fspd when the command line
 * does not say: results under {@code fsp-bench-results/} named by the start time, scratch files under
 * {@code /var/tmp} named by this process (so that two runs never share them), fspd of the distribution this JVM runs
 * from ({@code fsp.home}, set by {@code bin/fsp}) or of the build tree.
 */
final class BenchPaths {

    private BenchPaths() {}

    /** {@code fsp-bench-results/<prefix><UTC start time>}. */
    static Path results(String prefix) {
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                .withZone(ZoneOffset.UTC)
                .format(Instant.now());
        return Path.of("fsp-bench-results", prefix + stamp);
    }

    /** {@code /var/tmp/<prefix><pid>}. */
    static Path work(String prefix) {
        return Path.of("/var/tmp", prefix + ProcessHandle.current().pid());
    }

    /** {@code bin/fspd} of {@code fsp.home}, else of {@code distribution/target/fsp}. */
    static Path fspd() {
        String home = System.getProperty("fsp.home");
        return (home != null ? Path.of(home) : Path.of("distribution", "target", "fsp")).resolve("bin/fspd");
    }
}
