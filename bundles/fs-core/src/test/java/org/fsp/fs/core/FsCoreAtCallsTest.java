package org.fsp.fs.core;

import static org.fsp.api.fs.FileSystemService.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The *at calls (openat, fstatat, unlinkat, renameat, readdir of a handle): paths from a directory handle mean the
 * same directory after it is renamed, absolute paths ignore the handle, and failures have Linux's errnos.
 */
class FsCoreAtCallsTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final Credentials USER = new Credentials(10, 1000, 1000, new int[0]);

    private FsCore fs;

    private static Errno errno(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(FsException.class, e).errno();
    }

    @BeforeEach
    void mount() throws Exception {
        fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(2048));
        fs.mkdir(ROOT, "/d", 0777);
        fs.mkdir(ROOT, "/d/sub", 0777);
        TestFs.writeFile(fs, ROOT, "/d/a", TestFs.utf8("a"));
        TestFs.writeFile(fs, ROOT, "/d/sub/b", TestFs.utf8("bb"));
    }

    private long openDir(String path) throws FsException {
        return fs.open(ROOT, path, OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY, 0);
    }

    @Test
    void shouldResolveFromTheDirectoryAfterItIsRenamed() throws Exception {
        long d = openDir("/d");
        fs.rename(ROOT, "/d", "/moved");
        assertEquals(1, fs.fstatat(ROOT, d, "a", 0).size());
        assertEquals(2, fs.fstatat(ROOT, d, "sub/b", 0).size());
        long h = fs.openat(ROOT, d, "new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644);
        fs.close(ROOT, h);
        assertEquals(0, fs.stat(ROOT, "/moved/new").size());
        fs.unlinkat(ROOT, d, "new", 0);
        assertEquals(Errno.ENOENT, errno(() -> fs.stat(ROOT, "/moved/new")));
        List<DirEntry> names = fs.readdir(ROOT, d, 0, 100);
        assertEquals(
                List.of("a", "sub"), names.stream().map(DirEntry::name).sorted().toList());
        fs.close(ROOT, d);
    }

    @Test
    void shouldRemoveADirectoryOnlyWithAtRemovedir() throws Exception {
        long d = openDir("/d");
        assertEquals(Errno.EISDIR, errno(() -> fs.unlinkat(ROOT, d, "sub", 0)));
        assertEquals(Errno.ENOTEMPTY, errno(() -> fs.unlinkat(ROOT, d, "sub", AT_REMOVEDIR)));
        fs.unlinkat(ROOT, d, "sub/b", 0);
        assertEquals(Errno.ENOTDIR, errno(() -> fs.unlinkat(ROOT, d, "a", AT_REMOVEDIR)));
        fs.unlinkat(ROOT, d, "sub", AT_REMOVEDIR);
        assertEquals(Errno.ENOENT, errno(() -> fs.lstat(ROOT, "/d/sub")));
        assertEquals(Errno.EINVAL, errno(() -> fs.unlinkat(ROOT, d, "a", 0x1)));
        fs.close(ROOT, d);
    }

    @Test
    void shouldRenameBetweenTwoDirectoryHandles() throws Exception {
        long d = openDir("/d");
        long sub = openDir("/d/sub");
        fs.renameat(ROOT, d, "a", sub, "a2", 0);
        assertArrayEquals(TestFs.utf8("a"), TestFs.readFile(fs, ROOT, "/d/sub/a2"));
        assertEquals(Errno.EEXIST, errno(() -> fs.renameat(ROOT, sub, "a2", sub, "b", RENAME_NOREPLACE)));
        fs.close(ROOT, d);
        fs.close(ROOT, sub);
    }

    @Test
    void shouldFollowOrNotAFinalSymlinkAsFstatat() throws Exception {
        fs.symlink(ROOT, "sub", "/d/link");
        fs.symlink(ROOT, "/d/a", "/d/abs");
        long d = openDir("/d");
        assertTrue(fs.fstatat(ROOT, d, "link", 0).isDirectory());
        assertTrue(fs.fstatat(ROOT, d, "link", AT_SYMLINK_NOFOLLOW).isSymbolicLink());
        assertEquals(1, fs.fstatat(ROOT, d, "abs", 0).size());
        // O_CREAT through a dangling relative link creates its target beside the link, as Linux.
        fs.symlink(ROOT, "made", "/d/dangling");
        fs.close(ROOT, fs.openat(ROOT, d, "dangling", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644));
        assertTrue(fs.stat(ROOT, "/d/made").isRegularFile());
        fs.close(ROOT, d);
    }

    @Test
    void shouldRefuseAFileHandleOrABadHandleAsTheBase() throws Exception {
        long f = fs.open(ROOT, "/d/a", OpenFlags.O_RDONLY, 0);
        assertEquals(Errno.ENOTDIR, errno(() -> fs.fstatat(ROOT, f, "x", 0)));
        assertEquals(Errno.ENOTDIR, errno(() -> fs.openat(ROOT, f, "x", OpenFlags.O_RDONLY, 0)));
        assertEquals(Errno.EBADF, errno(() -> fs.unlinkat(ROOT, 987654, "x", 0)));
        // An absolute path ignores the base, as openat(2).
        assertEquals(1, fs.fstatat(ROOT, openDir("/d/sub"), "/d/a", 0).size());
        fs.close(ROOT, f);
    }

    @Test
    void shouldCheckSearchPermissionOnTheBase() throws Exception {
        fs.mkdir(ROOT, "/private", 0700);
        TestFs.writeFile(fs, ROOT, "/private/x", TestFs.utf8("x"));
        long p = openDir("/private");
        assertEquals(Errno.EACCES, errno(() -> fs.fstatat(USER, p, "x", 0)));
        assertEquals(Errno.EACCES, errno(() -> fs.unlinkat(USER, p, "x", 0)));
        fs.close(ROOT, p);
    }

    @Test
    void shouldListNothingAndCreateNothingInARemovedDirectory() throws Exception {
        fs.mkdir(ROOT, "/gone", 0777);
        long g = openDir("/gone");
        fs.rmdir(ROOT, "/gone");
        assertEquals(List.of(), fs.readdir(ROOT, g, 0, 10));
        assertEquals(Errno.ENOENT, errno(() -> fs.openat(ROOT, g, "x", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644)));
        assertEquals(Errno.ENOENT, errno(() -> fs.fstatat(ROOT, g, "x", 0)));
        fs.close(ROOT, g);
    }
}
