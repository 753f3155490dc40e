package org.fsp.fs.core;

import static org.fsp.fs.core.testing.TestFs.ROOT;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.fsp.api.channel.PayloadCodec;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.fs.SessionRecords.Outcome;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.Test;

/**
 * The exactly-once records and re-open tokens of fs-core across a crash: the device is copied after a commit, as a
 * SIGKILL would leave it, and a second file system mounts the copy (replaying the journal that holds the records).
 */
class SessionRecordsTest {

    private static final long HIGH = 0x1234_5678_9abc_def0L;
    private static final long LOW = 0x0fed_cba9_8765_4321L;

    private static HeapBlockDeviceTestDouble crashCopy(HeapBlockDeviceTestDouble d) {
        HeapBlockDeviceTestDouble copy = new HeapBlockDeviceTestDouble(d.blockCount());
        MemorySegment.copy(d.storage(), 0, copy.storage(), 0, d.storage().byteSize());
        return copy;
    }

    @Test
    void shouldAnswerARequestAppliedBeforeTheCrashFromItsRecordAfterReplay() throws Exception {
        HeapBlockDeviceTestDouble dev = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(dev);
        assertTrue(fs.recordsKept(), "a fresh image has a session table");
        assertTrue(fs.claim(HIGH, LOW, 1000));
        fs.recording(HIGH, LOW, 7, 41, () -> {
            fs.mkdir(ROOT, "/d", 0755);
            return null;
        });
        fs.commitRecording();
        // The mkdir is durable with its record; the crash comes before the answer reached the client.
        FsCore after = TestFs.mount(crashCopy(dev));
        Outcome o = after.recorded(HIGH, LOW, 7, 41);
        assertNotNull(o, "the record came back with the journal's replay");
        assertEquals(0, o.result());
        assertNull(after.recorded(HIGH, LOW, 7, 42), "another sequence of the key is not recorded");
        assertNull(after.recorded(HIGH, LOW, 8, 41), "another key is not recorded");
        assertFalse(after.claim(HIGH, LOW, 1001), "the token stays bound to the uid that presented it");
        assertTrue(after.claim(HIGH, LOW, 1000));
        // Re-issued without the record the mkdir would fail with EEXIST: the record is the answer.
        FsException again = assertThrows(FsException.class, () -> after.mkdir(ROOT, "/d", 0755));
        assertEquals(Errno.EEXIST, again.errno());
        assertTrue(TestFs.fsck(dev).isEmpty(), "fsck knows the session table: " + TestFs.fsck(dev));
    }

    @Test
    void shouldLeaveNoRecordWhenTheChangeWasNotCommitted() throws Exception {
        HeapBlockDeviceTestDouble dev = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(dev);
        fs.claim(HIGH, LOW, 0);
        fs.recording(HIGH, LOW, 3, 5, () -> {
            fs.mkdir(ROOT, "/lost", 0755);
            return null;
        });
        FsCore after = TestFs.mount(crashCopy(dev));
        assertNull(after.recorded(HIGH, LOW, 3, 5), "neither the change nor its record survived");
        after.mkdir(ROOT, "/lost", 0755); // so the re-issued request is applied, once
    }

    @Test
    void shouldRecordWhereAnAppendLandedAndWhatAnOpenOpened() throws Exception {
        HeapBlockDeviceTestDouble dev = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(dev);
        fs.claim(HIGH, LOW, 0);
        long h = fs.recording(
                HIGH,
                LOW,
                1,
                10,
                () -> fs.open(ROOT, "/log", OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_APPEND, 0644));
        fs.write(ROOT, h, MemorySegment.ofArray(new byte[100]));
        int n = fs.recording(HIGH, LOW, 2, 11, () -> fs.write(ROOT, h, MemorySegment.ofArray(new byte[50])));
        assertEquals(50, n);
        fs.fsync(ROOT, h);
        FsCore after = TestFs.mount(crashCopy(dev));
        Outcome opened = after.recorded(HIGH, LOW, 1, 10);
        Outcome appended = after.recorded(HIGH, LOW, 2, 11);
        assertEquals(50, appended.result());
        assertEquals(150, appended.inoOrPosition(), "the append ended at byte 150");
        long again = after.reopenRecorded(ROOT, opened);
        assertEquals(150, after.fstat(ROOT, again).size(), "the recorded open names the same file");
    }

    @Test
    void shouldGiveTheGenerationOfAnInodeInUseAndRefuseAFreeOne() throws Exception {
        HeapBlockDeviceTestDouble dev = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(dev);
        long h = fs.open(ROOT, "/g", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
        long ino = fs.fstat(ROOT, h).ino();
        int gen = fs.generation(ino);
        fs.unlink(ROOT, "/g");
        assertEquals(gen, fs.generation(ino), "a file unlinked while open keeps its number and generation");
        long again = fs.reopenRecorded(ROOT, new Outcome(0, ino, gen, OpenFlags.O_RDWR));
        fs.close(ROOT, again);
        fs.close(ROOT, h);
        FsException freed = assertThrows(FsException.class, () -> fs.generation(ino));
        assertEquals(Errno.ESTALE, freed.errno(), "a free inode number has no generation: " + freed.getMessage());
        long h2 = fs.open(ROOT, "/g2", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
        if (fs.fstat(ROOT, h2).ino() == ino) {
            assertNotEquals(gen, fs.generation(ino), "a reused number has another generation");
        }
        fs.close(ROOT, h2);
        FsException zero = assertThrows(FsException.class, () -> fs.generation(0));
        assertEquals(Errno.ESTALE, zero.errno());
        FsException stale = assertThrows(
                FsException.class, () -> fs.reopenRecorded(ROOT, new Outcome(0, ino, gen + 1, OpenFlags.O_RDWR)));
        assertEquals(Errno.ESTALE, stale.errno(), "a stale re-open is ESTALE");
        fs.mkdir(ROOT, "/still-writable", 0755);
    }

    @Test
    void shouldReopenAFileUnlinkedWhileOpenWithItsTokenAndRefuseAForgedOne() throws Exception {
        HeapBlockDeviceTestDouble dev = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(dev);
        long h = fs.open(ROOT, "/tmpfile", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
        fs.pwrite(ROOT, h, 0, MemorySegment.ofArray(new byte[] {1, 2, 3}));
        fs.unlink(ROOT, "/tmpfile");
        fs.fsync(ROOT, h);
        MemorySegment token = Arena.ofAuto().allocate(PayloadCodec.REOPEN_TOKEN_BYTES);
        fs.reopenToken(HIGH, LOW, h, token);
        HeapBlockDeviceTestDouble crashed = crashCopy(dev);
        assertTrue(TestFs.fsck(crashed).isEmpty(), "an orphan after a crash is no fsck problem");
        FsCore after = TestFs.mount(crashed);
        FsException other =
                assertThrows(FsException.class, () -> after.reopen(ROOT, HIGH, LOW + 1, token, OpenFlags.O_RDWR, 0));
        assertEquals(Errno.EACCES, other.errno(), "a token of another session is refused");
        long again = after.reopen(ROOT, HIGH, LOW, token, OpenFlags.O_RDWR, 2);
        byte[] back = new byte[3];
        assertEquals(3, after.pread(ROOT, again, 0, MemorySegment.ofArray(back)));
        assertArrayEquals(new byte[] {1, 2, 3}, back, "the orphan was kept for its client");
        assertEquals(2, after.position(again));
        long freeInodes = after.statfs(ROOT).freeInodes();
        after.close(ROOT, again);
        assertEquals(freeInodes + 1, after.statfs(ROOT).freeInodes(), "the last close freed the orphan");
        after.unmount();
        assertTrue(TestFs.fsck(crashed).isEmpty());
    }
}
