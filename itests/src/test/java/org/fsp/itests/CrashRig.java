package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.fsp.client.FspClient;

/**
 * What the fault-injection suites share ({@link CrashRecoveryIT}, {@link UpgradeCrashIT}): an unsupervised {@code
 * bin/fspd} on one image and socket, started again by the test after each crash, optionally told to halt at a named
 * point ({@code fsp.test.haltAt}); the wait until it answers a client; fsck of the image between crashes. The clients
 * are {@link CrashWorkload} JVMs.
 */
final class CrashRig {

    /** How long a JVM and Felix start may take on a loaded 2-core machine. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private CrashRig() {}

    /** Runs {@code fsp fsck} on the image and fails with its output unless it is clean. */
    static void assertFsckClean(Path device, String when) throws Exception {
        FspProcesses.Result fsck = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()), Duration.ofSeconds(120));
        assertEquals(0, fsck.exitCode(), "fsck " + when + ":\n" + fsck.all());
    }

    /** Waits until the daemon answers a client (cheaper than the shell: the loop should spend its time crashing). */
    static void awaitServing(Process daemon, Path socket, Path log, boolean mayHalt) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!daemon.isAlive()) {
                if (mayHalt) {
                    return;
                }
                throw new AssertionError("fspd exited with " + daemon.exitValue() + ":\n" + Files.readString(log));
            }
            try (FspClient fs = FspClient.connect(socket)) {
                fs.noop();
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("fspd not serving within " + START_TIMEOUT + ":\n" + Files.readString(log));
    }

    /** fspd on the image and socket, its output appended to {@code log}; {@code halt} a fsp.test.haltAt or null. */
    static Process start(Path device, Path socket, Path log, String halt) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                FspProcesses.bin("fspd").toString(),
                "--headless",
                "--device",
                device.toString(),
                "--size",
                "256M",
                "--socket",
                socket.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        String opts = "-Dfsp.recovery.graceMillis=60000" + (halt == null ? "" : " -Dfsp.test.haltAt=" + halt);
        pb.environment().put("FSP_OPTS", opts);
        return pb.start();
    }
}
