package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.RecordingBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

/** The live-upgrade path of the file system: {@link FsCore#quiesce} then a mount from its hand-off. */
class FsCoreHandoffTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final int RW_CREATE = OpenFlags.O_RDWR | OpenFlags.O_CREAT;

    private static FsCore adopt(BlockDevice d, FileSystemHandoff handoff) throws IOException {
        return FsCore.mount(new DirectBlockScheduler(d), TestFs.options(), FsCore::wallClockNanos, handoff);
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] pread(FsCore fs, long h, long offset, int n) throws FsException {
        byte[] out = new byte[n];
        assertEquals(n, fs.pread(ROOT, h, offset, MemorySegment.ofArray(out)));
        return out;
    }

    @Test
    void shouldKeepOpenHandlesWithTheirNumbersFlagsAndPositions() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        FsCore fs = TestFs.formatAndMount(d);
        TestFs.writeFile(fs, ROOT, "/read-me", TestFs.utf8("0123456789"));
        long writer = fs.open(ROOT, "/log", RW_CREATE | OpenFlags.O_APPEND, 0644);
        fs.write(ROOT, writer, MemorySegment.ofArray(TestFs.utf8("first ")));
        long reader = fs.open(ROOT, "/read-me", OpenFlags.O_RDONLY, 0);
        byte[] four = new byte[4];
        fs.read(ROOT, reader, MemorySegment.ofArray(four));

        FileSystemHandoff handoff = fs.quiesce(Map.of());
        assertEquals(2, handoff.openFiles().size());
        FsException refused = assertThrows(FsException.class, () -> fs.stat(ROOT, "/log"));
        assertEquals(Errno.EIO, refused.errno());

        FsCore next = adopt(d, handoff);
        assertEquals(2, next.handlesAdopted());
        next.read(ROOT, reader, MemorySegment.ofArray(four));
        assertArrayEquals(TestFs.utf8("4567"), four, "the read position crossed the hand-off");
        next.write(ROOT, writer, MemorySegment.ofArray(TestFs.utf8("second")));
        assertArrayEquals(TestFs.utf8("first second"), TestFs.readFile(next, ROOT, "/log"));
        FsException notWritable =
                assertThrows(FsException.class, () -> next.write(ROOT, reader, MemorySegment.ofArray(four)));
        assertEquals(Errno.EBADF, notWritable.errno(), "the open flags crossed the hand-off");
        long fresh = next.open(ROOT, "/read-me", OpenFlags.O_RDONLY, 0);
        assertTrue(fresh > Math.max(reader, writer), "handle numbers are not reused: " + fresh);
        for (long h : new long[] {reader, writer, fresh}) {
            next.close(ROOT, h);
        }
        next.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }

    @Test
    void shouldKeepDataWrittenWithAndWithoutFsync() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        FsCore fs = TestFs.formatAndMount(d);
        byte[] synced = bytes(50_000, 1);
        byte[] unsynced = bytes(70_000, 2);
        long a = fs.open(ROOT, "/synced", RW_CREATE, 0644);
        fs.write(ROOT, a, MemorySegment.ofArray(synced));
        fs.fsync(ROOT, a);
        fs.mkdir(ROOT, "/dir", 0755);
        long b = fs.open(ROOT, "/dir/unsynced", RW_CREATE, 0644);
        fs.write(ROOT, b, MemorySegment.ofArray(unsynced));

        FsCore next = adopt(d, fs.quiesce(Map.of()));
        assertArrayEquals(synced, pread(next, a, 0, synced.length));
        assertArrayEquals(unsynced, pread(next, b, 0, unsynced.length));
        next.close(ROOT, a);
        next.close(ROOT, b);
        next.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
        FsCore again = TestFs.mount(d);
        assertArrayEquals(unsynced, TestFs.readFile(again, ROOT, "/dir/unsynced"));
        again.unmount();
    }

    @Test
    void shouldKeepAFileUnlinkedWhileOpenUntilItsLastCloseAfterTheHandoff() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        FsCore fs = TestFs.formatAndMount(d);
        long freeInodes = fs.statfs(ROOT).freeInodes();
        byte[] data = bytes(40_000, 3);
        long h = fs.open(ROOT, "/doomed", RW_CREATE, 0644);
        fs.write(ROOT, h, MemorySegment.ofArray(data));
        fs.unlink(ROOT, "/doomed");

        FsCore next = adopt(d, fs.quiesce(Map.of()));
        assertEquals(
                Errno.ENOENT,
                assertThrows(FsException.class, () -> next.stat(ROOT, "/doomed"))
                        .errno());
        assertArrayEquals(data, pread(next, h, 0, data.length), "the orphan's data survived the hand-off");
        assertTrue(next.statfs(ROOT).freeInodes() < freeInodes, "the orphan still holds its inode");
        long freeBlocksWithOrphan = next.statfs(ROOT).freeBlocks();
        next.close(ROOT, h);
        assertEquals(freeInodes, next.statfs(ROOT).freeInodes(), "the last close freed the orphan");
        // Freed blocks come back at the next checkpoint; unmount checkpoints.
        next.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
        FsCore again = TestFs.mount(d);
        assertEquals(freeInodes, again.statfs(ROOT).freeInodes());
        long orphanBlocks = (data.length + 4095) / 4096;
        assertTrue(
                again.statfs(ROOT).freeBlocks() >= freeBlocksWithOrphan + orphanBlocks,
                "the orphan's " + orphanBlocks + " blocks are free again");
        again.unmount();
    }

    @Test
    void shouldIgnoreAHandoffOfAnotherDevice() throws Exception {
        HeapBlockDeviceTestDouble first = new HeapBlockDeviceTestDouble(2048);
        FsCore fs = TestFs.formatAndMount(first);
        long h = fs.open(ROOT, "/open", RW_CREATE, 0644);
        FileSystemHandoff handoff = fs.quiesce(Map.of());

        HeapBlockDeviceTestDouble other = new HeapBlockDeviceTestDouble(2048);
        TestFs.format(other);
        FsCore elsewhere = adopt(other, handoff);
        assertEquals(-1, elsewhere.handlesAdopted());
        assertEquals(
                Errno.EBADF,
                assertThrows(FsException.class, () -> elsewhere.fstat(ROOT, h)).errno());
        assertEquals(
                Errno.ENOENT,
                assertThrows(FsException.class, () -> elsewhere.stat(ROOT, "/open"))
                        .errno());
        elsewhere.unmount();
        assertEquals(List.of(), TestFs.fsck(other));
    }

    /**
     * A crash at any point after a hand-off (no unmount), with any subset of the writes since the last flush lost,
     * recovers to a clean image holding what was fsynced; the orphan the hand-off carried is freed by recovery.
     */
    @Test
    void shouldRecoverACleanImageAfterACrashFollowingAHandoff() throws Exception {
        RecordingBlockDeviceTestDouble d = new RecordingBlockDeviceTestDouble(1024);
        FsCore fs = TestFs.formatAndMount(d);
        byte[] kept = bytes(30_000, 4);
        TestFs.writeFile(fs, ROOT, "/kept", kept);
        long orphan = fs.open(ROOT, "/orphan", RW_CREATE, 0644);
        fs.write(ROOT, orphan, MemorySegment.ofArray(bytes(20_000, 5)));
        fs.unlink(ROOT, "/orphan");
        fs.sync();
        d.startRecording();
        FsCore next = adopt(d, fs.quiesce(Map.of()));
        byte[] later = bytes(12_000, 6);
        long h = next.open(ROOT, "/later", RW_CREATE, 0644);
        next.write(ROOT, h, MemorySegment.ofArray(later));
        next.fsync(ROOT, h);
        int fsyncedAt = d.events();
        next.write(ROOT, orphan, MemorySegment.ofArray(bytes(8_000, 7)));
        next.mkdir(ROOT, "/unsynced-dir", 0755);
        next.sync();
        int events = d.events();

        Random rnd = new Random(8);
        int states = 0;
        for (int cut = 1; cut <= events; cut++) {
            for (int subset = 0; subset < 4; subset++) {
                int width = cut - d.volatileStart(cut);
                BitSet keep = new BitSet(width);
                for (int k = 0; k < width; k++) {
                    keep.set(k, subset == 0 || rnd.nextBoolean());
                }
                String where = "cut " + cut + " of " + events + ", subset " + keep;
                HeapBlockDeviceTestDouble crashed = d.crashState(cut, keep);
                FsCore recovered = TestFs.mount(crashed);
                assertArrayEquals(kept, TestFs.readFile(recovered, ROOT, "/kept"), where);
                if (cut >= fsyncedAt) {
                    assertArrayEquals(later, TestFs.readFile(recovered, ROOT, "/later"), where);
                }
                recovered.unmount();
                assertEquals(List.of(), TestFs.fsck(crashed), "fsck after recovery at " + where);
                states++;
            }
        }
        assertTrue(events >= 10 && states == 4 * events, events + " events, " + states + " crash states");
    }

    /** The live-upgrade path checkpoints while still serving; the quiesce after it then writes and flushes nothing. */
    @Test
    void shouldWriteNothingInAQuiesceRightAfterACheckpoint() throws Exception {
        RecordingBlockDeviceTestDouble d = new RecordingBlockDeviceTestDouble(1024);
        FsCore fs = TestFs.formatAndMount(d);
        byte[] data = bytes(20_000, 9);
        long h = fs.open(ROOT, "/f", RW_CREATE, 0644);
        fs.write(ROOT, h, MemorySegment.ofArray(data));
        fs.checkpoint();
        d.startRecording();

        FileSystemHandoff handoff = fs.quiesce(Map.of());

        assertEquals(0, d.events(), "device writes and flushes in the quiesce");
        FsCore next = adopt(d, handoff);
        assertArrayEquals(data, pread(next, h, 0, data.length));
        next.close(ROOT, h);
        next.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }

    /** A write that lands between the checkpoint and the quiesce is still written home by the quiesce. */
    @Test
    void shouldStillCheckpointInAQuiesceWhenSomethingChangedAfterTheCheckpoint() throws Exception {
        RecordingBlockDeviceTestDouble d = new RecordingBlockDeviceTestDouble(1024);
        FsCore fs = TestFs.formatAndMount(d);
        long h = fs.open(ROOT, "/f", RW_CREATE, 0644);
        fs.write(ROOT, h, MemorySegment.ofArray(bytes(5_000, 10)));
        fs.checkpoint();
        byte[] late = bytes(7_000, 11);
        fs.pwrite(ROOT, h, 5_000, MemorySegment.ofArray(late));
        fs.mkdir(ROOT, "/late-dir", 0755);
        d.startRecording();

        FileSystemHandoff handoff = fs.quiesce(Map.of());

        assertTrue(d.events() > 0, "the late changes were written");
        FsCore next = adopt(d, handoff);
        assertEquals(1, next.handlesAdopted(), "the hand-off was taken, not ignored");
        assertArrayEquals(late, pread(next, h, 5_000, late.length));
        assertTrue(next.stat(ROOT, "/late-dir").isDirectory());
        next.close(ROOT, h);
        next.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }
}
