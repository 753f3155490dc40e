package org.fsp.itests;

import static org.fsp.itests.SupervisedFspd.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.fsp.support.SupervisedFspdCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The FUSE mount across {@code kill -9} of fspd under {@code bin/fspd --supervise --mount DIR}: a program in a JVM of
 * its own ({@link FuseWorkload}) reads and writes files in the mount with ordinary file I/O, one of them held open the
 * whole time, while the serving fspd is SIGKILLed several times. The supervisor keeps the {@code /dev/fuse}
 * descriptors, the standby serves the same mount (no new FUSE_INIT) with node ids and file handles found again by
 * inode, and FUSE_NOTIFY_RESEND brings back the requests that were in flight. Checked: the program never sees an
 * error, every read matches what it wrote (the fsynced records of the held file included, at the end), the mount point
 * stays mounted and answers after each kill, and fsck is clean at the end.
 *
 * <p>Needs root and {@code /dev/fuse}; skipped with a message otherwise.
 */
class FuseCrashIT {

    private static final int KILLS = 4;

    private final List<Process> supervisors = new ArrayList<>();

    @AfterEach
    void killLeftovers() throws InterruptedException {
        for (Process p : supervisors) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor();
        }
    }

    @Test
    void shouldKeepTheMountAndItsProgramsWorkingAcrossKillsOfFspd() throws Exception {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assumeTrue(
                Integer.valueOf(0).equals(uid), "FuseCrashIT skipped: mounting FUSE needs root (uid is " + uid + ")");
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "FuseCrashIT skipped: this machine has no /dev/fuse");

        Path work = FspBundleSet.workDirectory("fuse-crash");
        Path mnt = Files.createDirectories(work.resolve("mnt"));
        Path device = work.resolve("dev.img");
        Path socket = work.resolve("fsp.sock");
        Path log = work.resolve("supervisor.out");
        Process supervisor = SupervisedFspdCommand.mounting(FspProcesses.bin("fspd"), device, socket, mnt, log)
                .start();
        supervisors.add(supervisor);
        long primary = awaitServing(supervisor, log, 1);
        awaitMounted(mnt, log);

        LoadClientJvm program = LoadClientJvm.start(
                FuseWorkload.class, "fuse-workload", mnt.resolve("w").toString());
        long killMillisTotal = 0;
        try {
            program.awaitLine("started", 60_000);
            Thread.sleep(1_000);
            for (int i = 1; i <= KILLS; i++) {
                awaitWarmStandbys(supervisor, socket, i + 1);
                Thread.sleep(300 + 200L * i); // the program is in the middle of something at each kill
                ProcessHandle victim = ProcessHandle.of(primary).orElseThrow();
                assertTrue(victim.destroyForcibly(), "SIGKILL to fspd pid " + primary);
                victim.onExit().get(30, TimeUnit.SECONDS);
                long killed = System.nanoTime();
                assertTrue(mounted(mnt), "still mounted right after kill " + i);
                // The first request after the kill: the standby serves it once it has taken over.
                Files.readAttributes(mnt, "unix:ino");
                try (var s = Files.list(mnt)) {
                    assertTrue(s.findAny().isPresent(), "the mount lists its files after kill " + i);
                }
                killMillisTotal += TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
                primary = awaitServing(supervisor, log, i + 1);
                assertTrue(program.process().isAlive(), "the program died at kill " + i + ": " + program.lines());
                Thread.sleep(500); // some work on the new fspd before the next kill
            }
            String verdict = program.finish(120_000);
            System.out.println("FuseCrashIT: " + KILLS + " SIGKILLs of the serving fspd, program " + verdict
                    + "; first request through the mount served " + killMillisTotal / KILLS
                    + " ms after a kill on average");
        } finally {
            program.process().destroyForcibly();
        }
        String fspdLog = Files.readString(Path.of(socket + ".d", "fspd.log"));
        assertEquals(
                KILLS,
                Pattern.compile("took over the FSP mount at")
                        .matcher(fspdLog)
                        .results()
                        .count(),
                "every standby served the same mount");
        assertTrue(mounted(mnt), "mounted at the end");

        supervisor.destroy(); // SIGTERM: the mount goes in order
        assertTrue(supervisor.waitFor(90, TimeUnit.SECONDS), "the supervisor stops on SIGTERM");
        assertEquals(0, supervisor.exitValue(), Files.readString(log));
        FspProcesses.Result fsck = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()), Duration.ofSeconds(60));
        assertEquals(0, fsck.exitCode(), "the image is consistent after " + KILLS + " kills:\n" + fsck.all());
    }
}
