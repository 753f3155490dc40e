package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
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

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
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
        Process daemon = start(device, socket, log, null);
        FspProcesses.awaitReady(daemon, socket, log, START_TIMEOUT);
        List<LoadClientJvm> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            LoadClientJvm jvm = LoadClientJvm.start(Workload.class, "crash-client-" + c, socket.toString(), "/c" + c);
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
                FspProcesses.Result fsck = FspProcesses.run(
                        List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()),
                        Duration.ofSeconds(120));
                assertEquals(0, fsck.exitCode(), "fsck after crash " + (kills + halts) + ":\n" + fsck.all());
                String halt = rnd.nextInt(3) == 0 ? HALT_POINTS[rnd.nextInt(HALT_POINTS.length)] : null;
                Files.writeString(
                        log,
                        "--- restart after crash " + (kills + halts) + " halt " + halt + "\n",
                        java.nio.file.StandardOpenOption.APPEND);
                daemon = start(device, socket, log, halt);
                // A daemon that halts at its point while mounting or serving the first requests: a crash too.
                awaitServing(daemon, socket, log, halt != null);
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
            FspProcesses.Result last = FspProcesses.run(
                    List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()), Duration.ofSeconds(120));
            assertEquals(0, last.exitCode(), "fsck after the last crash:\n" + last.all());
            daemon = start(device, socket, log, null);
            awaitServing(daemon, socket, log, false);
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
        FspProcesses.Result fsck = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()), Duration.ofSeconds(120));
        assertEquals(0, fsck.exitCode(), "fsck at the end:\n" + fsck.all());
    }

    /** Waits until the daemon answers a client (cheaper than the shell: the loop should spend its time crashing). */
    private static void awaitServing(Process daemon, Path socket, Path log, boolean mayHalt) throws Exception {
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
    private static Process start(Path device, Path socket, Path log, String halt) throws IOException {
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

    /**
     * One client JVM: in its own directory, rounds of create (O_EXCL), write, fsync, rename, read-back, unlink and
     * an fsynced O_APPEND record, with a handle held open all along on a file and one on a file unlinked while open.
     * Any failed call ends it with a non-zero exit; when its standard input closes it checks everything and prints
     * {@code verified ...}.
     */
    public static final class Workload {
        private static final int RECORD = 16;

        public static void main(String[] args) throws Exception {
            // The test keeps fspd down for an fsck and a JVM start, sometimes twice in a row (a halt right after a
            // restart): on a loaded machine longer than the default 30 s.
            System.setProperty("fsp.client.reconnectTimeout", "180s");
            FspClient fs = FspClient.connect(Path.of(args[0]), 2);
            String dir = args[1];
            fs.mkdir(dir, 0755);
            long logH = fs.open(dir + "/log", OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_APPEND, 0644);
            long held = fs.open(dir + "/held", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            long ghost = fs.open(dir + "/ghost", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
            byte[] ghostData = "unlinked while open, kept across crashes".getBytes(StandardCharsets.UTF_8);
            fs.pwrite(ghost, 0, ghostData, 0, ghostData.length);
            fs.fsync(ghost);
            fs.unlink(dir + "/ghost");
            fs.fsync(held);
            System.out.println("running");
            System.out.flush();
            Thread stop = Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // until end of input
                    }
                } catch (IOException e) {
                    // same as end of input
                }
            });
            long records = 0;
            long heldBytes = 0;
            for (int round = 0; stop.isAlive(); round++) {
                byte[] rec = String.format("%015d\n", records).getBytes(StandardCharsets.US_ASCII);
                int n = fs.write(logH, rec, 0, rec.length);
                expect(n == RECORD, "append wrote " + n);
                fs.fsync(logH);
                records++;

                String f = dir + "/f" + round;
                String g = dir + "/g" + round;
                byte[] content = content(round);
                long h = fs.open(f, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0644);
                expect(fs.pwrite(h, 0, content, 0, content.length) == content.length, "short write " + f);
                fs.fsync(h);
                fs.close(h);
                fs.rename(f, g);
                expect(Arrays.equals(content, fs.readAll(g)), "read-back of " + g);
                if (round >= 2) {
                    fs.unlink(dir + "/g" + (round - 2));
                }
                byte[] block = content(round % 7);
                expect(fs.pwrite(held, heldBytes, block, 0, block.length) == block.length, "held write");
                heldBytes += block.length;
                if (round % 5 == 0) {
                    fs.fsync(held);
                }
                fs.mkdir(dir + "/d" + round, 0755);
                fs.rmdir(dir + "/d" + round);
            }
            fs.fsync(held);
            // The log: every acknowledged record once, in order, nothing else.
            byte[] all = fs.readAll(dir + "/log");
            expect(all.length == records * RECORD, "log holds " + all.length + " bytes for " + records + " records");
            for (long r = 0; r < records; r++) {
                String got = new String(all, (int) (r * RECORD), RECORD, StandardCharsets.US_ASCII);
                expect(got.equals(String.format("%015d\n", r)), "log record " + r + " is " + got.trim());
            }
            byte[] back = new byte[ghostData.length];
            expect(fs.pread(ghost, 0, back, 0, back.length) == back.length, "ghost read");
            expect(Arrays.equals(ghostData, back), "the file unlinked while open kept its data");
            expect(
                    fs.fstat(held).size() == heldBytes,
                    "held file size " + fs.fstat(held).size() + " != " + heldBytes);
            System.out.println("verified " + records + " rounds, " + fs.reconnects() + " reconnects, " + dir);
            fs.close(ghost);
            fs.close(held);
            fs.close(logH);
            fs.close();
        }

        private static byte[] content(int round) {
            byte[] b = new byte[1000 + (round % 13) * 700];
            new Random(round).nextBytes(b);
            return b;
        }

        private static void expect(boolean ok, String what) {
            if (!ok) {
                System.out.println("FAILED: " + what);
                System.out.flush();
                System.exit(3);
            }
        }
    }
}
