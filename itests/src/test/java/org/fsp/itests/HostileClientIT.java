package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Hostile clients against the real {@code bin/fspd} on an io_uring image, each case an input and what the server
 * must do: a write racing the close of an unlinked file on another lane, and a client SIGKILLed with writes in
 * flight, leave the free block and inode counts where they started and the image fsck-clean after shutdown.
 *
 * <p>System properties {@code fsp.hostile.rounds} (default 30,000: about 30 s here; fs-core's HandleRaceTest runs
 * 100,000 rounds of the same race in process) and {@code fsp.hostile.kills} (default 12).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileClientIT {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final int ROUNDS = Integer.getInteger("fsp.hostile.rounds", 30_000);
    private static final int KILLS = Integer.getInteger("fsp.hostile.kills", 12);
    private static final int WRITE_BYTES = 64 * 1024;

    private static Path work;
    private static Path device;
    private static Path socket;
    private static Path log;
    private static Process daemon;
    private static FsStats start;

    @BeforeAll
    static void startDaemon() throws Exception {
        work = FspBundleSet.workDirectory("hostile");
        device = work.resolve("dev.img");
        socket = work.resolve("fsp.sock");
        log = work.resolve("fspd.out");
        daemon = FspProcesses.startDaemon(
                log, "--device", device.toString(), "--size", "1G", "--socket", socket.toString());
        FspProcesses.awaitReady(daemon, socket, log, START_TIMEOUT);
        try (FspClient fs = FspClient.connect(socket)) {
            fs.mkdir("/tmp", 01777);
            fs.chmod("/tmp", 01777);
            // The directory's first block, so that the counts compare files only.
            fs.writeAll("/tmp/first", new byte[0]);
            fs.unlink("/tmp/first");
            start = fs.statfs();
        }
    }

    @AfterAll
    static void stopDaemon() throws InterruptedException {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroyForcibly().waitFor();
        }
    }

    @Test
    @Order(1)
    void writesRacingTheCloseOfAnUnlinkedFileOnAnotherLaneShouldLeaveNoTrace() throws Exception {
        try (FspClient fs = FspClient.connect(socket, 2)) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CyclicBarrier go = new CyclicBarrier(2);
            CyclicBarrier done = new CyclicBarrier(2);
            long[] handle = new long[1];
            // Threads are spread over lanes round-robin: the closer and this thread use different lanes, so two
            // workers may run the close and a write at once.
            Thread closer = Thread.ofPlatform().start(() -> {
                try {
                    for (int r = 0; r < ROUNDS; r++) {
                        go.await();
                        fs.close(handle[0]);
                        done.await();
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                    go.reset();
                    done.reset();
                }
            });
            byte[] data = new byte[WRITE_BYTES];
            int refused = 0;
            for (int r = 0; r < ROUNDS && failure.get() == null; r++) {
                handle[0] = fs.open("/tmp/victim", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
                fs.unlink("/tmp/victim");
                go.await();
                for (int k = 0; k < 4; k++) {
                    try {
                        fs.pwrite(handle[0], (long) k * WRITE_BYTES, data, 0, data.length);
                    } catch (java.io.IOException e) {
                        refused++; // EBADF once the close has won: what Linux answers too
                    }
                }
                done.await();
            }
            closer.join();
            if (failure.get() != null) {
                throw new AssertionError("closer failed", failure.get());
            }
            System.out.println("HostileClientIT: " + ROUNDS + " rounds, " + refused + " writes refused after close");
            FsStats end = fs.statfs();
            assertEquals(start.freeBlocks(), end.freeBlocks(), "free blocks after the races");
            assertEquals(start.freeInodes(), end.freeInodes(), "free inodes after the races");
        }
    }

    @Test
    @Order(2)
    void aClientKilledWithWritesInFlightShouldLeaveNoTrace() throws Exception {
        Random rnd = new Random(7);
        for (int k = 0; k < KILLS; k++) {
            LoadClientJvm client = LoadClientJvm.start(UnlinkedWriter.class, "unlinked-writer", socket.toString());
            client.awaitLine("writing", 30_000);
            Thread.sleep(100 + rnd.nextInt(400));
            client.process().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        // A client killed between its create and its unlink leaves a file behind, as it would on any file system.
        try (FspClient fs = FspClient.connect(socket)) {
            for (var e : fs.readdir("/tmp")) {
                fs.unlink("/tmp/" + e.name());
            }
        }
        // The server frees a dead client's handles when its socket closes; give it a moment to notice the last one.
        FsStats end = null;
        for (int attempt = 0; attempt < 50; attempt++) {
            try (FspClient fs = FspClient.connect(socket)) {
                end = fs.statfs();
            }
            if (end.freeBlocks() == start.freeBlocks() && end.freeInodes() == start.freeInodes()) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals(start.freeBlocks(), end.freeBlocks(), "free blocks after " + KILLS + " killed clients");
        assertEquals(start.freeInodes(), end.freeInodes(), "free inodes after " + KILLS + " killed clients");
    }

    @Test
    @Order(3)
    void theImageShouldBeCleanAfterShutdown() throws Exception {
        assertEquals(0, FspProcesses.stop(daemon, Duration.ofSeconds(60)), Files.readString(log));
        FspProcesses.Result fsck = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()), Duration.ofSeconds(120));
        assertEquals(0, fsck.exitCode(), "fsck after the hostile clients:\n" + fsck.all());
    }

    /**
     * A client JVM that opens files, unlinks them and writes to them from two threads without end, printing
     * "writing" once under way: the test kills it with requests in flight.
     */
    public static final class UnlinkedWriter {
        public static void main(String[] args) throws Exception {
            FspClient fs = FspClient.connect(Path.of(args[0]), 2);
            byte[] data = new byte[WRITE_BYTES];
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                String name = "/tmp/doomed-" + ProcessHandle.current().pid() + "-" + t;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (long n = 0; ; n++) {
                            long h = fs.open(name, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
                            fs.unlink(name);
                            for (int k = 0; k < 8; k++) {
                                fs.pwrite(h, (long) k * WRITE_BYTES, data, 0, data.length);
                            }
                            if (n % 4 != 3) {
                                fs.close(h); // one handle in four stays open: the server must free it at death
                            }
                        }
                    } catch (Exception e) {
                        System.out.println("failed: " + e);
                    }
                }));
            }
            System.out.println("writing");
            System.out.flush();
            for (Thread t : threads) {
                t.join();
            }
        }
    }
}
