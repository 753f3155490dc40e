package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many threads at once: creates, writes with fsync (group commit), stats, listings, and a rename storm that moves
 * directories into each other across parents. Every failure must be an errno a racing caller can legitimately get;
 * nothing may deadlock (the timeout only guards against a hang); afterwards fsck must find the image clean and the
 * surviving files must hold what was written.
 *
 * <p>System properties: {@code fsp.stress.threads}, {@code fsp.stress.ops}, {@code fsp.stress.seed}.
 */
class ConcurrencyStressTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final int THREADS = Integer.getInteger("fsp.stress.threads", 8);
    private static final int OPS = Integer.getInteger("fsp.stress.ops", 600);
    private static final long SEED = Long.getLong("fsp.stress.seed", 99L);
    private static final Set<Errno> RACE_ERRNOS = EnumSet.of(
            Errno.ENOENT, Errno.EEXIST, Errno.ENOTEMPTY, Errno.EINVAL, Errno.ENOTDIR, Errno.EISDIR, Errno.ENOSPC);

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void shouldSurviveConcurrentOperationsAndRenameStorms() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(16384);
        TestFs.format(d);
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), new FsCore.Options(2L << 20, 8, 20));
        for (int k = 0; k < 4; k++) {
            fs.mkdir(ROOT, "/d" + k, 0755);
            fs.mkdir(ROOT, "/d" + k + "/sub", 0755);
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicLong fsyncs = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                Random rnd = new Random(SEED * 31 + id);
                try {
                    TestFs.writeFile(fs, ROOT, "/keep-" + id, content(id));
                } catch (Exception e) {
                    failures.add("thread " + id + " writing its keep file: " + e);
                }
                for (int op = 0; op < OPS; op++) {
                    try {
                        step(fs, rnd, id, op, fsyncs);
                    } catch (FsException e) {
                        if (!RACE_ERRNOS.contains(e.errno())) {
                            failures.add("thread " + id + " op " + op + ": " + e.getMessage());
                        }
                    } catch (Exception | Error e) {
                        failures.add("thread " + id + " op " + op + ": " + e);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), List.copyOf(failures));
        assertTrue(fsyncs.get() > 0);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
        FsCore again = TestFs.mount(d);
        for (int t = 0; t < THREADS; t++) {
            byte[] expected = content(t);
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected, TestFs.readFile(again, ROOT, "/keep-" + t));
        }
        again.unmount();
    }

    private static byte[] content(int id) {
        byte[] b = new byte[5000 + id * 100];
        new Random(id).nextBytes(b);
        return b;
    }

    private static void step(FsCore fs, Random rnd, int id, int op, AtomicLong fsyncs) throws Exception {
        String dir = "/d" + rnd.nextInt(4);
        switch (rnd.nextInt(9)) {
            case 0, 1 -> {
                String path = dir + "/f-" + id + "-" + op;
                long h = fs.open(ROOT, path, OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
                try {
                    fs.write(ROOT, h, MemorySegment.ofArray(new byte[1 + rnd.nextInt(9000)]));
                    if (rnd.nextBoolean()) {
                        fs.fsync(ROOT, h);
                        fsyncs.incrementAndGet();
                    }
                } finally {
                    fs.close(ROOT, h);
                }
            }
            case 2 -> fs.rename(ROOT, "/d" + rnd.nextInt(4) + "/sub", "/d" + rnd.nextInt(4) + "/sub/sub");
            case 3 -> fs.rename(ROOT, "/d" + rnd.nextInt(4) + "/sub/sub", "/d" + rnd.nextInt(4) + "/sub");
            case 4 ->
                fs.rename(
                        ROOT,
                        dir + "/f-" + rnd.nextInt(THREADS) + "-" + rnd.nextInt(op + 1),
                        "/d" + rnd.nextInt(4) + "/moved-" + rnd.nextInt(20));
            case 5 -> fs.stat(ROOT, dir + "/sub");
            case 6 -> fs.readdir(ROOT, dir, 0, 50);
            case 7 -> fs.unlink(ROOT, "/d" + rnd.nextInt(4) + "/moved-" + rnd.nextInt(20));
            default -> {
                fs.mkdir(ROOT, dir + "/sub/t" + rnd.nextInt(5), 0755);
                fs.rmdir(ROOT, "/d" + rnd.nextInt(4) + "/sub/t" + rnd.nextInt(5));
            }
        }
    }
}
