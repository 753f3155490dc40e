package org.fsp.ipc.fuse;

import static org.fsp.api.fs.Credentials.ROOT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;
import org.junit.jupiter.api.Test;

/** File handles that say what they opened, so that the process after a take-over re-opens them by inode. */
class FileHandlesTest {

    @Test
    void shouldEncodeInodeFlagsAndEpochAndKeepNumbersUnique() throws FsException {
        FileHandles t = new FileHandles(5);
        Set<Long> fhs = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            long fh = t.add(77, 0x1234, OpenFlags.O_WRONLY | OpenFlags.O_APPEND, false, 1000 + i);
            fhs.add(fh);
            assertEquals(77, FileHandles.ino(fh));
            assertEquals(5, FileHandles.epoch(fh));
            assertEquals(OpenFlags.O_WRONLY | OpenFlags.O_APPEND, FileHandles.flags(fh));
        }
        assertEquals(100, fhs.size(), "every open has its own fh");
        long a = t.add(77, 0x1234, OpenFlags.O_RDONLY, false, 1);
        long b = new FileHandles(6).add(77, 0x1234, OpenFlags.O_RDONLY, false, 1);
        assertNotEquals(a, b, "the next process's handles differ from the dead one's by the epoch");
    }

    @Test
    void shouldReopenAHandleOfADeadProcessByInodeAndRefuseAReusedInode() throws Exception {
        RamBlockDevice device = new RamBlockDevice(16L << 20, 64);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        FsCore fs = FsCore.mount(scheduler, new FsCore.Options(4L << 20, 8, 5000));
        long h = fs.open(ROOT, "/f", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        fs.pwrite(ROOT, h, 0, MemorySegment.ofArray(new byte[] {4, 5, 6}));
        long ino = fs.fstat(ROOT, h).ino();
        long fh = new FileHandles(0).add(ino, fs.generation(ino), OpenFlags.O_RDWR, false, h);
        fs.close(ROOT, h);

        FileHandles next = new FileHandles(1); // the process after the take-over: it never saw fh
        long again = next.handle(fs, fh);
        byte[] back = new byte[3];
        assertEquals(3, fs.pread(ROOT, again, 0, MemorySegment.ofArray(back)));
        assertArrayEquals(new byte[] {4, 5, 6}, back);
        assertEquals(again, next.handle(fs, fh), "opened once, then kept");
        assertEquals(again, next.remove(fh));
        fs.close(ROOT, again);
        assertEquals(-1, next.remove(fh), "a RELEASE of an fh never used here closes nothing");

        long stale = FileHandles.describe(ino, fs.generation(ino) + 1, OpenFlags.O_RDWR, false);
        FsException e = assertThrows(FsException.class, () -> next.handle(fs, stale));
        assertEquals(Errno.EIO, e.errno(), "another generation is another file: the handle's file is gone");
        long dir = FileHandles.describe(ino, 0, OpenFlags.O_RDONLY, true);
        assertEquals(
                Errno.EBADF,
                assertThrows(FsException.class, () -> next.handle(fs, dir)).errno());
        fs.mkdir(ROOT, "/still-writable", 0755);
        fs.unmount();
        device.close();
    }
}
