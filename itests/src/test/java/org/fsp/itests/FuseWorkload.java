package org.fsp.itests;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A program that knows nothing of FSP, run in a JVM of its own against a FUSE mount with ordinary file I/O: it keeps
 * one file open for the whole run (positioned writes, an fsync every 16 records, reads of earlier records) and
 * rewrites, fsyncs, re-reads and stats a ring of small files, and lists its directory. Every read is checked against
 * what was written, fsynced or not (under supervision fspd answers a write only once it is durable). Any exception ends it with exit code 1 and the exception printed: across the kills of fspd it must
 * see none. Prints {@code started}, then runs until its standard input closes, then checks the whole held file and
 * prints {@code verified OPS ops, longest call MS ms, HELD records}.
 *
 * <p>Only calls whose second application changes nothing are made (create without O_EXCL, positioned writes, fsync,
 * reads, stat, readdir, truncate by open): a namespace change that the dead fspd applied and did not answer is applied
 * again when the kernel re-sends it (docs/recovery.md).
 */
public final class FuseWorkload {

    private static final int RECORD = 64;
    private static final int RING = 24;

    private FuseWorkload() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(Path.of(args[0]));
        AtomicBoolean stop = new AtomicBoolean();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                while (in.readLine() != null) {
                    // only the end matters
                }
            } catch (Exception e) {
                // closed
            }
            stop.set(true);
        });
        AtomicLong longest = new AtomicLong();
        long ops = 0;
        int held = 0;
        Map<Integer, byte[]> ring = new HashMap<>();
        System.out.println("started");
        System.out.flush();
        try (FileChannel log = FileChannel.open(
                dir.resolve("held.log"),
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            for (long i = 0; !stop.get(); i++) {
                long t0 = System.nanoTime();
                // The file held open across every kill: its handle was opened by an fspd long dead.
                ByteBuffer rec = ByteBuffer.wrap(record(held));
                while (rec.hasRemaining()) {
                    log.write(rec, (long) held * RECORD + rec.position());
                }
                held++;
                if (held % 16 == 0) {
                    log.force(true);
                }
                int back = (int) (i * 7919 % held);
                check(read(log, (long) back * RECORD, RECORD), record(back), "held.log record " + back);
                ops += 3;
                // Small files rewritten in a ring: create or truncate, write, fsync, read back, stat.
                int slot = (int) (i % RING);
                Path f = dir.resolve("ring-" + slot);
                byte[] content = ringContent(i);
                try (FileChannel w = FileChannel.open(
                        f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ByteBuffer b = ByteBuffer.wrap(content);
                    while (b.hasRemaining()) {
                        w.write(b);
                    }
                    w.force(true);
                }
                ring.put(slot, content);
                check(Files.readAllBytes(f), content, f.toString());
                if (Files.size(f) != content.length) {
                    throw new AssertionError(f + ": size " + Files.size(f) + ", wrote " + content.length);
                }
                ops += 6;
                if (i % 10 == 0) {
                    try (var s = Files.list(dir)) {
                        long n = s.count();
                        if (n != Math.min(RING, i + 1) + 1) {
                            throw new AssertionError(dir + " lists " + n + " names after " + (i + 1) + " rounds");
                        }
                    }
                    int other = (int) ((i / 10) % Math.min(RING, i + 1));
                    check(Files.readAllBytes(dir.resolve("ring-" + other)), ring.get(other), "ring-" + other);
                    ops += 2;
                }
                longest.accumulateAndGet(System.nanoTime() - t0, Math::max);
            }
            log.force(true);
            for (int r = 0; r < held; r++) {
                check(read(log, (long) r * RECORD, RECORD), record(r), "held.log record " + r + " at the end");
            }
        } catch (Throwable t) {
            System.out.println("FAILED after " + ops + " ops: " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
        System.out.println(
                "verified " + ops + " ops, longest call " + longest.get() / 1_000_000 + " ms, " + held + " records");
        System.out.flush();
    }

    private static byte[] record(int n) {
        byte[] r = new byte[RECORD];
        Arrays.fill(r, (byte) ('a' + n % 26));
        byte[] label = String.format("%010d\n", n).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(label, 0, r, 0, label.length);
        return r;
    }

    private static byte[] ringContent(long i) {
        byte[] b = new byte[(int) (1000 + i % 9000)];
        for (int k = 0; k < b.length; k++) {
            b[k] = (byte) (i * 31 + k);
        }
        return b;
    }

    private static byte[] read(FileChannel c, long at, int n) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b, at + b.position()) < 0) {
                break;
            }
        }
        return Arrays.copyOf(b.array(), b.position());
    }

    private static void check(byte[] got, byte[] want, String what) {
        if (!Arrays.equals(got, want)) {
            throw new AssertionError(
                    what + ": read " + got.length + " bytes that differ from the " + want.length + " written");
        }
    }
}
