package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Fault injection in the manner of Ananke (FAST'25): client JVMs run a mixed workload against the real {@code
 * bin/fspd} while the test SIGKILLs it at random moments (and, some rounds, has it halt itself inside a commit, a
 * checkpoint or a rename through {@code fsp.test.haltAt}) and starts it again on the same image and socket. Each
 * client checks every result against what it would be without the crash and ends with a verdict: its O_APPEND log
 * holds each acknowledged record exactly once, its files hold what it wrote, and the handles it kept open across the
 * crashes (one on a file unlinked while open) still read back their data. fsck must be clean after every crash.
 *
 * <p>System properties: {@code fsp.crash.seconds} (default 45: the time spent crashing), {@code fsp.crash.clients}
 * (default 3).
 */
class CrashRecoveryIT {

    private static final long SECONDS = Long.getLong("fsp.crash.seconds", 45);
    private static final int CLIENTS = Integer.getInteger("fsp.crash.clients", 3);
    private static final String[] HALT_POINTS = {
        "commit-before-flush:3", "commit-after-flush:3", "checkpoint:1", "rename:5"
    };

    @Test
    void clientsShouldCarryOnAcrossKillsOfTheServerWithExactlyOnceResults() throws Exception {
        Path work = FspBundleSet.workDirectory("crash");
        Path device = work.resolve("dev.img");
        Path socket = work.resolve("fsp.sock");
        Path log = work.resolve("fspd.out");
        Random rnd = new Random(Long.getLong("fsp.crash.seed", 18));
        Process daemon = CrashRig.start(device, socket, log, null);
        FspProcesses.awaitReady(daemon, socket, log, CrashRig.START_TIMEOUT);
        List<LoadClientJvm> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            LoadClientJvm jvm =
                    LoadClientJvm.start(CrashWorkload.class, "crash-client-" + c, socket.toString(), "/c" + c);
            jvm.awaitLine("running", 60_000);
            clients.add(jvm);
        }
        int kills = 0;
        int halts = 0;
        long end = System.nanoTime() + Duration.ofSeconds(SECONDS).toNanos();
        try {
            while (System.nanoTime() < end) {
                Thread.sleep(200 + rnd.nextInt(1200));
                if (daemon.isAlive()) {
                    daemon.destroyForcibly().waitFor();
                    kills++;
                } else {
                    halts++;
                }
                CrashRig.assertFsckClean(device, "after crash " + (kills + halts));
                String halt = rnd.nextInt(3) == 0 ? HALT_POINTS[rnd.nextInt(HALT_POINTS.length)] : null;
                Files.writeString(
                        log,
                        "--- restart after crash " + (kills + halts) + " halt " + halt + "\n",
                        java.nio.file.StandardOpenOption.APPEND);
                daemon = CrashRig.start(device, socket, log, halt);
                // A daemon that halts at its point while mounting or serving the first requests: a crash too.
                CrashRig.awaitServing(daemon, socket, log, halt != null);
                for (LoadClientJvm c : clients) {
                    assertTrue(c.process().isAlive(), "client JVM died: " + c.seen() + c.lines());
                }
            }
            // One more crash, then a daemon without a halt point, to serve the clients' checks.
            if (daemon.isAlive()) {
                daemon.destroyForcibly().waitFor();
                kills++;
            } else {
                halts++;
            }
            CrashRig.assertFsckClean(device, "after the last crash");
            daemon = CrashRig.start(device, socket, log, null);
            CrashRig.awaitServing(daemon, socket, log, false);
            for (LoadClientJvm c : clients) {
                String verdict = c.finish(120_000);
                System.out.println("CrashRecoveryIT: " + verdict);
            }
            long answered = Files.readAllLines(Path.of(socket + ".d", "fspd.log")).stream()
                    .filter(l -> l.contains("answered from its record"))
                    .count();
            System.out.println("CrashRecoveryIT: " + answered + " re-issued requests answered from their records");
            System.out.println("CrashRecoveryIT: " + (kills + halts) + " crashes (" + kills + " SIGKILL, " + halts
                    + " halts inside the file system), " + CLIENTS + " clients, no error seen by them");
            assertTrue(kills + halts >= 5, "too few crashes to mean anything: " + (kills + halts));
        } finally {
            for (LoadClientJvm c : clients) {
                c.process().destroyForcibly();
            }
            if (daemon.isAlive()) {
                FspProcesses.stop(daemon, Duration.ofSeconds(60));
            }
        }
        CrashRig.assertFsckClean(device, "at the end");
    }
}
