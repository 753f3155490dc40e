package org.fsp.fs.core;

import static org.fsp.api.fs.FileSystemService.XATTR_CREATE;
import static org.fsp.api.fs.FileSystemService.XATTR_REPLACE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.layout.XattrBlockDescriptor;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Extended attributes through FsCore: values kept across a remount, the flags, Linux's namespace and permission rules
 * and errnos (fs/xattr.c), the one-block limit, and the block freed with the last attribute and with the inode, each
 * state checked by fsck.
 */
class ExtendedAttributesTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final Credentials OWNER = new Credentials(10, 1000, 1000, new int[0]);
    private static final Credentials OTHER = new Credentials(11, 1001, 1001, new int[0]);

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
        TestFs.writeFile(fs, OWNER, "/d/f", TestFs.utf8("data"));
    }

    @Test
    void shouldKeepValuesAcrossARemountAndPassFsck() throws Exception {
        fs.setxattr(OWNER, "/d/f", "user.a", TestFs.utf8("one"), 0, true);
        fs.setxattr(OWNER, "/d/f", "user.empty", new byte[0], 0, true);
        fs.setxattr(ROOT, "/d", "trusted.t", TestFs.utf8("root"), 0, true);
        long blocksWith = fs.stat(ROOT, "/d/f").blocks();
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(device));
        fs = TestFs.mount(device);
        assertArrayEquals(TestFs.utf8("one"), fs.getxattr(OTHER, "/d/f", "user.a", true));
        assertArrayEquals(new byte[0], fs.getxattr(OWNER, "/d/f", "user.empty", true));
        assertEquals(List.of("user.a", "user.empty"), fs.listxattr(OTHER, "/d/f", true));
        assertEquals(List.of("trusted.t"), fs.listxattr(ROOT, "/d", true));
        // The attribute block counts in st_blocks, as ext4's does (8 sectors of 512 bytes).
        assertEquals(blocksWith, fs.stat(ROOT, "/d/f").blocks());
        assertEquals(8, blocksWith - 8);
    }

    @Test
    void shouldHonourCreateAndReplaceFlags() throws Exception {
        assertEquals(
                Errno.ENODATA, errno(() -> fs.setxattr(OWNER, "/d/f", "user.a", new byte[1], XATTR_REPLACE, true)));
        fs.setxattr(OWNER, "/d/f", "user.a", TestFs.utf8("1"), XATTR_CREATE, true);
        assertEquals(Errno.EEXIST, errno(() -> fs.setxattr(OWNER, "/d/f", "user.a", new byte[1], XATTR_CREATE, true)));
        fs.setxattr(OWNER, "/d/f", "user.a", TestFs.utf8("22"), XATTR_REPLACE, true);
        assertArrayEquals(TestFs.utf8("22"), fs.getxattr(OWNER, "/d/f", "user.a", true));
        assertEquals(Errno.EINVAL, errno(() -> fs.setxattr(OWNER, "/d/f", "user.a", new byte[1], 4, true)));
    }

    @Test
    void shouldFailAsLinuxForMissingNamesAndBadNames() {
        assertEquals(Errno.ENODATA, errno(() -> fs.getxattr(OWNER, "/d/f", "user.none", true)));
        assertEquals(Errno.ENODATA, errno(() -> fs.removexattr(OWNER, "/d/f", "user.none", true)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> fs.getxattr(OWNER, "/d/f", "system.posix_acl_access", true)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> fs.setxattr(OWNER, "/d/f", "other.x", new byte[1], 0, true)));
        assertEquals(Errno.ERANGE, errno(() -> fs.getxattr(OWNER, "/d/f", "", true)));
        assertEquals(Errno.ERANGE, errno(() -> fs.getxattr(OWNER, "/d/f", "user." + "x".repeat(251), true)));
        assertEquals(Errno.EINVAL, errno(() -> fs.setxattr(OWNER, "/d/f", "user.", new byte[1], 0, true)));
        assertEquals(Errno.E2BIG, errno(() -> fs.setxattr(OWNER, "/d/f", "user.big", new byte[65537], 0, true)));
        assertEquals(Errno.ENOENT, errno(() -> fs.getxattr(OWNER, "/d/none", "user.a", true)));
    }

    @Test
    void shouldRefuseASetThatDoesNotFitTheBlockWithEnospc() throws Exception {
        int fits = XattrBlockDescriptor.CAPACITY - XattrBlockDescriptor.ENTRY_HEADER - "user.big".length();
        fs.setxattr(OWNER, "/d/f", "user.big", new byte[fits], 0, true);
        assertEquals(Errno.ENOSPC, errno(() -> fs.setxattr(OWNER, "/d/f", "user.more", new byte[1], 0, true)));
        assertEquals(fits, fs.getxattr(OWNER, "/d/f", "user.big", true).length);
    }

    @Test
    void shouldCheckPermissionsAsLinux() throws Exception {
        fs.chmod(OWNER, "/d/f", 0644);
        fs.setxattr(OWNER, "/d/f", "user.a", TestFs.utf8("v"), 0, true);
        // user.*: reading needs read permission, writing needs write permission.
        assertEquals(Errno.EACCES, errno(() -> fs.setxattr(OTHER, "/d/f", "user.b", new byte[1], 0, true)));
        assertEquals(Errno.EACCES, errno(() -> fs.removexattr(OTHER, "/d/f", "user.a", true)));
        fs.chmod(OWNER, "/d/f", 0600);
        assertEquals(Errno.EACCES, errno(() -> fs.getxattr(OTHER, "/d/f", "user.a", true)));
        // Listing needs no permission on the file.
        assertEquals(List.of("user.a"), fs.listxattr(OTHER, "/d/f", true));
        // trusted.*: root only; others read nothing and cannot write.
        fs.setxattr(ROOT, "/d/f", "trusted.t", TestFs.utf8("t"), 0, true);
        assertEquals(Errno.ENODATA, errno(() -> fs.getxattr(OWNER, "/d/f", "trusted.t", true)));
        assertEquals(Errno.EPERM, errno(() -> fs.setxattr(OWNER, "/d/f", "trusted.u", new byte[1], 0, true)));
        assertEquals(List.of("user.a"), fs.listxattr(OWNER, "/d/f", true));
        assertEquals(List.of("trusted.t", "user.a"), fs.listxattr(ROOT, "/d/f", true));
        // security.*: read by anyone, written by root.
        assertEquals(Errno.EPERM, errno(() -> fs.setxattr(OWNER, "/d/f", "security.s", new byte[1], 0, true)));
        fs.setxattr(ROOT, "/d/f", "security.s", TestFs.utf8("s"), 0, true);
        assertArrayEquals(TestFs.utf8("s"), fs.getxattr(OTHER, "/d/f", "security.s", true));
        // A sticky directory takes user.* writes from its owner and root only, even from one who may write it.
        fs.mkdir(OWNER, "/d/sticky", 01777);
        assertEquals(Errno.EPERM, errno(() -> fs.setxattr(OTHER, "/d/sticky", "user.x", new byte[1], 0, true)));
        fs.setxattr(OWNER, "/d/sticky", "user.x", new byte[1], 0, true);
    }

    @Test
    void shouldTreatUserAttributesOfSymlinksAsLinux() throws Exception {
        fs.symlink(OWNER, "/d/f", "/d/link");
        assertEquals(Errno.EPERM, errno(() -> fs.setxattr(OWNER, "/d/link", "user.x", new byte[1], 0, false)));
        assertEquals(Errno.ENODATA, errno(() -> fs.getxattr(OWNER, "/d/link", "user.x", false)));
        // Following the link reaches the file.
        fs.setxattr(OWNER, "/d/link", "user.x", TestFs.utf8("via link"), 0, true);
        assertArrayEquals(TestFs.utf8("via link"), fs.getxattr(OWNER, "/d/f", "user.x", true));
    }

    @Test
    void shouldChangeCtime() throws Exception {
        long before = fs.stat(ROOT, "/d/f").ctimeNanos();
        Thread.sleep(2);
        fs.setxattr(OWNER, "/d/f", "user.a", new byte[1], 0, true);
        assertTrue(fs.stat(ROOT, "/d/f").ctimeNanos() > before);
    }

    @Test
    void shouldFreeTheBlockWithTheLastAttributeAndWithTheInode() throws Exception {
        long free = fs.statfs(ROOT).freeBlocks();
        fs.setxattr(OWNER, "/d/f", "user.a", new byte[10], 0, true);
        assertEquals(free - 1, fs.statfs(ROOT).freeBlocks());
        fs.removexattr(OWNER, "/d/f", "user.a", true);
        assertEquals(free, fs.statfs(ROOT).freeBlocks());
        assertEquals(List.of(), fs.listxattr(OWNER, "/d/f", true));
        fs.setxattr(OWNER, "/d/f", "user.a", new byte[10], 0, true);
        fs.unlink(OWNER, "/d/f");
        assertEquals(free + 1, fs.statfs(ROOT).freeBlocks(), "the file's data block and its attribute block");
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(device));
    }

    @Test
    void shouldHaveFsckReportACorruptAttributeBlockAndMountRefuseToReadIt() throws Exception {
        fs.setxattr(OWNER, "/d/f", "user.a", TestFs.utf8("value"), 0, true);
        long ino = fs.stat(ROOT, "/d/f").ino();
        fs.unmount();
        org.fsp.fs.core.layout.Geometry g = org.fsp.fs.core.layout.SuperblockDescriptor.read(
                device.storage().asSlice(0, 4096));
        long block = device.storage()
                .get(
                        org.fsp.fs.core.layout.Layout.LONG,
                        g.inodeBlock(ino) * 4096L
                                + g.inodeOffset(ino)
                                + org.fsp.fs.core.layout.InodeDescriptor.XATTR_BLOCK_OFFSET);
        long at = block * 4096L + XattrBlockDescriptor.ENTRIES_OFFSET + XattrBlockDescriptor.ENTRY_HEADER;
        device.storage().set(java.lang.foreign.ValueLayout.JAVA_BYTE, at, (byte) 'X');
        List<String> problems = TestFs.fsck(device);
        assertTrue(
                problems.stream()
                        .anyMatch(p -> p.contains("extended attribute block " + block) && p.contains("checksum")),
                problems.toString());
        fs = TestFs.mount(device);
        assertEquals(Errno.EIO, errno(() -> fs.getxattr(OWNER, "/d/f", "user.a", true)));
    }
}
