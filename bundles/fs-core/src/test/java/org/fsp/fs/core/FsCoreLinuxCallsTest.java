package org.fsp.fs.core;

import static org.fsp.api.fs.FileSystemService.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The calls that let a Linux front end or the java.nio provider pass its requests through unchanged: open flags Linux
 * ignores, renameat2's flags, access(2), the handle-based attribute calls and OFD byte-range locks, each failing with
 * the errno Linux gives (checked against ext4 / the man pages).
 */
class FsCoreLinuxCallsTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final Credentials USER = new Credentials(10, 1000, 1000, new int[0]);
    private static final Credentials OTHER = new Credentials(11, 1001, 1001, new int[0]);

    private FsCore fs;

    private static Errno errno(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(FsException.class, e).errno();
    }

    @BeforeEach
    void mount() throws Exception {
        fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(2048));
        fs.mkdir(ROOT, "/d", 0777);
        fs.mkdir(ROOT, "/e", 0777);
        TestFs.writeFile(fs, ROOT, "/d/a", TestFs.utf8("a"));
        TestFs.writeFile(fs, ROOT, "/e/b", TestFs.utf8("bb"));
    }

    @Test
    void shouldAcceptTheOpenFlagsLinuxIgnores() throws Exception {
        int flags = OpenFlags.O_RDWR
                | OpenFlags.O_CLOEXEC
                | OpenFlags.O_LARGEFILE
                | OpenFlags.O_NONBLOCK
                | OpenFlags.O_NOATIME
                | OpenFlags.O_NOCTTY
                | OpenFlags.O_SYNC
                | OpenFlags.O_DIRECT;
        long h = fs.open(ROOT, "/d/a", flags, 0);
        fs.close(ROOT, h);
        h = fs.open(ROOT, "/d/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_DSYNC, 0644);
        fs.close(ROOT, h);
        // O_PATH, which FSP does not provide, is refused rather than dropped.
        assertEquals(Errno.EINVAL, errno(() -> fs.open(ROOT, "/d/a", 010000000, 0)));
    }

    @Test
    void shouldRenameWithNoReplaceAsRenameat2() throws Exception {
        assertEquals(Errno.EEXIST, errno(() -> fs.rename(ROOT, "/d/a", "/e/b", RENAME_NOREPLACE)));
        assertEquals(Errno.EEXIST, errno(() -> fs.rename(ROOT, "/d/a", "/d/a", RENAME_NOREPLACE)));
        assertEquals(Errno.ENOENT, errno(() -> fs.rename(ROOT, "/d/none", "/e/x", RENAME_NOREPLACE)));
        fs.rename(ROOT, "/d/a", "/e/a", RENAME_NOREPLACE);
        assertArrayEquals(TestFs.utf8("a"), TestFs.readFile(fs, ROOT, "/e/a"));
        assertEquals(Errno.ENOENT, errno(() -> fs.stat(ROOT, "/d/a")));
    }

    @Test
    void shouldRejectBadRenameFlagsWithEinval() {
        assertEquals(Errno.EINVAL, errno(() -> fs.rename(ROOT, "/d/a", "/e/b", RENAME_NOREPLACE | RENAME_EXCHANGE)));
        assertEquals(Errno.EINVAL, errno(() -> fs.rename(ROOT, "/d/a", "/e/b", 4 /* RENAME_WHITEOUT */)));
        assertEquals(Errno.EINVAL, errno(() -> fs.rename(ROOT, "/d/a", "/e/b", 8)));
    }

    @Test
    void shouldExchangeFilesAndDirectoriesAtomically() throws Exception {
        fs.rename(ROOT, "/d/a", "/e/b", RENAME_EXCHANGE);
        assertArrayEquals(TestFs.utf8("bb"), TestFs.readFile(fs, ROOT, "/d/a"));
        assertArrayEquals(TestFs.utf8("a"), TestFs.readFile(fs, ROOT, "/e/b"));

        fs.mkdir(ROOT, "/d/sub", 0755);
        TestFs.writeFile(fs, ROOT, "/d/sub/in", TestFs.utf8("in"));
        int dLinks = fs.stat(ROOT, "/d").nlink();
        int eLinks = fs.stat(ROOT, "/e").nlink();
        fs.rename(ROOT, "/d/sub", "/e/b", RENAME_EXCHANGE);
        assertArrayEquals(TestFs.utf8("in"), TestFs.readFile(fs, ROOT, "/e/b/in"));
        assertArrayEquals(TestFs.utf8("a"), TestFs.readFile(fs, ROOT, "/d/sub"));
        assertEquals(dLinks - 1, fs.stat(ROOT, "/d").nlink());
        assertEquals(eLinks + 1, fs.stat(ROOT, "/e").nlink());
        // ".." of the moved directory is its new parent.
        assertEquals(fs.stat(ROOT, "/e").ino(), fs.stat(ROOT, "/e/b/..").ino());

        assertEquals(Errno.ENOENT, errno(() -> fs.rename(ROOT, "/d/a", "/e/missing", RENAME_EXCHANGE)));
        assertEquals(Errno.ENOENT, errno(() -> fs.rename(ROOT, "/d/missing", "/e/b", RENAME_EXCHANGE)));
        assertEquals(Errno.EINVAL, errno(() -> fs.rename(ROOT, "/e", "/e/b/in", RENAME_EXCHANGE)));
        fs.rename(ROOT, "/d/a", "/d/a", RENAME_EXCHANGE);
        assertArrayEquals(TestFs.utf8("bb"), TestFs.readFile(fs, ROOT, "/d/a"));
    }

    @Test
    void shouldCheckAccessWithTheCallersIds() throws Exception {
        fs.chmod(ROOT, "/d/a", 0640);
        fs.chown(ROOT, "/d/a", 1000, 1000);
        fs.access(USER, "/d/a", F_OK);
        fs.access(USER, "/d/a", R_OK | W_OK);
        assertEquals(Errno.EACCES, errno(() -> fs.access(USER, "/d/a", X_OK)));
        assertEquals(Errno.EACCES, errno(() -> fs.access(OTHER, "/d/a", R_OK)));
        fs.access(OTHER, "/d/a", F_OK);
        assertEquals(Errno.ENOENT, errno(() -> fs.access(USER, "/d/none", F_OK)));
        assertEquals(Errno.EINVAL, errno(() -> fs.access(USER, "/d/a", 8)));
        // root may read and write anything but execute only what has an execute bit.
        fs.access(ROOT, "/d/a", R_OK | W_OK);
        assertEquals(Errno.EACCES, errno(() -> fs.access(ROOT, "/d/a", X_OK)));
        fs.access(ROOT, "/d", X_OK);
    }

    @Test
    void shouldChangeAttributesThroughAHandle() throws Exception {
        fs.chown(ROOT, "/d/a", 1000, 1000);
        long h = fs.open(USER, "/d/a", OpenFlags.O_RDONLY, 0);
        fs.fchmod(USER, h, 0600);
        assertEquals(0600, fs.stat(ROOT, "/d/a").mode() & 07777);
        fs.futimens(USER, h, 5_000_000_000L, 7_000_000_000L);
        assertEquals(5_000_000_000L, fs.stat(ROOT, "/d/a").atimeNanos());
        assertEquals(7_000_000_000L, fs.stat(ROOT, "/d/a").mtimeNanos());
        assertEquals(Errno.EPERM, errno(() -> fs.fchown(USER, h, 0, ID_UNCHANGED)));
        fs.fchown(ROOT, h, 1001, 1001);
        assertEquals(1001, fs.stat(ROOT, "/d/a").uid());
        assertEquals(Errno.EPERM, errno(() -> fs.fchmod(USER, h, 0644)));
        fs.close(USER, h);
        assertEquals(Errno.EBADF, errno(() -> fs.fchmod(ROOT, h, 0644)));
        assertEquals(Errno.EBADF, errno(() -> fs.futimens(ROOT, h, UTIME_NOW, UTIME_NOW)));
    }

    @Test
    void shouldLockByteRangesPerHandleAndReleaseThemOnClose() throws Exception {
        long a = fs.open(ROOT, "/d/a", OpenFlags.O_RDWR, 0);
        long b = fs.open(ROOT, "/d/a", OpenFlags.O_RDWR, 0);
        long ro = fs.open(ROOT, "/d/a", OpenFlags.O_RDONLY, 0);
        fs.setlk(ROOT, a, F_WRLCK, 0, 100);
        fs.setlk(ROOT, a, F_WRLCK, 50, 0); // the owner's own locks never conflict
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(ROOT, b, F_RDLCK, 99, 1)));
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(ROOT, b, F_WRLCK, 1L << 40, 1)));
        fs.setlk(ROOT, a, F_UNLCK, 0, 0);
        fs.setlk(ROOT, b, F_RDLCK, 0, 10);
        fs.setlk(ROOT, ro, F_RDLCK, 5, 10); // shared locks share
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(ROOT, a, F_WRLCK, 9, 1)));
        fs.setlk(ROOT, a, F_WRLCK, 15, 1);
        assertEquals(Errno.EBADF, errno(() -> fs.setlk(ROOT, ro, F_WRLCK, 0, 1)));
        assertEquals(Errno.EINVAL, errno(() -> fs.setlk(ROOT, a, 7, 0, 1)));
        assertEquals(Errno.EINVAL, errno(() -> fs.setlk(ROOT, a, F_RDLCK, -1, 1)));
        fs.close(ROOT, b);
        fs.close(ROOT, ro);
        fs.setlk(ROOT, a, F_WRLCK, 0, 15); // what b and ro held went with their close
        fs.close(ROOT, a);
        long c = fs.open(ROOT, "/d/a", OpenFlags.O_RDWR, 0);
        fs.setlk(ROOT, c, F_WRLCK, 0, 0);
        fs.close(ROOT, c);
        assertEquals(Errno.EBADF, errno(() -> fs.setlk(ROOT, c, F_UNLCK, 0, 0)));
    }

    @Test
    void shouldSplitAnOwnersLockWhenPartOfItIsReleased() throws Exception {
        long a = fs.open(ROOT, "/d/a", OpenFlags.O_RDWR, 0);
        long b = fs.open(ROOT, "/d/a", OpenFlags.O_RDWR, 0);
        fs.setlk(ROOT, a, F_WRLCK, 0, 30);
        fs.setlk(ROOT, a, F_UNLCK, 10, 10);
        fs.setlk(ROOT, b, F_WRLCK, 10, 10);
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(ROOT, b, F_WRLCK, 9, 1)));
        assertEquals(Errno.EAGAIN, errno(() -> fs.setlk(ROOT, b, F_WRLCK, 20, 1)));
        fs.close(ROOT, a);
        fs.close(ROOT, b);
    }
}
