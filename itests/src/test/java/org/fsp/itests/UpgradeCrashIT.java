package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A crash inside a live upgrade: fspd halts itself ({@code fsp.test.haltAt}, as a SIGKILL would end it) at each of the
 * upgrade bundle's points while {@code fsp:upgrade fs-core} to the provenance release runs under client JVMs' mixed
 * workload ({@link CrashWorkload}), and is started again on the same image and socket (the shipped fs-core, as after
 * any crash). Points: {@code upgrade-installed} (the new bundle resolved beside the old), {@code upgrade-new-started}
 * (it stands by), {@code upgrade-deposited} (the old version quiesced into the vault, nobody has taken it) and
 * {@code upgrade-before-uninstall} (the new version serves). fsck must be clean after each crash, and the clients end
 * with their verdicts: every acknowledged record once, every file as written, the handles kept open still reading
 * back their data.
 *
 * <p>System property {@code fsp.crash.clients} (default 2).
 */
class UpgradeCrashIT {

    private static final int CLIENTS = Integer.getInteger("fsp.crash.clients", 2);
    private static final String[] POINTS = {
        "upgrade-installed", "upgrade-new-started", "upgrade-deposited", "upgrade-before-uninstall"
    };
    /** Client work between a restart and the next upgrade, so that each upgrade meets requests in flight. */
    private static final long WORK_MILLIS = 1500;

    @Test
    void clientsShouldCarryOnWhenFspdDiesInsideAnUpgrade() throws Exception {
        Path work = FspBundleSet.workDirectory("upgrade-crash");
        Path device = work.resolve("dev.img");
        Path socket = work.resolve("fsp.sock");
        Path log = work.resolve("fspd.out");
        String v2 = FspBundleSet.distribution()
                .resolve("upgrades/fs-core-provenance.jar")
                .toUri()
                .toString();
        Process daemon = CrashRig.start(device, socket, log, POINTS[0]);
        FspProcesses.awaitReady(daemon, socket, log, CrashRig.START_TIMEOUT);
        List<LoadClientJvm> clients = new ArrayList<>();
        try {
            for (int c = 0; c < CLIENTS; c++) {
                LoadClientJvm jvm = LoadClientJvm.start(
                        CrashWorkload.class, "upgrade-crash-client-" + c, socket.toString(), "/u" + c);
                jvm.awaitLine("running", 60_000);
                clients.add(jvm);
            }
            for (int i = 0; i < POINTS.length; i++) {
                String point = POINTS[i];
                Thread.sleep(WORK_MILLIS);
                // The shell loses its fspd in the middle of the command: its reply does not matter, the halt does.
                FspProcesses.Result reply = FspProcesses.fsp(socket, "shell", "-c", "fsp:upgrade fs-core " + v2);
                assertTrue(
                        daemon.waitFor(60, TimeUnit.SECONDS),
                        "fspd did not halt at " + point + " during the upgrade; fsp:upgrade said: " + reply.all());
                assertTrue(
                        Files.readString(log).contains("fsp.test.haltAt: halting at " + point),
                        "fspd ended elsewhere than at " + point + ":\n" + Files.readString(log));
                CrashRig.assertFsckClean(device, "after the halt at " + point);
                for (LoadClientJvm c : clients) {
                    assertTrue(c.process().isAlive(), "client JVM died at " + point + ": " + c.seen() + c.lines());
                }
                String next = i + 1 < POINTS.length ? POINTS[i + 1] : null;
                Files.writeString(log, "--- restart after a halt at " + point + "\n", StandardOpenOption.APPEND);
                daemon = CrashRig.start(device, socket, log, next);
                CrashRig.awaitServing(daemon, socket, log, false);
            }
            // The last fspd has no halt point: an upgrade runs to its end under the clients too.
            Thread.sleep(WORK_MILLIS);
            FspProcesses.Result upgraded = FspProcesses.fsp(socket, "shell", "-c", "fsp:upgrade fs-core " + v2);
            assertTrue(upgraded.all().contains("upgraded"), "the upgrade without a halt: " + upgraded.all());
            Thread.sleep(WORK_MILLIS);
            for (LoadClientJvm c : clients) {
                String verdict = c.finish(120_000);
                System.out.println("UpgradeCrashIT: " + verdict);
            }
            System.out.println("UpgradeCrashIT: " + POINTS.length + " halts inside fsp:upgrade fs-core ("
                    + String.join(", ", POINTS) + "), " + CLIENTS + " clients, no error seen by them");
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
