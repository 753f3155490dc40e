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
import org.fsp.support.SupervisedFspdCommand;
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
        ProcessBuilder pb = SupervisedFspdCommand.mounting(FspProcesses.bin("fspd"), device, socket, mnt, log);
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
}
