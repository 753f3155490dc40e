package org.fsp.fs.core;

import static org.fsp.api.fs.FileSystemService.SEEK_DATA;
import static org.fsp.api.fs.FileSystemService.SEEK_HOLE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** lseek's SEEK_DATA / SEEK_HOLE over sparse files and fallocate mode 0, with ext4's answers and errnos. */
class HolesAndPreallocationTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final int BS = 4096;

    private HeapBlockDeviceTestDouble device;
    private FsCore fs;
    private long h;

    private static Errno errno(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(FsException.class, e).errno();
    }

    @BeforeEach
    void mount() throws Exception {
        device = new HeapBlockDeviceTestDouble(4096);
        fs = TestFs.formatAndMount(device);
        h = fs.open(ROOT, "/sparse", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
    }

    private void writeAt(long offset, int bytes) throws FsException {
        byte[] data = new byte[bytes];
        java.util.Arrays.fill(data, (byte) 9);
        fs.pwrite(ROOT, h, offset, MemorySegment.ofArray(data));
    }

    @Test
    void shouldFindDataAndHolesOfASparseFile() throws Exception {
        // data in block 2 and blocks 5-6; the size ends inside a hole (block 9).
        writeAt(2L * BS + 10, 100);
        writeAt(5L * BS, 2 * BS);
        fs.ftruncate(ROOT, h, 10L * BS - 1);
        assertEquals(2L * BS, fs.lseek(ROOT, h, 0, SEEK_DATA));
        assertEquals(2L * BS + 50, fs.lseek(ROOT, h, 2L * BS + 50, SEEK_DATA));
        assertEquals(5L * BS, fs.lseek(ROOT, h, 3L * BS, SEEK_DATA));
        assertEquals(0, fs.lseek(ROOT, h, 0, SEEK_HOLE));
        assertEquals(3L * BS, fs.lseek(ROOT, h, 2L * BS, SEEK_HOLE));
        assertEquals(7L * BS, fs.lseek(ROOT, h, 5L * BS + 1, SEEK_HOLE));
        assertEquals(Errno.ENXIO, errno(() -> fs.lseek(ROOT, h, 7L * BS, SEEK_DATA)));
        assertEquals(Errno.ENXIO, errno(() -> fs.lseek(ROOT, h, 10L * BS, SEEK_HOLE)));
        assertEquals(Errno.EINVAL, errno(() -> fs.lseek(ROOT, h, 0, 0)));
        assertEquals(Errno.EINVAL, errno(() -> fs.lseek(ROOT, h, -1, SEEK_DATA)));
    }

    @Test
    void shouldEndTheLastHoleAtTheSizeForAFileWithoutHoles() throws Exception {
        writeAt(0, 3 * BS + 7);
        assertEquals(3L * BS + 7, fs.lseek(ROOT, h, 5, SEEK_HOLE));
        assertEquals(5, fs.lseek(ROOT, h, 5, SEEK_DATA));
    }

    @Test
    void shouldPreallocateZeroedBlocksAndExtendTheSize() throws Exception {
        writeAt(BS, 10);
        long free = fs.statfs(ROOT).freeBlocks();
        fs.fallocate(ROOT, h, 0, 100, 4L * BS);
        assertEquals(100 + 4L * BS, fs.fstat(ROOT, h).size());
        // Blocks 0-4 are mapped now; block 1 was already.
        assertEquals(free - 4, fs.statfs(ROOT).freeBlocks());
        assertEquals(100 + 4L * BS, fs.lseek(ROOT, h, 0, SEEK_HOLE), "no hole left before the end");
        byte[] back = new byte[(int) fs.fstat(ROOT, h).size()];
        fs.pread(ROOT, h, 0, MemorySegment.ofArray(back));
        byte[] expected = new byte[back.length];
        java.util.Arrays.fill(expected, BS, BS + 10, (byte) 9);
        assertArrayEquals(expected, back);
        // Inside the size: nothing changes but the mapping.
        fs.fallocate(ROOT, h, 0, 0, 10);
        assertEquals(100 + 4L * BS, fs.fstat(ROOT, h).size());
        fs.close(ROOT, h);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(device));
    }

    @Test
    void shouldRefuseWhatLinuxRefuses() throws Exception {
        assertEquals(
                Errno.EOPNOTSUPP, errno(() -> fs.fallocate(ROOT, h, FileSystemService.FALLOC_FL_KEEP_SIZE, 0, 10)));
        assertEquals(
                Errno.EOPNOTSUPP,
                errno(() -> fs.fallocate(
                        ROOT,
                        h,
                        FileSystemService.FALLOC_FL_PUNCH_HOLE | FileSystemService.FALLOC_FL_KEEP_SIZE,
                        0,
                        10)));
        assertEquals(Errno.EINVAL, errno(() -> fs.fallocate(ROOT, h, 0, 0, 0)));
        assertEquals(Errno.EINVAL, errno(() -> fs.fallocate(ROOT, h, 0, -1, 10)));
        assertEquals(Errno.EFBIG, errno(() -> fs.fallocate(ROOT, h, 0, Long.MAX_VALUE - 5, 10)));
        long ro = fs.open(ROOT, "/sparse", OpenFlags.O_RDONLY, 0);
        assertEquals(Errno.EBADF, errno(() -> fs.fallocate(ROOT, ro, 0, 0, 10)));
        fs.close(ROOT, ro);
    }

    @Test
    void shouldFailWithEnospcAndKeepTheImageConsistent() throws Exception {
        long free = fs.statfs(ROOT).freeBlocks();
        assertEquals(Errno.ENOSPC, errno(() -> fs.fallocate(ROOT, h, 0, 0, (free + 10) * BS)));
        fs.close(ROOT, h);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(device));
    }
}
