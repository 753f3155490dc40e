package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the tests of {@code fspd --supervise} wait for: the supervisor's "serving" lines, warm standbys, and a FUSE
 * mount appearing in this process's mount table. The suites start the supervised mount with
 * {@link org.fsp.support.SupervisedFspdCommand}.
 */
final class SupervisedFspd {

    /** How long a JVM and Felix start may take on a loaded 2-core machine. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    /** The supervisor's line when an fspd serves: after its cold start, or after taking over from a dead one. */
    private static final Pattern SERVING = Pattern.compile("(?:fspd|standby) pid (\\d+) serving");

    private static final Pattern WARM = Pattern.compile("standby fspd pid \\d+ warm");

    private SupervisedFspd() {}

    /** Waits for the {@code n}-th "serving" line of the supervisor's log and returns that fspd's pid. */
    static long awaitServing(Process supervisor, Path log, int n) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String out = Files.readString(log);
            Matcher m = SERVING.matcher(out);
            int seen = 0;
            while (m.find()) {
                if (++seen == n) {
                    return Long.parseLong(m.group(1));
                }
            }
            if (!supervisor.isAlive()) {
                throw new AssertionError("the supervisor exited with " + supervisor.exitValue() + ":\n" + out);
            }
            Thread.sleep(50);
        }
        throw new AssertionError(
                "no serving line number " + n + " within " + START_TIMEOUT + ":\n" + Files.readString(log));
    }

    /** Waits until {@code n} fspds have reported warm as standbys (the supervisor logs each in fspd.log). */
    static void awaitWarmStandbys(Process supervisor, Path socket, int n) throws Exception {
        Path log = Path.of(socket + ".d", "fspd.log");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline && supervisor.isAlive()) {
            if (WARM.matcher(Files.readString(log)).results().count() >= n) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("fewer than " + n + " warm standbys in " + log);
    }

    /** True if {@code mnt} is a mount point in this process's mount table. */
    static boolean mounted(Path mnt) throws Exception {
        return Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + mnt + " ");
    }

    /** Waits until {@code mnt} is mounted, failing with {@code log}'s contents. */
    static void awaitMounted(Path mnt, Path log) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!mounted(mnt) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(mounted(mnt), "fspd --mount did not mount " + mnt + ":\n" + Files.readString(log));
    }
}
