package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.RecordingFileObserverTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

/** {@link FsCore} tells its {@link FileObserver} who creates, writes, truncates and frees each inode, and no more. */
class FileObserverTest {

    private static final Credentials ALICE = new Credentials(4242, 0, 0, new int[0]);
    private static final Credentials BOB = new Credentials(777, 0, 0, new int[0]);

    private static FsCore mount(HeapBlockDeviceTestDouble d, FileObserver observer, FileSystemHandoff handoff)
            throws Exception {
        return FsCore.mount(new DirectBlockScheduler(d), TestFs.options(), FsCore::wallClockNanos, handoff, observer);
    }

    @Test
    void shouldReportCreationsWritesTruncatesAndFreesWithTheCallersPid() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        TestFs.format(d);
        RecordingFileObserverTestDouble seen = new RecordingFileObserverTestDouble();
        FsCore fs = mount(d, seen, null);

        long h = fs.open(ALICE, "/f", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        long f = fs.fstat(ALICE, h).ino();
        assertEquals(List.of("created 4242 " + f), seen.take());

        fs.write(BOB, h, MemorySegment.ofArray(new byte[100]));
        fs.pwrite(ALICE, h, 10, MemorySegment.ofArray(new byte[5]));
        fs.ftruncate(BOB, h, 3);
        fs.truncate(ALICE, "/f", 1);
        assertEquals(
                List.of("written 777 " + f, "written 4242 " + f, "written 777 " + f, "written 4242 " + f), seen.take());

        fs.pread(BOB, h, 0, MemorySegment.ofArray(new byte[1]));
        fs.stat(BOB, "/f");
        fs.chmod(BOB, "/f", 0600);
        fs.write(BOB, h, MemorySegment.ofArray(new byte[0]));
        assertEquals(List.of(), seen.take(), "reads, stat, chmod and empty writes change no data");

        long t = fs.open(BOB, "/f", OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, 0);
        assertEquals(List.of("written 777 " + f), seen.take(), "O_TRUNC is a write");
        fs.close(BOB, t);

        fs.mkdir(ALICE, "/d", 0755);
        fs.symlink(BOB, "/f", "/d/link");
        long dir = fs.stat(ALICE, "/d").ino();
        long link = fs.lstat(ALICE, "/d/link").ino();
        assertEquals(List.of("created 4242 " + dir, "created 777 " + link), seen.take());

        fs.unlink(ALICE, "/f");
        assertEquals(List.of(), seen.take(), "an unlinked file that is still open keeps its inode");
        fs.close(ALICE, h);
        fs.unlink(ALICE, "/d/link");
        fs.rmdir(ALICE, "/d");
        assertEquals(List.of("freed " + f, "freed " + link, "freed " + dir), seen.take());
        fs.unmount();
    }

    @Test
    void shouldReportAFileReplacedByRenameAsFreed() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        TestFs.format(d);
        RecordingFileObserverTestDouble seen = new RecordingFileObserverTestDouble();
        FsCore fs = mount(d, seen, null);
        TestFs.writeFile(fs, ALICE, "/old", TestFs.utf8("old"));
        TestFs.writeFile(fs, ALICE, "/new", TestFs.utf8("new"));
        long replaced = fs.stat(ALICE, "/old").ino();
        seen.take();

        fs.rename(BOB, "/new", "/old");

        assertEquals(List.of("freed " + replaced), seen.take());
        fs.unmount();
    }

    @Test
    void shouldPassTheObserverOnToAMountFromAHandoff() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        TestFs.format(d);
        FsCore first = mount(d, FileObserver.NONE, null);
        long h = first.open(ALICE, "/kept", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        long ino = first.fstat(ALICE, h).ino();
        FileSystemHandoff handoff = first.quiesce(Map.of());

        RecordingFileObserverTestDouble seen = new RecordingFileObserverTestDouble();
        FsCore next = mount(d, seen, handoff);
        next.write(BOB, h, MemorySegment.ofArray(new byte[1]));

        assertEquals(List.of("written 777 " + ino), seen.take());
        next.close(ALICE, h);
        next.unmount();
    }
}
