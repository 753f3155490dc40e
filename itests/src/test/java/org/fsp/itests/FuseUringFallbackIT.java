package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A live upgrade of ipc-fuse over FUSE-over-io_uring whose successor cannot register its ring entries (the kernel
 * really refuses them: {@code -Dfsp.test.fuse.refuseRegisterOnAdopt=true} makes it ask for a queue the kernel does not
 * have): the requests the old version held for it must still be answered, and the mount must carry on over
 * {@code /dev/fuse} reads, with the program writing through it seeing no error and no hang.
 */
class FuseUringFallbackIT {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    @Test
    void shouldAnswerHeldRequestsAndFallBackToClassicWhenTheSuccessorCannotRegister() throws Exception {
        assumeTrue(
                Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid")),
                "mounting FUSE needs root");
        Path enable = Path.of("/sys/module/fuse/parameters/enable_uring");
        assumeTrue(Files.exists(enable), "this kernel has no FUSE-over-io_uring");
        if (!Files.readString(enable).trim().equals("Y")) {
            Files.writeString(enable, "Y");
        }
        Path work = FspBundleSet.workDirectory("fuse-uring-fallback");
        Path mnt = Files.createDirectories(work.resolve("mnt"));
        Path socket = work.resolve("fsp.sock");
        Path log = work.resolve("fspd.out");
        Process daemon = FspProcesses.startDaemonWithJvmOptions(
                log,
                "-Dfsp.fuse.transport=uring -Dfsp.test.fuse.refuseRegisterOnAdopt=true",
                "--driver",
                "ram",
                "--size",
                "256M",
                "--socket",
                socket.toString(),
                "--mount",
                mnt.toString());
        Process writer = null;
        try {
            FspProcesses.awaitReady(daemon, socket, log, START_TIMEOUT);
            long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
            while (!mounted(mnt) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(mounted(mnt), "not mounted:\n" + Files.readString(log));
            FspProcesses.Result before = FspProcesses.fsp(socket, "mount");
            assertTrue(before.stdout().contains("io_uring"), before.all());
            Path writerLog = work.resolve("writer.out");
            Path stop = work.resolve("stop-writer");
            writer = new ProcessBuilder(
                            "bash",
                            "-ec",
                            "cd " + mnt + "; i=0; while [ ! -e " + stop + " ]; do i=$((i+1));"
                                    + " echo \"record $i\" > f$((i % 20)); echo \"record $i\" >> log;"
                                    + " grep -q \"record $i\" f$((i % 20)); done; echo wrote $i")
                    .redirectErrorStream(true)
                    .redirectOutput(writerLog.toFile())
                    .start();
            Thread.sleep(500);
            Path fuseJar = FspBundleSet.shippedJar("ipc-fuse-");
            FspProcesses.Result up = FspProcesses.fsp(socket, "shell", "-c", "fsp:upgrade ipc-fuse " + fuseJar.toUri());
            assertEquals(0, up.exitCode(), up.all());
            Thread.sleep(1000);
            Files.createFile(stop);
            assertTrue(
                    writer.waitFor(60, TimeUnit.SECONDS),
                    "the program through the mount hangs: a held request was never answered\n" + Files.readString(log));
            String wrote = Files.readString(writerLog);
            assertEquals(0, writer.exitValue(), "the program saw an error:\n" + wrote);
            FspProcesses.Result after = FspProcesses.fsp(socket, "mount");
            assertTrue(after.stdout().contains("classic (io_uring setup failed"), after.all());
            int records = Integer.parseInt(wrote.trim().substring("wrote ".length()));
            FspProcesses.Result count =
                    FspProcesses.run(List.of("bash", "-c", "wc -l < " + mnt.resolve("log")), Duration.ofSeconds(30));
            assertEquals(records, Integer.parseInt(count.stdout().trim()), "every append is there once");
        } finally {
            if (writer != null) {
                writer.destroyForcibly();
            }
            if (daemon.isAlive()) {
                FspProcesses.stop(daemon, Duration.ofSeconds(60));
            }
        }
    }

    private static boolean mounted(Path mnt) throws Exception {
        return Files.readString(Path.of("/proc/mounts")).contains(mnt + " fuse.fsp ");
    }
}
