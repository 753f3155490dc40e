package org.fsp.itests;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;

/**
 * A client JVM for {@link UpgradeIT}: {@code threads} threads, each on its own connection, keep one file handle open
 * for their whole life and write through it across every upgrade: a 4 KiB block at a time into a ring of
 * {@value #RING_BLOCKS} blocks of {@code DIR/jvm<id>-<thread>/log}, each write followed by an fsync and a read back
 * through the same handle; between them, whole small files are written and read back by path. When standard input
 * closes, every block that was fsynced is read back through the long-lived handle (so it is still valid) and compared.
 *
 * <p>Prints {@code connected} when all threads have their handle open, then {@code verified <requests> requests
 * <bytes> fsynced bytes <handles> handles}; on any failure prints it and exits with status 1.
 *
 * <p>Usage: {@code UpgradeLoadClient SOCKET DIR ID THREADS}; DIR must exist.
 */
public final class UpgradeLoadClient {

    static final int BLOCK_BYTES = 4096;
    /** The log file wraps around after this many blocks, so that a long run does not fill the suite's image. */
    static final int RING_BLOCKS = 64;

    private UpgradeLoadClient() {}

    /** One thread's connection, open handle and what it last fsynced into each block of the ring. */
    private static final class Writer {
        final FspClient client;
        final String dir;
        final long handle;
        final long[] fsyncedSeed = new long[RING_BLOCKS];
        final boolean[] fsynced = new boolean[RING_BLOCKS];

        Writer(FspClient client, String dir) throws IOException {
            this.client = client;
            this.dir = dir;
            client.mkdir(dir, 0755);
            this.handle = client.open(dir + "/log", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        }

        long fsyncedBytes() {
            long n = 0;
            for (boolean b : fsynced) {
                n += b ? BLOCK_BYTES : 0;
            }
            return n;
        }
    }

    static byte[] block(long seed) {
        byte[] data = new byte[BLOCK_BYTES];
        new Random(seed).nextBytes(data);
        return data;
    }

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        String dir = args[1];
        int id = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        AtomicLong requests = new AtomicLong();
        List<Throwable> failures = new ArrayList<>();
        List<Writer> writers = new ArrayList<>();
        List<Thread> running = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        long bytes = 0;
        try {
            for (int t = 0; t < threads; t++) {
                writers.add(new Writer(FspClient.connect(socket), dir + "/jvm" + id + "-" + t));
            }
            System.out.println("connected");
            for (int t = 0; t < threads; t++) {
                Writer w = writers.get(t);
                Random random = new Random(id * 1_000L + t);
                running.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (long n = 0; !stop.get(); n++) {
                            int slot = (int) (n % RING_BLOCKS);
                            long seed = random.nextLong();
                            byte[] data = block(seed);
                            // A block whose write or fsync fails has undefined content: it is not checked later.
                            w.fsynced[slot] = false;
                            if (w.client.pwrite(w.handle, (long) slot * BLOCK_BYTES, data, 0, BLOCK_BYTES)
                                    != BLOCK_BYTES) {
                                throw new AssertionError(w.dir + "/log: short write");
                            }
                            w.client.fsync(w.handle);
                            w.fsyncedSeed[slot] = seed;
                            w.fsynced[slot] = true;
                            byte[] back = new byte[BLOCK_BYTES];
                            w.client.pread(w.handle, (long) slot * BLOCK_BYTES, back, 0, BLOCK_BYTES);
                            if (!Arrays.equals(data, back)) {
                                throw new AssertionError(w.dir + "/log block " + slot + " read back differs");
                            }
                            String path = w.dir + "/f" + (n % 8);
                            byte[] small = new byte[1 + random.nextInt(SwapLoadClient.MAX_FILE_BYTES)];
                            random.nextBytes(small);
                            w.client.writeAll(path, small);
                            if (!Arrays.equals(small, w.client.readAll(path))) {
                                throw new AssertionError(path + " read back differs");
                            }
                            requests.addAndGet(4);
                        }
                    } catch (IOException | RuntimeException | AssertionError e) {
                        synchronized (failures) {
                            failures.add(e);
                        }
                    }
                }));
            }
            while (System.in.read() != -1) {
                // runs until the test closes our standard input
            }
            stop.set(true);
            for (Thread t : running) {
                t.join();
            }
            for (Writer w : writers) {
                for (int slot = 0; slot < RING_BLOCKS; slot++) {
                    if (!w.fsynced[slot]) {
                        continue;
                    }
                    byte[] back = new byte[BLOCK_BYTES];
                    w.client.pread(w.handle, (long) slot * BLOCK_BYTES, back, 0, BLOCK_BYTES);
                    if (!Arrays.equals(block(w.fsyncedSeed[slot]), back)) {
                        failures.add(new AssertionError(w.dir + "/log block " + slot + " differs at the final check"));
                    }
                }
                bytes += w.fsyncedBytes();
                w.client.close(w.handle);
            }
        } catch (IOException | RuntimeException e) {
            failures.add(e);
        } finally {
            writers.forEach(w -> w.client.close());
        }
        if (!failures.isEmpty()) {
            failures.forEach(e -> e.printStackTrace(System.out));
            System.out.println("FAILED " + failures.size());
            System.exit(1);
        }
        System.out.println(
                "verified " + requests.get() + " requests " + bytes + " fsynced bytes " + writers.size() + " handles");
    }
}
