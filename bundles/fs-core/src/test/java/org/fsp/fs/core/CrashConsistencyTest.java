package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
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
 * Crash testing in the CrashMonkey manner: a seeded workload runs on a recording device; then, for many cut points
 * and many subsets of the writes not yet flushed at each cut, the resulting device is mounted (recovery), every file
 * and directory fsynced before the cut is checked for presence and content, the file system is unmounted and fsck
 * must find it clean.
 *
 * <p>System properties: {@code fsp.crash.seed} (first seed), {@code fsp.crash.rounds} (workloads, each with its own
 * seed), {@code fsp.crash.states} (crash states per workload), {@code fsp.crash.ops} (operations per workload). A
 * failure names the seed, cut and subset; rerun with {@code -Dfsp.crash.seed=...}.
 */
class CrashConsistencyTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final long SEED = Long.getLong("fsp.crash.seed", 20261120L);
    private static final int ROUNDS = Integer.getInteger("fsp.crash.rounds", 3);
    private static final int STATES = Integer.getInteger("fsp.crash.states", 700);
    private static final int OPS = Integer.getInteger("fsp.crash.ops", 250);

    /**
     * What a completed fsync promised: from event index {@code after} on, the path exists with the content (null
     * content: a directory), until event {@code until} where a later change to the same file began.
     */
    private static final class Promise {
        final int after;
        final String path;
        final byte[] content;
        int until = Integer.MAX_VALUE;

        Promise(int after, String path, byte[] content) {
            this.after = after;
            this.path = path;
            this.content = content;
        }
    }

    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path shadowDir;

    @Test
    void shouldRecoverEveryCrashStateCleanWithFsyncedDataPresent() throws Exception {
        int total = 0;
        for (int round = 0; round < ROUNDS; round++) {
            total += runRound(SEED + round, false);
        }
        assertTrue(total >= ROUNDS * STATES);
    }

    /**
     * The same with commits that need only outlive the process (a recoverable client's, through the journal shadow)
     * between the operations: they skip the flush and may be deferred behind ordered data, and a power loss must
     * still leave a clean prefix with every fsync kept. The crash states are mounted without the shadow, which a
     * reboot loses.
     */
    @Test
    void shouldRecoverEveryCrashStateWithWriteOnlyCommitsBetween() throws Exception {
        int total = 0;
        for (int round = 0; round < Math.max(1, ROUNDS - 1); round++) {
            total += runRound(SEED + 1000 + round, true);
        }
        assertTrue(total >= STATES);
    }

    private int runRound(long seed, boolean writeOnly) throws Exception {
        RecordingBlockDeviceTestDouble dev = new RecordingBlockDeviceTestDouble(768);
        TestFs.format(dev);
        FsCore fs = writeOnly
                ? FsCore.mount(
                        new org.fsp.fs.core.tools.DirectBlockScheduler(dev),
                        TestFs.options().withJournalShadow(shadowDir))
                : TestFs.mount(dev);
        dev.startRecording();
        Random rnd = new Random(seed);
        List<Promise> promises = workload(fs, dev, rnd, writeOnly);
        int events = dev.events();
        assertTrue(promises.size() > OPS / 10, "workload made only " + promises.size() + " promises");
        System.out.printf(
                "crash round seed %d: %d events, %d promises, %d states%n", seed, events, promises.size(), STATES);
        List<Integer> cuts = new ArrayList<>();
        for (int k = 0; k < STATES; k++) {
            cuts.add(1 + rnd.nextInt(events));
        }
        cuts.sort(null);
        int states = 0;
        for (int k = 0; k < cuts.size(); k++) {
            int cut = cuts.get(k);
            int width = cut - dev.volatileStart(cut);
            BitSet keep = new BitSet(width);
            int shape = k % 5;
            for (int b = 0; b < width; b++) {
                keep.set(b, shape == 0 || (shape != 1 && rnd.nextBoolean()));
            }
            checkState(seed, dev, cut, keep, promises);
            states++;
        }
        return states;
    }

    private void checkState(long seed, RecordingBlockDeviceTestDouble dev, int cut, BitSet keep, List<Promise> promises)
            throws Exception {
        String where = "seed " + seed + ", cut " + cut + ", kept " + keep;
        HeapBlockDeviceTestDouble crashed = dev.crashState(cut, keep);
        FsCore fs;
        try {
            fs = TestFs.mount(crashed);
        } catch (Exception e) {
            fail("mount failed at " + where + ": " + e, e);
            return;
        }
        for (Promise p : promises) {
            if (p.after > cut || cut >= p.until) {
                continue;
            }
            try {
                if (p.content == null) {
                    assertTrue(fs.stat(ROOT, p.path).isDirectory(), where + ": " + p.path);
                } else {
                    assertArrayEquals(p.content, TestFs.readFile(fs, ROOT, p.path), where + ": " + p.path);
                }
            } catch (FsException e) {
                fail(where + ": fsynced " + p.path + " is missing: " + e.getMessage());
            }
        }
        fs.unmount();
        List<String> problems = TestFs.fsck(crashed);
        assertEquals(List.of(), problems, "fsck after recovery at " + where);
    }

    private List<Promise> workload(FsCore fs, RecordingBlockDeviceTestDouble dev, Random rnd, boolean writeOnly)
            throws Exception {
        List<Promise> promises = new ArrayList<>();
        List<String> dirs = new ArrayList<>(List.of("/"));
        List<String> scratch = new ArrayList<>();
        int names = 0;
        for (int op = 0; op < OPS; op++) {
            int kind = rnd.nextInt(11);
            String dir = dirs.get(rnd.nextInt(dirs.size()));
            String base = dir.equals("/") ? "" : dir;
            try {
                switch (kind) {
                    case 0, 1, 2 -> {
                        String path = base + "/f" + names++;
                        byte[] content = new byte[rnd.nextInt(3) == 0 ? rnd.nextInt(120_000) : rnd.nextInt(5000)];
                        rnd.nextBytes(content);
                        long h = fs.open(ROOT, path, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0644);
                        fs.write(ROOT, h, MemorySegment.ofArray(content));
                        if (rnd.nextBoolean()) {
                            fs.fdatasync(ROOT, h);
                        } else {
                            fs.fsync(ROOT, h);
                        }
                        fs.close(ROOT, h);
                        promises.add(new Promise(dev.events(), path, content));
                    }
                    case 3 -> {
                        String path = base + "/d" + names++;
                        fs.mkdir(ROOT, path, 0755);
                        long h = fs.open(ROOT, dir, OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY, 0);
                        fs.fsync(ROOT, h);
                        fs.close(ROOT, h);
                        dirs.add(path);
                        promises.add(new Promise(dev.events(), path, null));
                    }
                    case 4, 5 -> {
                        String path = base + "/s" + names++;
                        byte[] content = new byte[rnd.nextInt(20_000)];
                        rnd.nextBytes(content);
                        TestFs.writeFile(fs, ROOT, path, content);
                        scratch.add(path);
                    }
                    case 6 -> {
                        if (!scratch.isEmpty()) {
                            String from = scratch.remove(rnd.nextInt(scratch.size()));
                            String to = rnd.nextBoolean() && !scratch.isEmpty()
                                    ? scratch.get(rnd.nextInt(scratch.size()))
                                    : base + "/r" + names++;
                            fs.rename(ROOT, from, to);
                            if (!scratch.contains(to)) {
                                scratch.add(to);
                            }
                        }
                    }
                    case 7 -> {
                        if (!scratch.isEmpty()) {
                            fs.unlink(ROOT, scratch.remove(rnd.nextInt(scratch.size())));
                        }
                    }
                    case 8 -> {
                        if (!scratch.isEmpty()) {
                            String path = scratch.get(rnd.nextInt(scratch.size()));
                            long h = fs.open(ROOT, path, OpenFlags.O_RDWR, 0);
                            if (rnd.nextBoolean()) {
                                fs.ftruncate(ROOT, h, rnd.nextInt(30_000));
                            } else {
                                byte[] more = new byte[rnd.nextInt(9000)];
                                rnd.nextBytes(more);
                                fs.pwrite(ROOT, h, rnd.nextInt(20_000), MemorySegment.ofArray(more));
                            }
                            if (rnd.nextInt(4) == 0) {
                                fs.unlink(ROOT, path);
                                scratch.remove(path);
                            }
                            fs.close(ROOT, h);
                        }
                    }
                    case 10 -> {
                        Promise old = null;
                        for (int tries = 0; tries < 5 && old == null; tries++) {
                            if (promises.isEmpty()) {
                                break;
                            }
                            Promise p = promises.get(rnd.nextInt(promises.size()));
                            old = p.content != null && p.until == Integer.MAX_VALUE ? p : null;
                        }
                        if (old != null) {
                            int start = dev.events();
                            byte[] more = new byte[1 + rnd.nextInt(12_000)];
                            rnd.nextBytes(more);
                            int at = rnd.nextInt(old.content.length + 1);
                            byte[] content = java.util.Arrays.copyOf(
                                    old.content, Math.max(old.content.length, at + more.length));
                            System.arraycopy(more, 0, content, at, more.length);
                            long h = fs.open(ROOT, old.path, OpenFlags.O_RDWR, 0);
                            fs.pwrite(ROOT, h, at, MemorySegment.ofArray(more));
                            fs.fsync(ROOT, h);
                            fs.close(ROOT, h);
                            old.until = start;
                            promises.add(new Promise(dev.events(), old.path, content));
                        }
                    }
                    default -> {
                        if (!scratch.isEmpty()) {
                            String path = scratch.get(rnd.nextInt(scratch.size()));
                            String link = base + "/l" + names++;
                            if (rnd.nextBoolean()) {
                                fs.link(ROOT, path, link);
                            } else {
                                fs.symlink(ROOT, path, link);
                            }
                            scratch.add(link);
                        }
                    }
                }
                if (writeOnly && rnd.nextInt(3) == 0) {
                    fs.commitChanges();
                }
            } catch (FsException e) {
                // Scratch operations may run out of space on the small device; promises are only made on success.
            }
        }
        return promises;
    }
}
