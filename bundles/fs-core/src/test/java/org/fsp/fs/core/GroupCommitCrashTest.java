package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.RecordingBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.Test;

/**
 * The commit thread's path under crashes: several threads create, write and fsync files at once on a recording
 * device whose flushes take time, so their fsyncs share commits and the journal fills and is checkpointed in the
 * background while commits go on. Then, for many cut points and subsets of the unflushed writes at each, the crashed
 * device is mounted: every file whose fsync had returned before the cut must be there with its content, and fsck must
 * find the image clean.
 *
 * <p>The threads interleave differently on every run, so a failure prints the cut and subset of that run's events
 * rather than a seed that replays it; {@code fsp.groupcommit.seed} fixes the file contents and the cuts.
 */
class GroupCommitCrashTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final long SEED = Long.getLong("fsp.groupcommit.seed", 20261202L);
    private static final int THREADS = 4;
    private static final int FILES_PER_THREAD = 60;
    private static final int STATES = Integer.getInteger("fsp.groupcommit.states", 400);

    private record Promise(int after, String path, byte[] content) {}

    @Test
    void shouldKeepEveryFsyncOfConcurrentThreadsDurableAcrossCrashes() throws Exception {
        RecordingBlockDeviceTestDouble dev = new RecordingBlockDeviceTestDouble(2048);
        TestFs.format(dev);
        FsCore fs = TestFs.mount(dev);
        for (int t = 0; t < THREADS; t++) {
            fs.mkdir(ROOT, "/t" + t, 0755);
        }
        fs.sync();
        dev.startRecording();
        dev.setFlushDelay(300_000);
        List<Promise> promises = Collections.synchronizedList(new ArrayList<>());
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                Random rnd = new Random(SEED + id);
                try {
                    for (int k = 0; k < FILES_PER_THREAD; k++) {
                        String path = "/t" + id + "/f" + k;
                        // Mostly small files (their data is journaled), some larger than 16 blocks (ordered data).
                        byte[] content =
                                new byte[rnd.nextInt(5) == 0 ? 70_000 + rnd.nextInt(30_000) : rnd.nextInt(9000)];
                        rnd.nextBytes(content);
                        long h = fs.open(ROOT, path, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0644);
                        fs.write(ROOT, h, MemorySegment.ofArray(content));
                        if (rnd.nextBoolean()) {
                            fs.fsync(ROOT, h);
                        } else {
                            fs.fdatasync(ROOT, h);
                        }
                        promises.add(new Promise(dev.events(), path, content));
                        fs.close(ROOT, h);
                        if (k % 3 == 2) {
                            // Frees blocks and dirties metadata no fsync asks for: commits carry it regardless.
                            String gone = "/t" + id + "/f" + (k - 2);
                            fs.unlink(ROOT, gone);
                            promises.removeIf(p -> p.path().equals(gone));
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), errors, "the workload failed");
        dev.setFlushDelay(0);
        long commits = (Long) fs.status().get("journal.commits");
        long grouped = (Long) fs.status().get("journal.groupedWaits");
        long background = (Long) fs.status().get("journal.backgroundCheckpoints");
        int fsyncs = THREADS * FILES_PER_THREAD;
        System.out.printf(
                "group commit: %d fsyncs, %d commits, %d grouped waits, %d background checkpoints, %d events%n",
                fsyncs, commits, grouped, background, dev.events());
        assertTrue(commits < fsyncs, fsyncs + " fsyncs from " + THREADS + " threads took " + commits + " commits");
        assertTrue(grouped > 0, "no fsync rode on a commit in flight");
        assertTrue(background > 0, "the journal was never checkpointed in the background");
        fs.unmount();

        int events = dev.events();
        Random rnd = new Random(SEED);
        List<Integer> cuts = new ArrayList<>();
        for (int k = 0; k < STATES; k++) {
            cuts.add(1 + rnd.nextInt(events));
        }
        cuts.sort(null);
        List<Promise> made = List.copyOf(promises);
        for (int k = 0; k < cuts.size(); k++) {
            int cut = cuts.get(k);
            int width = cut - dev.volatileStart(cut);
            BitSet keep = new BitSet(width);
            for (int b = 0; b < width; b++) {
                keep.set(b, k % 3 == 0 || (k % 3 == 2 && rnd.nextBoolean()));
            }
            checkState(dev, cut, keep, made);
        }
    }

    private static void checkState(RecordingBlockDeviceTestDouble dev, int cut, BitSet keep, List<Promise> promises)
            throws Exception {
        String where = "cut " + cut + " of " + dev.events() + ", kept " + keep;
        HeapBlockDeviceTestDouble crashed = dev.crashState(cut, keep);
        FsCore fs;
        try {
            fs = TestFs.mount(crashed);
        } catch (Exception e) {
            fail("mount failed at " + where + ": " + e, e);
            return;
        }
        for (Promise p : promises) {
            if (p.after() > cut) {
                continue;
            }
            try {
                assertArrayEquals(p.content(), TestFs.readFile(fs, ROOT, p.path()), where + ": " + p.path());
            } catch (FsException e) {
                fail(where + ": fsynced " + p.path() + " is missing: " + e.getMessage());
            }
        }
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(crashed), "fsck after recovery at " + where);
    }
}
