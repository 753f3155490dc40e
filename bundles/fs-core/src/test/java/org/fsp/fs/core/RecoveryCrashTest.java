package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.LosingWritesDeviceTestDouble;
import org.fsp.fs.core.testing.RecordingBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash during or after a recovery that keeps the recovered transactions in the journal (they go home at the next
 * checkpoint, not before the mount serves): a process answers changes through the journal shadow only (their device
 * writes lost), dies; the next mount recovers on a recording device and dies in turn. Every crash state of that second
 * process must mount, keep what was promised and be clean for fsck: with the shadow as the dying recovery left it
 * (a crash of the process) and without it (a power loss, which loses the shadow).
 */
class RecoveryCrashTest {

    private static final Credentials ROOT = Credentials.ROOT;

    @TempDir
    Path tmp;

    @Test
    void shouldRecoverFromACrashAtAnyPointOfARecoveryThatKeepsTheJournal() throws Exception {
        Random rnd = new Random(18);
        byte[] kept = bytes(rnd, 30_000);
        byte[] after = bytes(rnd, 50_000);
        Path firstShadow = Files.createDirectory(tmp.resolve("first"));

        // The first process: /kept synced; then /gone unlinked (its blocks freed), /dir and /dir/sub made and /kept
        // renamed to /dir/kept, answered through the shadow alone, their device writes lost.
        LosingWritesDeviceTestDouble first = new LosingWritesDeviceTestDouble(1024);
        TestFs.format(first);
        FsCore fs1 = mount(first, firstShadow);
        TestFs.writeFile(fs1, ROOT, "/kept", kept);
        TestFs.writeFile(fs1, ROOT, "/gone", bytes(rnd, 40_000));
        fs1.sync();
        first.losing = true;
        fs1.unlink(ROOT, "/gone");
        fs1.mkdir(ROOT, "/dir", 0755);
        fs1.commitChanges();
        fs1.mkdir(ROOT, "/dir/sub", 0755);
        fs1.rename(ROOT, "/kept", "/dir/kept");
        fs1.commitChanges();

        // The second process recovers on a recording device, then writes over the freed blocks and fsyncs.
        RecordingBlockDeviceTestDouble second = new RecordingBlockDeviceTestDouble(1024);
        MemorySegment.copy(
                first.storage(), 0, second.storage(), 0, first.storage().byteSize());
        second.startRecording();
        Path shadowBefore = copyShadow(firstShadow, "before");
        Path secondShadow = copyShadow(firstShadow, "second");
        FsCore fs2 = mount(second, secondShadow);
        int mounted = second.events();
        Path shadowMounted = copyShadow(secondShadow, "mounted");
        int flushes = 0;
        for (int i = 0; i < mounted; i++) {
            flushes += second.event(i).isFlush() ? 1 : 0;
        }
        assertEquals(1, flushes, "the recovering mount flushes once (the restored journal and the superblock)");
        assertTrue(fs2.stat(ROOT, "/dir/sub").isDirectory());
        assertArrayEquals(kept, TestFs.readFile(fs2, ROOT, "/dir/kept"));
        TestFs.writeFile(fs2, ROOT, "/after", after);
        long h = fs2.open(ROOT, "/after", OpenFlags.O_RDWR, 0);
        fs2.fsync(ROOT, h);
        fs2.close(ROOT, h);
        int afterSynced = second.events();
        fs2.mkdir(ROOT, "/later", 0755);
        fs2.sync();
        int events = second.events();

        int states = 0;
        for (int cut = 1; cut <= events; cut++) {
            int width = cut - second.volatileStart(cut);
            for (int shape = 0; shape < 3; shape++) {
                BitSet keep = new BitSet(width);
                for (int b = 0; b < width; b++) {
                    keep.set(b, shape == 0 || (shape == 2 && rnd.nextBoolean()));
                }
                String where = "cut " + cut + " of " + events + ", kept " + keep;
                // A power loss: no shadow; what was synced before the recovery stays, and what it synced after.
                check(
                        second.crashState(cut, keep),
                        null,
                        where + ", power loss",
                        kept,
                        false,
                        cut >= afterSynced ? after : null);
                if (cut <= mounted) {
                    // A crash of the recovering process, before and after it adopted the shadow.
                    check(
                            second.crashState(cut, keep),
                            copyShadow(shadowBefore, "s" + states),
                            where + ", shadow before",
                            kept,
                            true,
                            null);
                    check(
                            second.crashState(cut, keep),
                            copyShadow(shadowMounted, "m" + states),
                            where + ", shadow adopted",
                            kept,
                            true,
                            null);
                }
                states++;
            }
        }
        assertTrue(states >= 3 * events);
    }

    private void check(
            HeapBlockDeviceTestDouble state, Path shadow, String where, byte[] kept, boolean answered, byte[] after)
            throws Exception {
        FsCore fs;
        try {
            fs = shadow == null ? TestFs.mount(state) : mount(state, shadow);
        } catch (Exception e) {
            fail("mount failed at " + where + ": " + e, e);
            return;
        }
        // Without the shadow the answered changes may be lost as a whole, never in part.
        boolean renamed = answered || exists(fs, "/dir/kept");
        assertArrayEquals(kept, TestFs.readFile(fs, ROOT, renamed ? "/dir/kept" : "/kept"), where + ": kept");
        if (renamed) {
            assertTrue(fs.stat(ROOT, "/dir/sub").isDirectory(), where + ": /dir/sub");
        }
        if (after != null) {
            assertArrayEquals(after, TestFs.readFile(fs, ROOT, "/after"), where + ": /after");
        }
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(state), "fsck after recovery at " + where);
    }

    private static boolean exists(FsCore fs, String path) {
        try {
            fs.stat(ROOT, path);
            return true;
        } catch (org.fsp.api.fs.FsException e) {
            return false;
        }
    }

    private static FsCore mount(HeapBlockDeviceTestDouble d, Path shadow) throws Exception {
        return FsCore.mount(new DirectBlockScheduler(d), TestFs.options().withJournalShadow(shadow));
    }

    private Path copyShadow(Path from, String name) throws Exception {
        Path to = Files.createDirectory(tmp.resolve(name));
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}
