package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * FIFOs, sockets and device nodes (mknod(2)) and a symlink's own owner and times (lchown, utimensat with
 * AT_SYMLINK_NOFOLLOW): kept across a remount, clean for fsck, refused with Linux's errnos where fs-core cannot serve
 * them.
 */
class SpecialFilesTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final Credentials USER = new Credentials(10, 1000, 1000, new int[0]);
    /** makedev(8, 1) in Linux's new_encode_dev form: /dev/sda1. */
    private static final int SDA1 = (8 << 8) | 1;

    private HeapBlockDeviceTestDouble device;
    private FsCore fs;

    private static Errno errno(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(FsException.class, e).errno();
    }

    @BeforeEach
    void mount() throws Exception {
        device = new HeapBlockDeviceTestDouble(2048);
        fs = TestFs.formatAndMount(device);
        fs.mkdir(ROOT, "/d", 0777);
    }

    @Test
    void shouldKeepEachSpecialFileTypeWithItsDeviceNumberAcrossARemount() throws Exception {
        fs.mknod(USER, "/d/fifo", FileMode.S_IFIFO | 0640, 0);
        fs.mknod(USER, "/d/sock", FileMode.S_IFSOCK | 0755, 0);
        fs.mknod(ROOT, "/d/chr", FileMode.S_IFCHR | 0600, SDA1);
        fs.mknod(ROOT, "/d/blk", FileMode.S_IFBLK | 0660, SDA1);
        fs.mknod(USER, "/d/plain", 0644, 0);
        fs.unmount();
        fs = TestFs.mount(device);

        assertType(fs.lstat(ROOT, "/d/fifo"), FileMode.S_IFIFO, 0640, 0);
        assertType(fs.lstat(ROOT, "/d/sock"), FileMode.S_IFSOCK, 0755, 0);
        assertType(fs.lstat(ROOT, "/d/chr"), FileMode.S_IFCHR, 0600, SDA1);
        assertType(fs.lstat(ROOT, "/d/blk"), FileMode.S_IFBLK, 0660, SDA1);
        assertType(fs.lstat(ROOT, "/d/plain"), FileMode.S_IFREG, 0644, 0);
        assertEquals(1000, fs.lstat(ROOT, "/d/fifo").uid());
        // readdir's type follows the inode's.
        assertEquals(
                List.of("blk:60000", "chr:20000", "fifo:10000", "plain:100000", "sock:140000"),
                fs.readdir(ROOT, "/d", 0, 100).stream()
                        .filter(e -> !e.name().startsWith("."))
                        .map(e -> e.name() + ":" + Integer.toOctalString(e.mode() & FileMode.S_IFMT))
                        .sorted()
                        .toList());
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(device));
    }

    private static void assertType(FileAttributes a, int type, int permissions, int rdev) {
        assertEquals(type, a.mode() & FileMode.S_IFMT, Integer.toOctalString(a.mode()));
        assertEquals(permissions, a.mode() & FileMode.PERMISSION_MASK);
        assertEquals(rdev, a.rdev());
        assertEquals(0, a.size());
        assertEquals(0, a.blocks());
    }

    @Test
    void shouldRefuseWhatMknodRefusesOnLinuxInLinuxsOrder() throws Exception {
        assertEquals(Errno.EPERM, errno(() -> fs.mknod(USER, "/d/c", FileMode.S_IFCHR | 0600, SDA1)));
        assertEquals(Errno.EPERM, errno(() -> fs.mknod(USER, "/d/b", FileMode.S_IFBLK | 0600, SDA1)));
        assertEquals(Errno.EPERM, errno(() -> fs.mknod(ROOT, "/d/dir", FileMode.S_IFDIR | 0755, 0)));
        assertEquals(Errno.EINVAL, errno(() -> fs.mknod(ROOT, "/d/x", 0030000 | 0644, 0)));
        fs.mknod(USER, "/d/fifo", FileMode.S_IFIFO | 0644, 0);
        // The name is checked before the privilege: an existing name is EEXIST even for a device node.
        assertEquals(Errno.EEXIST, errno(() -> fs.mknod(USER, "/d/fifo", FileMode.S_IFCHR | 0600, SDA1)));
        assertEquals(Errno.ENOENT, errno(() -> fs.mknod(USER, "/none/fifo", FileMode.S_IFIFO | 0644, 0)));
        fs.mkdir(ROOT, "/ro", 0755);
        assertEquals(Errno.EACCES, errno(() -> fs.mknod(USER, "/ro/fifo", FileMode.S_IFIFO | 0644, 0)));
        assertEquals(Errno.ENOENT, errno(() -> fs.stat(ROOT, "/d/c")));
    }

    @Test
    void shouldLeaveTheIoOfASpecialFileToTheKernel() throws Exception {
        fs.mknod(ROOT, "/d/fifo", FileMode.S_IFIFO | 0666, 0);
        fs.mknod(ROOT, "/d/sock", FileMode.S_IFSOCK | 0666, 0);
        assertEquals(Errno.EOPNOTSUPP, errno(() -> fs.open(ROOT, "/d/fifo", OpenFlags.O_RDONLY, 0)));
        assertEquals(Errno.ENXIO, errno(() -> fs.open(ROOT, "/d/sock", OpenFlags.O_RDWR, 0)));
        assertEquals(Errno.EINVAL, errno(() -> fs.truncate(ROOT, "/d/fifo", 0)));
        // Its attributes are a file's: chmod, chown, times, link and unlink work.
        fs.chmod(ROOT, "/d/fifo", 0600);
        fs.chown(ROOT, "/d/fifo", 1000, 1000);
        fs.link(ROOT, "/d/fifo", "/d/fifo2");
        assertEquals(2, fs.stat(ROOT, "/d/fifo2").nlink());
        fs.unlink(ROOT, "/d/fifo");
        fs.unlink(ROOT, "/d/fifo2");
        fs.unlink(ROOT, "/d/sock");
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(device));
    }

    @Test
    void shouldChangeASymlinksOwnOwnerAndTimesAndLeaveItsTargetAlone() throws Exception {
        TestFs.writeFile(fs, ROOT, "/d/target", TestFs.utf8("t"));
        fs.symlink(ROOT, "target", "/d/link");
        FileAttributes target = fs.stat(ROOT, "/d/target");
        fs.lchown(ROOT, "/d/link", 1000, 1000);
        fs.lutimens(ROOT, "/d/link", 1_000_000_000L, 2_000_000_000L);
        FileAttributes link = fs.lstat(ROOT, "/d/link");
        assertEquals(1000, link.uid());
        assertEquals(1000, link.gid());
        assertEquals(1_000_000_000L, link.atimeNanos());
        assertEquals(2_000_000_000L, link.mtimeNanos());
        FileAttributes after = fs.stat(ROOT, "/d/target");
        assertEquals(target.uid(), after.uid());
        assertEquals(target.mtimeNanos(), after.mtimeNanos());
        // Not the owner: as chown and utimes of a file.
        Credentials other = new Credentials(12, 1001, 1001, new int[0]);
        assertEquals(Errno.EPERM, errno(() -> fs.lchown(other, "/d/link", 1001, -1)));
        assertEquals(Errno.EPERM, errno(() -> fs.lutimens(other, "/d/link", 5, 5)));
        assertEquals(Errno.ENOENT, errno(() -> fs.lchown(ROOT, "/d/none", 0, FileSystemService.ID_UNCHANGED)));
        assertTrue(fs.lstat(ROOT, "/d/link").isSymbolicLink());
    }
}
