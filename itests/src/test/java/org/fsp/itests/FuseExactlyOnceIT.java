package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A namespace change through the FUSE mount that fspd applied and made durable but did not answer before it died,
 * under {@code bin/fspd --supervise --mount DIR}: fspd halts ({@code -Dfsp.test.haltAt=fuse-before-answer}) right
 * after a mkdir's transaction, with its record, committed; the kernel re-sends the mkdir to the standby that takes the
 * mount over, and the standby answers it from the record. Checked: the program's mkdir returns success (not EEXIST),
 * the directory is there once, the standby logged the answer from the record, and fsck is clean at the end.
 *
 * <p>Needs root and {@code /dev/fuse}; skipped with a message otherwise.
 */
class FuseExactlyOnceIT {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final Pattern SERVING = Pattern.compile("(?:fspd|standby) pid (\\d+) serving");

    private final List<Process> supervisors = new ArrayList<>();
    private Path mountPoint;

    @AfterEach
    void killLeftovers() throws Exception {
        for (Process p : supervisors) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor();
        }
        // A failed run leaves the mount without a daemon: detach it, so that nothing hangs on it later.
        if (mountPoint != null && mounted(mountPoint)) {
            new ProcessBuilder("umount", "-l", mountPoint.toString())
                    .inheritIO()
                    .start()
                    .waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldAnswerAMkdirReSentAfterTheCrashWithSuccessOnce() throws Exception {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assumeTrue(
                Integer.valueOf(0).equals(uid),
                "FuseExactlyOnceIT skipped: mounting FUSE needs root (uid is " + uid + ")");
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "FuseExactlyOnceIT skipped: this machine has no /dev/fuse");

        Path work = FspBundleSet.workDirectory("fuse-exactly-once");
        Path mnt = Files.createDirectories(work.resolve("mnt"));
        mountPoint = mnt;
        Path device = work.resolve("dev.img");
        Path socket = work.resolve("fsp.sock");
        Path log = work.resolve("supervisor.out");
        ProcessBuilder pb = new ProcessBuilder(List.of(
                        FspProcesses.bin("fspd").toString(),
                        "--headless",
                        "--supervise",
                        "--crash-limit",
                        "0",
                        "--device",
                        device.toString(),
                        "--size",
                        "256M",
                        "--socket",
                        socket.toString(),
                        "--mount",
                        mnt.toString()))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        // Every fspd the supervisor starts has it: the first halts at its first recorded change; the standby answers
        // the re-sent one from its record, which does not reach the point, and the test makes no other change.
        pb.environment().put("FSP_OPTS", "-Dfsp.test.haltAt=fuse-before-answer:1");
        Process supervisor = pb.start();
        supervisors.add(supervisor);
        long primary = awaitServing(supervisor, log, 1);
        awaitMounted(mnt, log);
        awaitWarmStandbys(supervisor, socket, 2);

        long started = System.nanoTime();
        // EEXIST would throw FileAlreadyExistsException: the mkdir applied twice.
        Files.createDirectory(mnt.resolve("made"));
        long pauseMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(
                ProcessHandle.of(primary).isEmpty()
                        || !ProcessHandle.of(primary).get().isAlive(),
                "the fspd that applied the mkdir halted before answering");
        assertTrue(Files.readString(log).contains("halting at fuse-before-answer"), Files.readString(log));
        awaitServing(supervisor, log, 2);
        String fspdLog = Files.readString(Path.of(socket + ".d", "fspd.log"));
        assertTrue(fspdLog.contains("answered from its record"), "the standby answered from the record:\n" + fspdLog);
        try (var s = Files.list(mnt)) {
            assertEquals(List.of(mnt.resolve("made")), s.toList(), "one directory, made once");
        }
        System.out.println("FuseExactlyOnceIT: mkdir re-sent across the halt answered 0 from its record; the program"
                + " waited " + pauseMillis + " ms");

        supervisor.destroy(); // SIGTERM: the mount goes in order
        assertTrue(supervisor.waitFor(90, TimeUnit.SECONDS), "the supervisor stops on SIGTERM");
        assertEquals(0, supervisor.exitValue(), Files.readString(log));
        FspProcesses.Result fsck = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()), Duration.ofSeconds(60));
        assertEquals(0, fsck.exitCode(), "the image is consistent after the halt:\n" + fsck.all());
    }

    private static boolean mounted(Path mnt) throws Exception {
        return Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + mnt + " ");
    }

    private static void awaitMounted(Path mnt, Path log) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!mounted(mnt) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(mounted(mnt), "fspd --mount did not mount " + mnt + ":\n" + Files.readString(log));
    }

    /** Waits for the {@code n}-th "serving" line of the supervisor and returns that fspd's pid. */
    private static long awaitServing(Process supervisor, Path log, int n) throws Exception {
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
        throw new AssertionError("no serving line number " + n + ":\n" + Files.readString(log));
    }

    /** Waits until {@code n} fspds have reported warm as standbys (the supervisor logs each in fspd.log). */
    private static void awaitWarmStandbys(Process supervisor, Path socket, int n) throws Exception {
        Path log = Path.of(socket + ".d", "fspd.log");
        Pattern warm = Pattern.compile("standby fspd pid \\d+ warm");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline && supervisor.isAlive()) {
            if (warm.matcher(Files.readString(log)).results().count() >= n) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("fewer than " + n + " warm standbys in " + log);
    }
}
