package org.fsp.fs.core;

import static org.fsp.api.fs.FileSystemService.F_RDLCK;
import static org.fsp.api.fs.FileSystemService.F_UNLCK;
import static org.fsp.api.fs.FileSystemService.F_WRLCK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** POSIX record-lock owners beside handle-owned (OFD) locks: one owner across handles, getlk, release by owner. */
class LockOwnersTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final long PROCESS_A = 0x1234_5678_9abcL;
    private static final long PROCESS_B = 0x0fed_cba9_8765L;

    private FsCore fs;
    private long h1;
    private long h2;
    private long ofd;

    private static Errno errno(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(FsException.class, e).errno();
    }

    @BeforeEach
    void mount() throws Exception {
        fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(1024));
        TestFs.writeFile(fs, ROOT, "/f", new byte[100]);
        h1 = fs.open(ROOT, "/f", OpenFlags.O_RDWR, 0);
        h2 = fs.open(ROOT, "/f", OpenFlags.O_RDWR, 0);
        ofd = fs.open(ROOT, "/f", OpenFlags.O_RDWR, 0);
    }

    @Test
    void shouldShareAnOwnersLocksAcrossItsHandlesAndConflictWithOthers() throws Exception {
        fs.setlk(ROOT, h1, PROCESS_A, F_WRLCK, 0, 10);
        // The same process through another descriptor: no conflict, and it replaces its own lock.
        fs.setlk(ROOT, h2, PROCESS_A, F_RDLCK, 0, 10);
        assertNull(fs.getlk(ROOT, h2, PROCESS_A, F_WRLCK, 0, 10));
        assertArrayEquals(new long[] {F_RDLCK, 0, 10}, fs.getlk(ROOT, h1, PROCESS_B, F_WRLCK, 5, 0));
        assertNull(fs.getlk(ROOT, h1, PROCESS_B, F_RDLCK, 5, 1));
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(ROOT, h2, PROCESS_B, F_WRLCK, 9, 1)));
        // A handle's own (OFD) locks and owners' locks meet in one table.
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(ROOT, ofd, F_WRLCK, 0, 1)));
        fs.releaseLocks(ROOT, h2, PROCESS_A);
        fs.setlk(ROOT, ofd, F_WRLCK, 0, 1);
        assertArrayEquals(new long[] {F_WRLCK, 0, 1}, fs.getlk(ROOT, h1, PROCESS_A, F_RDLCK, 0, 0));
    }

    @Test
    void shouldDropAnOwnersLocksWhenTheHandleTheyWereSetThroughCloses() throws Exception {
        fs.setlk(ROOT, h1, PROCESS_A, F_WRLCK, 0, 0);
        fs.close(ROOT, h1);
        fs.setlk(ROOT, h2, PROCESS_B, F_WRLCK, 0, 0);
        fs.setlk(ROOT, h2, PROCESS_B, F_UNLCK, 0, 0);
        assertNull(fs.getlk(ROOT, ofd, PROCESS_A, F_WRLCK, 0, 0));
        assertEquals(Errno.EINVAL, errno(() -> fs.getlk(ROOT, ofd, PROCESS_A, F_UNLCK, 0, 0)));
    }
}
