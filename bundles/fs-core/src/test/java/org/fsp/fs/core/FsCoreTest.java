package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.Test;

class FsCoreTest {

    private static final Credentials ROOT = Credentials.ROOT;

    private static Errno errno(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(FsException.class, e).errno();
    }

    @Test
    void shouldKeepFilesAndDirectoriesAcrossRemount() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(d);
        fs.mkdir(ROOT, "/a", 0755);
        fs.mkdir(ROOT, "/a/b", 0700);
        byte[] big = new byte[300_000];
        new Random(1).nextBytes(big);
        TestFs.writeFile(fs, ROOT, "/a/b/f", big);
        TestFs.writeFile(fs, ROOT, "/small", TestFs.utf8("hello"));
        fs.symlink(ROOT, "a/b/f", "/link");
        fs.link(ROOT, "/small", "/a/hard");
        fs.unmount();

        fs = TestFs.mount(d);
        assertArrayEquals(big, TestFs.readFile(fs, ROOT, "/a/b/f"));
        assertArrayEquals(big, TestFs.readFile(fs, ROOT, "/link"));
        assertArrayEquals(TestFs.utf8("hello"), TestFs.readFile(fs, ROOT, "/a/hard"));
        assertEquals(2, fs.stat(ROOT, "/small").nlink());
        assertEquals(3, fs.stat(ROOT, "/a").nlink());
        assertEquals("a/b/f", fs.readlink(ROOT, "/link"));
        FileAttributes st = fs.stat(ROOT, "/a/b");
        assertTrue(st.isDirectory());
        assertEquals(0700, st.mode() & 07777);
        fs.unmount();
    }

    @Test
    void shouldReturnLinuxErrnos() throws Exception {
        FsCore fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(2048));
        fs.mkdir(ROOT, "/d", 0755);
        TestFs.writeFile(fs, ROOT, "/d/f", TestFs.utf8("x"));
        assertEquals(Errno.ENOENT, errno(() -> fs.stat(ROOT, "/nope")));
        assertEquals(Errno.EEXIST, errno(() -> fs.mkdir(ROOT, "/d", 0755)));
        assertEquals(Errno.ENOTDIR, errno(() -> fs.stat(ROOT, "/d/f/x")));
        assertEquals(Errno.ENOTEMPTY, errno(() -> fs.rmdir(ROOT, "/d")));
        assertEquals(Errno.EISDIR, errno(() -> fs.unlink(ROOT, "/d")));
        assertEquals(Errno.ENOTDIR, errno(() -> fs.rmdir(ROOT, "/d/f")));
        assertEquals(Errno.EINVAL, errno(() -> fs.rename(ROOT, "/d", "/d/sub")));
        assertEquals(Errno.EEXIST, errno(() -> fs.open(ROOT, "/d/f", OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0644)));
        assertEquals(Errno.EISDIR, errno(() -> fs.open(ROOT, "/d", OpenFlags.O_RDWR, 0)));
        assertEquals(Errno.ENOTDIR, errno(() -> fs.open(ROOT, "/d/f", OpenFlags.O_DIRECTORY, 0)));
        assertEquals(Errno.EINVAL, errno(() -> fs.readlink(ROOT, "/d/f")));
        assertEquals(Errno.EINVAL, errno(() -> fs.open(ROOT, "/d/new", OpenFlags.O_CREAT | OpenFlags.O_DIRECTORY, 0)));
        assertEquals(Errno.ENOENT, errno(() -> fs.stat(ROOT, "/d/new")));
        assertEquals(Errno.EISDIR, errno(() -> fs.open(ROOT, "/d/new/", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644)));
        assertEquals(Errno.ENOTDIR, errno(() -> fs.unlink(ROOT, "/d/f/")));
        assertEquals(Errno.EPERM, errno(() -> fs.link(ROOT, "/d", "/dlink")));
        assertEquals(Errno.ENOENT, errno(() -> fs.symlink(ROOT, "", "/empty")));
        assertEquals(Errno.EINVAL, errno(() -> fs.rmdir(ROOT, "/d/.")));
        assertEquals(Errno.ENAMETOOLONG, errno(() -> fs.mkdir(ROOT, "/" + "x".repeat(256), 0755)));
        assertEquals(Errno.EBUSY, errno(() -> fs.rmdir(ROOT, "/")));
        fs.symlink(ROOT, "loop2", "/loop1");
        fs.symlink(ROOT, "loop1", "/loop2");
        assertEquals(Errno.ELOOP, errno(() -> fs.stat(ROOT, "/loop1")));
        assertEquals(Errno.ELOOP, errno(() -> fs.open(ROOT, "/loop1", OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW, 0)));
        long h = fs.open(ROOT, "/d/f", OpenFlags.O_RDONLY, 0);
        assertEquals(Errno.EBADF, errno(() -> fs.write(ROOT, h, MemorySegment.ofArray(new byte[1]))));
        assertEquals(Errno.EINVAL, errno(() -> fs.ftruncate(ROOT, h, 0)));
        fs.close(ROOT, h);
        assertEquals(Errno.EBADF, errno(() -> fs.close(ROOT, h)));
        fs.unmount();
    }

    @Test
    void shouldListLargeDirectoriesWithStableCookies() throws Exception {
        FsCore fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(16384));
        fs.mkdir(ROOT, "/big", 0755);
        int n = 3000;
        for (int k = 0; k < n; k++) {
            TestFs.writeFile(fs, ROOT, "/big/file-" + k, new byte[0]);
        }
        for (int k = 0; k < n; k += 3) {
            fs.unlink(ROOT, "/big/file-" + k);
        }
        Set<String> seen = new HashSet<>();
        long cookie = 0;
        while (true) {
            List<DirEntry> page = fs.readdir(ROOT, "/big", cookie, 100);
            if (page.isEmpty()) {
                break;
            }
            for (DirEntry e : page) {
                assertTrue(seen.add(e.name()), "listed twice: " + e.name());
            }
            cookie = page.get(page.size() - 1).cookie();
        }
        assertEquals(n - (n + 2) / 3, seen.size());
        fs.unmount();
    }

    @Test
    void shouldReuseSpaceAfterDeletesAndReportEnospcWhenFull() throws Exception {
        FsCore fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(1024));
        byte[] chunk = new byte[1 << 20];
        List<String> files = new ArrayList<>();
        Errno last = null;
        for (int k = 0; k < 10; k++) {
            try {
                TestFs.writeFile(fs, ROOT, "/f" + k, chunk);
                files.add("/f" + k);
            } catch (FsException e) {
                last = e.errno();
                break;
            }
        }
        assertEquals(Errno.ENOSPC, last);
        for (String f : files) {
            fs.unlink(ROOT, f);
        }
        TestFs.writeFile(fs, ROOT, "/again", chunk);
        assertEquals(chunk.length, fs.stat(ROOT, "/again").size());
        fs.unmount();
    }

    @Test
    void shouldNotShortenAWriteWhileFreedBlocksAwaitACheckpoint() throws Exception {
        FsCore fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(1024));
        byte[] data = new byte[2 << 20];
        new Random(11).nextBytes(data);
        TestFs.writeFile(fs, ROOT, "/first", data);
        fs.unlink(ROOT, "/first"); // its blocks become reusable only at the next checkpoint
        long h = fs.open(ROOT, "/second", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644);
        int n = fs.write(ROOT, h, MemorySegment.ofArray(data));
        fs.close(ROOT, h);
        assertEquals(data.length, n, "one write call, and the space is there once the unlinked blocks are reclaimed");
        assertEquals(data.length, fs.stat(ROOT, "/second").size());
        fs.unmount();
    }

    @Test
    void shouldMapFragmentedFilesThroughExtentBlocks() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(d);
        long h = fs.open(ROOT, "/frag", OpenFlags.O_CREAT | OpenFlags.O_RDWR | OpenFlags.O_APPEND, 0644);
        byte[] expected = new byte[600 * 4096];
        new Random(7).nextBytes(expected);
        for (int k = 0; k < 600; k++) {
            fs.write(ROOT, h, MemorySegment.ofArray(expected).asSlice((long) k * 4096, 4096));
            TestFs.writeFile(fs, ROOT, "/spacer" + k, new byte[4096]);
        }
        fs.close(ROOT, h);
        assertEquals(
                600 + 3,
                fs.stat(ROOT, "/frag").blocks() / 8,
                "600 one-block extents: 10 inline, 590 in 3 extent blocks");
        for (int k = 0; k < 600; k += 2) {
            fs.unlink(ROOT, "/spacer" + k);
        }
        fs.truncate(ROOT, "/frag", 450 * 4096 + 100);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
        fs = TestFs.mount(d);
        byte[] actual = TestFs.readFile(fs, ROOT, "/frag");
        assertArrayEquals(java.util.Arrays.copyOf(expected, 450 * 4096 + 100), actual);
        fs.unmount();
    }

    @Test
    void shouldKeepLookupsAndListingsRightWithAHundredThousandEntries() throws Exception {
        int entries = Integer.getInteger("fsp.bigdir.entries", 100_000);
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(16384);
        FsCore fs = TestFs.formatAndMount(d);
        fs.mkdir(ROOT, "/big", 0755);
        int perFile = 50_000;
        for (int f = 0; f * perFile < entries; f++) {
            TestFs.writeFile(fs, ROOT, "/target" + f, TestFs.utf8("t" + f));
        }
        for (int k = 0; k < entries; k++) {
            fs.link(ROOT, "/target" + (k / perFile), "/big/entry-with-a-longish-name-" + k);
        }
        fs.unmount();
        fs = TestFs.mount(d);
        Random rnd = new Random(3);
        for (int q = 0; q < 2000; q++) {
            int k = rnd.nextInt(entries);
            assertEquals(
                    1 + (long) Math.min(perFile, entries - (k / perFile) * perFile),
                    fs.stat(ROOT, "/big/entry-with-a-longish-name-" + k).nlink());
        }
        int listed = 0;
        long cookie = 0;
        while (true) {
            List<DirEntry> page = fs.readdir(ROOT, "/big", cookie, 4096);
            if (page.isEmpty()) {
                break;
            }
            listed += page.size();
            cookie = page.get(page.size() - 1).cookie();
        }
        assertEquals(entries, listed);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }

    @Test
    void shouldUpdateAccessTimesTheRelatimeWay() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        TestFs.format(d);
        java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong(1_000);
        FsCore fs = FsCore.mount(new org.fsp.fs.core.tools.DirectBlockScheduler(d), TestFs.options(), clock::get);
        TestFs.writeFile(fs, ROOT, "/f", TestFs.utf8("hello"));
        clock.set(2_000);
        TestFs.readFile(fs, ROOT, "/f");
        assertEquals(2_000, fs.stat(ROOT, "/f").atimeNanos(), "first read after a change");
        clock.set(3_000);
        TestFs.readFile(fs, ROOT, "/f");
        assertEquals(2_000, fs.stat(ROOT, "/f").atimeNanos(), "newer than mtime and ctime: left alone");
        long day = 24L * 3600 * 1_000_000_000L;
        clock.set(2_000 + day + 1);
        TestFs.readFile(fs, ROOT, "/f");
        assertEquals(2_000 + day + 1, fs.stat(ROOT, "/f").atimeNanos(), "a day old: refreshed");
        fs.unmount();
    }

    @Test
    void shouldFreeFilesUnlinkedWhileOpenWhenTheyCloseOrAtUnmount() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        FsCore fs = TestFs.formatAndMount(d);
        long free = fs.statfs(ROOT).freeBlocks();
        long h = fs.open(ROOT, "/gone", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
        fs.write(ROOT, h, MemorySegment.ofArray(new byte[40_000]));
        fs.unlink(ROOT, "/gone");
        assertEquals(Errno.ENOENT, errno(() -> fs.stat(ROOT, "/gone")));
        byte[] back = new byte[40_000];
        assertEquals(40_000, fs.pread(ROOT, h, 0, MemorySegment.ofArray(back)));
        assertEquals(0, fs.fstat(ROOT, h).nlink());
        long kept = fs.open(ROOT, "/kept", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
        fs.unlink(ROOT, "/kept");
        fs.close(ROOT, h);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
        FsCore again = TestFs.mount(d);
        assertEquals(Errno.EBADF, errno(() -> again.fstat(ROOT, kept)));
        assertTrue(again.statfs(ROOT).freeBlocks() + 16 >= free, "blocks of both files came back (after a checkpoint)");
        again.unmount();
    }
}
