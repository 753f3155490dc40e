package org.fsp.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The {@link FileSystemService} contract, run against every implementation (fs-core, and the heap double the channel
 * tests stand on, which must answer as fs-core does): POSIX results and the errno Linux gives for each failure, by
 * path and by handle, for root and for an ordinary user.
 *
 * <p>A typical subclass returns a freshly formatted, empty file system from {@link #createFileSystem()} and releases
 * it in {@link #closeFileSystem}. Each test starts with an empty root owned by root (set to mode 0755) and a
 * world-writable {@code /w} for the ordinary user.
 */
public abstract class AbstractFileSystemServiceContractTest {

    protected static final Credentials ROOT = Credentials.ROOT;
    protected static final Credentials USER = new Credentials(4242, 1000, 1000, new int[0]);
    protected static final Credentials OTHER = new Credentials(4343, 1001, 1001, new int[0]);

    protected FileSystemService fs;

    protected abstract FileSystemService createFileSystem() throws Exception;

    protected void closeFileSystem(FileSystemService f) throws Exception {}

    @BeforeEach
    void open() throws Exception {
        fs = createFileSystem();
        fs.chmod(ROOT, "/", 0755);
        fs.mkdir(ROOT, "/w", 0777);
        fs.chmod(ROOT, "/w", 0777);
    }

    @AfterEach
    void close() throws Exception {
        closeFileSystem(fs);
    }

    private static void assertErrno(Errno expected, Executable call) {
        FsException e = assertThrows(FsException.class, call);
        assertEquals(expected, e.errno(), e.getMessage());
    }

    private static MemorySegment bytes(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.UTF_8));
    }

    private void put(Credentials who, String path, String content) throws FsException {
        long h = fs.open(who, path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
        try {
            fs.write(who, h, bytes(content));
        } finally {
            fs.close(who, h);
        }
    }

    private String get(Credentials who, String path) throws FsException {
        long h = fs.open(who, path, OpenFlags.O_RDONLY, 0);
        try {
            byte[] buf = new byte[(int) fs.fstat(who, h).size()];
            int n = fs.pread(who, h, 0, MemorySegment.ofArray(buf));
            return new String(buf, 0, n, StandardCharsets.UTF_8);
        } finally {
            fs.close(who, h);
        }
    }

    private List<String> names(String dir) throws FsException {
        List<String> out = new ArrayList<>();
        for (DirEntry e : fs.readdir(ROOT, dir, 0, 1000)) {
            out.add(e.name());
        }
        return out;
    }

    @Test
    void shouldReadBackWhatWasWrittenByPathAndByHandle() throws Exception {
        put(USER, "/w/a.txt", "hello, file system");
        assertEquals("hello, file system", get(USER, "/w/a.txt"));
        assertEquals(18, fs.stat(USER, "/w/a.txt").size());
        assertTrue(FileMode.isRegular(fs.stat(USER, "/w/a.txt").mode()));
        assertEquals(USER.uid(), fs.stat(USER, "/w/a.txt").uid());
    }

    @Test
    void shouldKeepPositionsAndReadHolesAsZeros() throws Exception {
        long h = fs.open(USER, "/w/sparse", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
        assertEquals(3, fs.write(USER, h, bytes("abc")));
        assertEquals(2, fs.pwrite(USER, h, 10_000, bytes("yz")));
        assertEquals(3, fs.write(USER, h, bytes("def")), "write continues at the position, pwrite does not move it");
        byte[] back = new byte[10_002];
        assertEquals(10_002, fs.pread(USER, h, 0, MemorySegment.ofArray(back)));
        assertEquals("abcdef", new String(back, 0, 6, StandardCharsets.UTF_8));
        assertEquals(0, back[5000]);
        assertEquals('y', back[10_000]);
        assertEquals(0, fs.pread(USER, h, 20_000, MemorySegment.ofArray(new byte[8])), "reads past the end give 0");
        fs.close(USER, h);
    }

    @Test
    void shouldAppendAtTheEndWithOAppend() throws Exception {
        put(USER, "/w/log", "one;");
        long h = fs.open(USER, "/w/log", OpenFlags.O_WRONLY | OpenFlags.O_APPEND, 0);
        fs.pwrite(USER, h, 0, bytes("two;"));
        fs.write(USER, h, bytes("three;"));
        fs.close(USER, h);
        assertEquals("one;two;three;", get(USER, "/w/log"));
    }

    @Test
    void shouldTruncateToZerosAndBack() throws Exception {
        put(USER, "/w/t", "0123456789");
        fs.truncate(USER, "/w/t", 4);
        assertEquals("0123", get(USER, "/w/t"));
        fs.truncate(USER, "/w/t", 6);
        assertEquals("0123\0\0", get(USER, "/w/t"));
        assertErrno(Errno.EINVAL, () -> fs.truncate(USER, "/w/t", -1));
        assertErrno(Errno.EISDIR, () -> fs.truncate(ROOT, "/w", 0));
    }

    @Test
    void shouldAnswerOpenWithLinuxErrnos() throws Exception {
        assertErrno(Errno.ENOENT, () -> fs.open(USER, "/w/missing", OpenFlags.O_RDONLY, 0));
        assertErrno(Errno.ENOENT, () -> fs.open(USER, "/nowhere/x", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644));
        put(USER, "/w/f", "x");
        assertErrno(
                Errno.EEXIST,
                () -> fs.open(USER, "/w/f", OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0644));
        assertErrno(Errno.ENOTDIR, () -> fs.open(USER, "/w/f/below", OpenFlags.O_RDONLY, 0));
        assertErrno(Errno.EISDIR, () -> fs.open(USER, "/w", OpenFlags.O_WRONLY, 0));
        assertErrno(Errno.ENOTDIR, () -> fs.open(USER, "/w/f", OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY, 0));
    }

    @Test
    void shouldAnswerCallsOnClosedOrWrongModeHandlesWithEbadf() throws Exception {
        put(USER, "/w/f", "abc");
        long ro = fs.open(USER, "/w/f", OpenFlags.O_RDONLY, 0);
        assertErrno(Errno.EBADF, () -> fs.write(USER, ro, bytes("no")));
        fs.close(USER, ro);
        assertErrno(Errno.EBADF, () -> fs.close(USER, ro));
        assertErrno(Errno.EBADF, () -> fs.fstat(USER, ro));
        long wo = fs.open(USER, "/w/f", OpenFlags.O_WRONLY, 0);
        assertErrno(Errno.EBADF, () -> fs.read(USER, wo, MemorySegment.ofArray(new byte[4])));
        fs.close(USER, wo);
    }

    @Test
    void shouldKeepDirectoriesAsLinuxDoes() throws Exception {
        fs.mkdir(USER, "/w/d", 0755);
        assertErrno(Errno.EEXIST, () -> fs.mkdir(USER, "/w/d", 0755));
        put(USER, "/w/d/inside", "x");
        assertErrno(Errno.ENOTEMPTY, () -> fs.rmdir(USER, "/w/d"));
        assertErrno(Errno.EISDIR, () -> fs.unlink(USER, "/w/d"));
        assertErrno(Errno.ENOTDIR, () -> fs.rmdir(USER, "/w/d/inside"));
        assertErrno(Errno.ENOENT, () -> fs.rmdir(USER, "/w/none"));
        assertEquals(List.of("inside"), names("/w/d"));
        fs.unlink(USER, "/w/d/inside");
        fs.rmdir(USER, "/w/d");
        assertErrno(Errno.ENOENT, () -> fs.stat(USER, "/w/d"));
        assertTrue(FileMode.isDirectory(fs.stat(USER, "/w").mode()));
    }

    @Test
    void shouldListADirectoryInPagesWithoutDotEntries() throws Exception {
        for (int k = 0; k < 25; k++) {
            put(USER, "/w/e" + k, "");
        }
        List<String> seen = new ArrayList<>();
        long cookie = 0;
        for (List<DirEntry> page; !(page = fs.readdir(USER, "/w", cookie, 7)).isEmpty(); ) {
            assertTrue(page.size() <= 7, "page of " + page.size());
            for (DirEntry e : page) {
                seen.add(e.name());
            }
            cookie = page.get(page.size() - 1).cookie();
        }
        assertEquals(25, seen.size(), seen.toString());
        assertTrue(!seen.contains(".") && !seen.contains(".."), seen.toString());
        assertEquals(25, seen.stream().distinct().count(), "each entry once: " + seen);
    }

    @Test
    void shouldRenameAtomicallyOverAFileAndRefuseWhatLinuxRefuses() throws Exception {
        put(USER, "/w/new", "new");
        put(USER, "/w/old", "old");
        fs.rename(USER, "/w/new", "/w/old");
        assertEquals("new", get(USER, "/w/old"));
        assertErrno(Errno.ENOENT, () -> fs.stat(USER, "/w/new"));
        fs.mkdir(USER, "/w/a", 0755);
        fs.mkdir(USER, "/w/b", 0755);
        put(USER, "/w/b/x", "x");
        assertErrno(Errno.ENOTEMPTY, () -> fs.rename(USER, "/w/a", "/w/b"));
        assertErrno(Errno.EINVAL, () -> fs.rename(USER, "/w/a", "/w/a/inside"));
        assertErrno(Errno.ENOTDIR, () -> fs.rename(USER, "/w/a", "/w/old"));
        assertErrno(Errno.EISDIR, () -> fs.rename(USER, "/w/old", "/w/a"));
        fs.rename(USER, "/w/a", "/w/b/a");
        assertTrue(FileMode.isDirectory(fs.stat(USER, "/w/b/a").mode()));
    }

    @Test
    void shouldLinkAndSymlinkAsLinuxDoes() throws Exception {
        put(USER, "/w/f", "data");
        fs.link(USER, "/w/f", "/w/g");
        assertEquals(2, fs.stat(USER, "/w/f").nlink());
        assertEquals(fs.stat(USER, "/w/f").ino(), fs.stat(USER, "/w/g").ino());
        fs.unlink(USER, "/w/f");
        assertEquals(1, fs.stat(USER, "/w/g").nlink());
        assertEquals("data", get(USER, "/w/g"));
        assertErrno(Errno.EEXIST, () -> fs.link(USER, "/w/g", "/w/g"));
        assertErrno(Errno.EPERM, () -> fs.link(USER, "/w", "/w/dirlink"));
        fs.symlink(USER, "g", "/w/s");
        assertEquals("g", fs.readlink(USER, "/w/s"));
        assertEquals("data", get(USER, "/w/s"));
        assertTrue(FileMode.isSymlink(fs.lstat(USER, "/w/s").mode()));
        assertTrue(FileMode.isRegular(fs.stat(USER, "/w/s").mode()));
        assertErrno(Errno.EINVAL, () -> fs.readlink(USER, "/w/g"));
        fs.symlink(USER, "s2", "/w/s1");
        fs.symlink(USER, "s1", "/w/s2");
        assertErrno(Errno.ELOOP, () -> fs.stat(USER, "/w/s1"));
    }

    @Test
    void shouldCheckPermissionsFromTheCallersCredentials() throws Exception {
        put(USER, "/w/private", "secret");
        fs.chmod(USER, "/w/private", 0600);
        assertErrno(Errno.EACCES, () -> fs.open(OTHER, "/w/private", OpenFlags.O_RDONLY, 0));
        assertErrno(Errno.EPERM, () -> fs.chmod(OTHER, "/w/private", 0666));
        assertEquals("secret", get(ROOT, "/w/private"), "root reads anything");
        fs.mkdir(USER, "/w/closed", 0700);
        assertErrno(Errno.EACCES, () -> fs.stat(OTHER, "/w/closed/anything"));
        assertErrno(Errno.EACCES, () -> fs.mkdir(OTHER, "/nope", 0755));
        fs.chown(ROOT, "/w/private", OTHER.uid(), FileSystemService.ID_UNCHANGED);
        assertEquals(OTHER.uid(), fs.stat(ROOT, "/w/private").uid());
        assertErrno(Errno.EPERM, () -> fs.chown(USER, "/w/closed", OTHER.uid(), FileSystemService.ID_UNCHANGED));
    }

    @Test
    void shouldKeepAnUnlinkedFileReadableUntilItsLastClose() throws Exception {
        put(USER, "/w/doomed", "still here");
        long h = fs.open(USER, "/w/doomed", OpenFlags.O_RDONLY, 0);
        fs.unlink(USER, "/w/doomed");
        assertErrno(Errno.ENOENT, () -> fs.stat(USER, "/w/doomed"));
        byte[] buf = new byte[10];
        assertEquals(10, fs.pread(USER, h, 0, MemorySegment.ofArray(buf)));
        assertArrayEquals("still here".getBytes(StandardCharsets.UTF_8), buf);
        fs.close(USER, h);
    }

    @Test
    void shouldSetTimesAndReportStatistics() throws Exception {
        put(USER, "/w/t", "x");
        fs.utimens(USER, "/w/t", 1_000_000_000L, 2_000_000_000L);
        assertEquals(2_000_000_000L, fs.stat(USER, "/w/t").mtimeNanos());
        fs.utimens(USER, "/w/t", FileSystemService.UTIME_OMIT, FileSystemService.UTIME_OMIT);
        assertEquals(2_000_000_000L, fs.stat(USER, "/w/t").mtimeNanos());
        FsStats s = fs.statfs(USER);
        assertTrue(s.blockSize() > 0 && s.freeBlocks() <= s.totalBlocks() && s.freeInodes() <= s.totalInodes(), "" + s);
        assertTrue(s.availableBlocks() <= s.freeBlocks(), s.toString());
        assertEquals(FileSystemService.NAME_MAX, s.nameMax());
        assertErrno(Errno.ENAMETOOLONG, () -> put(USER, "/w/" + "n".repeat(256), ""));
    }
}
