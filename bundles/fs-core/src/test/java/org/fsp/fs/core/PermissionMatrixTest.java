package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The permission matrix: owner / group member (by supplementary group) / other / root against each operation on a
 * directory {@code /d} (mode 0750, owner 1000:100) holding a file {@code /d/f} (0640), an empty directory
 * {@code /d/e} and a symlink {@code /d/l}, with the errno Linux returns. Then the special rules: sticky directories,
 * setgid directories, set-id bits cleared by writes and chmod.
 */
class PermissionMatrixTest {

    static final Credentials OWNER = new Credentials(10, 1000, 100, new int[0]);
    static final Credentials GROUP = new Credentials(11, 1001, 300, new int[] {100});
    static final Credentials OTHER = new Credentials(12, 1002, 200, new int[0]);
    static final Credentials ROOT = Credentials.ROOT;

    @FunctionalInterface
    interface Op {
        void run(FileSystemService fs, Credentials who) throws Exception;
    }

    private static void open(FileSystemService fs, Credentials who, String path, int flags) throws Exception {
        fs.close(who, fs.open(who, path, flags, 0644));
    }

    /** Rows: operation, then the expected errno for owner, group, other, root (null = success). */
    static Stream<Arguments> matrix() {
        List<Arguments> rows = new ArrayList<>();
        row(rows, "stat file", (fs, w) -> fs.stat(w, "/d/f"), null, null, Errno.EACCES, null);
        row(rows, "readdir", (fs, w) -> fs.readdir(w, "/d", 0, 10), null, null, Errno.EACCES, null);
        row(rows, "open read", (fs, w) -> open(fs, w, "/d/f", OpenFlags.O_RDONLY), null, null, Errno.EACCES, null);
        row(
                rows,
                "open write",
                (fs, w) -> open(fs, w, "/d/f", OpenFlags.O_WRONLY),
                null,
                Errno.EACCES,
                Errno.EACCES,
                null);
        row(
                rows,
                "open rdonly|trunc",
                (fs, w) -> open(fs, w, "/d/f", OpenFlags.O_RDONLY | OpenFlags.O_TRUNC),
                null,
                Errno.EACCES,
                Errno.EACCES,
                null);
        row(
                rows,
                "create",
                (fs, w) -> open(fs, w, "/d/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY),
                null,
                Errno.EACCES,
                Errno.EACCES,
                null);
        row(
                rows,
                "open existing with O_CREAT",
                (fs, w) -> open(fs, w, "/d/f", OpenFlags.O_CREAT),
                null,
                null,
                Errno.EACCES,
                null);
        row(rows, "unlink", (fs, w) -> fs.unlink(w, "/d/f"), null, Errno.EACCES, Errno.EACCES, null);
        row(rows, "mkdir", (fs, w) -> fs.mkdir(w, "/d/sub", 0755), null, Errno.EACCES, Errno.EACCES, null);
        row(
                rows,
                "mkdir existing",
                (fs, w) -> fs.mkdir(w, "/d/e", 0755),
                Errno.EEXIST,
                Errno.EEXIST,
                Errno.EACCES,
                Errno.EEXIST);
        row(rows, "rmdir", (fs, w) -> fs.rmdir(w, "/d/e"), null, Errno.EACCES, Errno.EACCES, null);
        row(rows, "rename", (fs, w) -> fs.rename(w, "/d/f", "/d/g"), null, Errno.EACCES, Errno.EACCES, null);
        row(
                rows,
                "rename out to /tmp",
                (fs, w) -> fs.rename(w, "/d/f", "/tmp/g"),
                null,
                Errno.EACCES,
                Errno.EACCES,
                null);
        row(rows, "link", (fs, w) -> fs.link(w, "/d/f", "/d/h"), null, Errno.EACCES, Errno.EACCES, null);
        row(rows, "symlink", (fs, w) -> fs.symlink(w, "f", "/d/s"), null, Errno.EACCES, Errno.EACCES, null);
        row(rows, "readlink", (fs, w) -> fs.readlink(w, "/d/l"), null, null, Errno.EACCES, null);
        row(rows, "chmod", (fs, w) -> fs.chmod(w, "/d/f", 0600), null, Errno.EPERM, Errno.EACCES, null);
        row(
                rows,
                "chown to another user",
                (fs, w) -> fs.chown(w, "/d/f", 1001, -1),
                Errno.EPERM,
                Errno.EPERM,
                Errno.EACCES,
                null);
        row(
                rows,
                "chgrp to a group of the owner",
                (fs, w) -> fs.chown(w, "/d/f", -1, 100),
                null,
                Errno.EPERM,
                Errno.EACCES,
                null);
        row(
                rows,
                "chgrp to a foreign group",
                (fs, w) -> fs.chown(w, "/d/f", -1, 999),
                Errno.EPERM,
                Errno.EPERM,
                Errno.EACCES,
                null);
        row(rows, "truncate", (fs, w) -> fs.truncate(w, "/d/f", 1), null, Errno.EACCES, Errno.EACCES, null);
        row(
                rows,
                "utimens now",
                (fs, w) -> fs.utimens(w, "/d/f", FileSystemService.UTIME_NOW, FileSystemService.UTIME_NOW),
                null,
                Errno.EACCES,
                Errno.EACCES,
                null);
        row(rows, "utimens explicit", (fs, w) -> fs.utimens(w, "/d/f", 1, 2), null, Errno.EPERM, Errno.EACCES, null);
        row(rows, "chmod dir", (fs, w) -> fs.chmod(w, "/d", 0700), null, Errno.EPERM, Errno.EPERM, null);
        return rows.stream();
    }

    private static void row(
            List<Arguments> rows, String name, Op op, Errno owner, Errno group, Errno other, Errno root) {
        rows.add(Arguments.of(name + " as owner", op, OWNER, owner));
        rows.add(Arguments.of(name + " as group", op, GROUP, group));
        rows.add(Arguments.of(name + " as other", op, OTHER, other));
        rows.add(Arguments.of(name + " as root", op, ROOT, root));
    }

    private static FsCore setUp() throws Exception {
        FsCore fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(1024));
        fs.mkdir(ROOT, "/d", 0750);
        fs.chown(ROOT, "/d", 1000, 100);
        TestFs.writeFile(fs, ROOT, "/d/f", TestFs.utf8("data"));
        fs.chmod(ROOT, "/d/f", 0640);
        fs.chown(ROOT, "/d/f", 1000, 100);
        fs.mkdir(ROOT, "/d/e", 0755);
        fs.chown(ROOT, "/d/e", 1000, 100);
        fs.symlink(ROOT, "f", "/d/l");
        fs.mkdir(ROOT, "/tmp", 01777);
        fs.chmod(ROOT, "/tmp", 01777);
        return fs;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void shouldGiveTheLinuxErrno(String name, Op op, Credentials who, Errno expected) throws Exception {
        FsCore fs = setUp();
        Errno actual = null;
        try {
            op.run(fs, who);
        } catch (FsException e) {
            actual = e.errno();
        }
        assertEquals(expected, actual, name);
        fs.unmount();
    }

    @Test
    void shouldLetOnlyOwnersRemoveFromStickyDirectories() throws Exception {
        FsCore fs = setUp();
        long h = fs.open(OWNER, "/tmp/mine", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0666);
        fs.close(OWNER, h);
        assertEquals(Errno.EPERM, errnoOf(() -> fs.unlink(OTHER, "/tmp/mine")));
        assertEquals(Errno.EPERM, errnoOf(() -> fs.rename(OTHER, "/tmp/mine", "/tmp/theirs")));
        fs.unlink(OWNER, "/tmp/mine");
        fs.close(OWNER, fs.open(OWNER, "/tmp/again", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0666));
        fs.unlink(ROOT, "/tmp/again");
        fs.unmount();
    }

    @Test
    void shouldInheritTheGroupOfSetgidDirectories() throws Exception {
        FsCore fs = setUp();
        fs.mkdir(ROOT, "/sg", 0777);
        fs.chown(ROOT, "/sg", 0, 100);
        fs.chmod(ROOT, "/sg", 02777);
        fs.mkdir(OTHER, "/sg/sub", 0755);
        fs.close(OTHER, fs.open(OTHER, "/sg/file", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 02755));
        assertEquals(100, fs.stat(ROOT, "/sg/sub").gid());
        assertEquals(FileMode.S_ISGID, fs.stat(ROOT, "/sg/sub").mode() & FileMode.S_ISGID);
        assertEquals(100, fs.stat(ROOT, "/sg/file").gid());
        assertEquals(0, fs.stat(ROOT, "/sg/file").mode() & FileMode.S_ISGID, "not in group 100: setgid dropped");
        fs.unmount();
    }

    @Test
    void shouldClearSetIdBitsWhenANonOwnerWrites() throws Exception {
        FsCore fs = setUp();
        fs.mkdir(ROOT, "/x", 0777);
        TestFs.writeFile(fs, ROOT, "/x/prog", TestFs.utf8("#!"));
        fs.chown(ROOT, "/x/prog", 1000, 100);
        fs.chmod(ROOT, "/x/prog", 06777);
        long h = fs.open(ROOT, "/x/prog", OpenFlags.O_WRONLY, 0);
        fs.write(ROOT, h, MemorySegment.ofArray(new byte[] {1}));
        fs.close(ROOT, h);
        assertEquals(06777, fs.stat(ROOT, "/x/prog").mode() & 07777, "root keeps set-id bits");
        h = fs.open(OTHER, "/x/prog", OpenFlags.O_WRONLY, 0);
        fs.write(OTHER, h, MemorySegment.ofArray(new byte[] {1}));
        fs.close(OTHER, h);
        assertEquals(0777, fs.stat(ROOT, "/x/prog").mode() & 07777);
        fs.unmount();
    }

    @Test
    void shouldDropSetgidOnChmodByOwnerOutsideTheGroup() throws Exception {
        FsCore fs = setUp();
        fs.mkdir(ROOT, "/y", 0777);
        fs.close(OTHER, fs.open(OTHER, "/y/f", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644));
        fs.chown(ROOT, "/y/f", 1002, 100);
        fs.chmod(OTHER, "/y/f", 02755);
        assertEquals(0755, fs.stat(ROOT, "/y/f").mode() & 07777);
        fs.chmod(ROOT, "/y/f", 02755);
        assertNotEquals(0, fs.stat(ROOT, "/y/f").mode() & FileMode.S_ISGID);
        fs.unmount();
    }

    @Test
    void shouldRefuseSearchWithoutExecuteExceptToRoot() throws Exception {
        FsCore fs = setUp();
        fs.mkdir(ROOT, "/z", 0);
        fs.stat(ROOT, "/z/..");
        assertEquals(Errno.EACCES, errnoOf(() -> fs.stat(OWNER, "/z/x")));
        fs.unmount();
    }

    @FunctionalInterface
    interface Call {
        void run() throws Exception;
    }

    private static Errno errnoOf(Call c) throws Exception {
        try {
            c.run();
            return null;
        } catch (FsException e) {
            return e.errno();
        }
    }
}
