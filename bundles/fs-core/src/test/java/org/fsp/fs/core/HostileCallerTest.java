package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.fsp.fs.core.tools.Formatter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What an unprivileged caller can do to the file system for everyone else, each case an input and the behaviour
 * expected: the caller gets an errno, nobody else notices, and only a real device error or real corruption stops the
 * file system writing.
 */
class HostileCallerTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final Credentials MALLORY = new Credentials(100, 1000, 1000, new int[0]);
    private static final Credentials ALICE = new Credentials(200, 1001, 1001, new int[0]);

    private static FsCore mount(HeapBlockDeviceTestDouble d, LinkProtection p) throws Exception {
        return FsCore.mount(new DirectBlockScheduler(d), TestFs.options().withLinkProtection(p));
    }

    private static FsCore withSharedTmp(HeapBlockDeviceTestDouble d, LinkProtection p) throws Exception {
        TestFs.format(d);
        FsCore fs = mount(d, p);
        fs.mkdir(ROOT, "/tmp", 01777);
        fs.chmod(ROOT, "/tmp", 01777);
        return fs;
    }

    // ---------------------------------------------------------------------------------------------------------
    // walks a client can make as long as it likes

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldRenameInADirectoryChainDeeperThan65536LevelsWithoutGoingReadOnly() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(100_000);
        Formatter.format(new BlockIo(new DirectBlockScheduler(d)), d.blockCount(), 0, 0, 72_000);
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), new FsCore.Options(8L << 20, 0, 0));
        fs.mkdir(ROOT, "/home", 0777);
        fs.chmod(ROOT, "/home", 0777);
        // 66,001 directories, each renamed as "a" into the one before: a chain built with short paths only. Every
        // 2,000 levels a relative symlink "j" jumps 2,000 levels down, so "x0/j" names the bottom.
        int depth = 66_000;
        int jump = 2_000;
        String down = "a/".repeat(jump) + "j";
        for (int g = 0; g <= depth / GROUP; g++) {
            fs.mkdir(MALLORY, "/home/g" + g, 0755);
        }
        for (int k = 0; k <= depth; k++) {
            fs.mkdir(MALLORY, chainDir(k), 0755);
            if (k % jump == 0 && k < depth) {
                fs.symlink(MALLORY, down, chainDir(k) + "/j");
            }
        }
        fs.mkdir(MALLORY, chainDir(depth) + "/j", 0755);
        for (int k = depth - 1; k >= 0; k--) {
            fs.rename(MALLORY, chainDir(k + 1), chainDir(k) + "/a");
        }
        // A cross-directory rename of a directory checks that the target is not inside it: a walk of every level.
        fs.mkdir(MALLORY, "/home/elsewhere", 0755);
        fs.rename(MALLORY, "/home/elsewhere", chainDir(0) + "/j/moved");
        assertEquals(
                Errno.EINVAL,
                assertThrows(FsException.class, () -> fs.rename(MALLORY, chainDir(0), chainDir(0) + "/j/in"))
                        .errno());
        assertNull(fs.failure(), "the file system must keep writing");
        TestFs.writeFile(fs, ALICE, "/home/alice-file", new byte[] {7});
        fs.unmount();
    }

    /** Directories of the chain before they are linked, in groups below the link limit of their parent. */
    private static final int GROUP = 30_000;

    private static String chainDir(int k) {
        return "/home/g" + (k / GROUP) + "/x" + k;
    }

    // ---------------------------------------------------------------------------------------------------------
    // protected_symlinks, protected_hardlinks, protected_regular

    @Test
    void shouldNotLetRootFollowAnotherUsersSymlinkInAStickyWorldWritableDirectory() throws Exception {
        FsCore fs = withSharedTmp(new HeapBlockDeviceTestDouble(4096), LinkProtection.DISTRIBUTION_DEFAULTS);
        TestFs.writeFile(fs, ROOT, "/etc-shadow", new byte[] {1});
        fs.symlink(MALLORY, "/etc-shadow", "/tmp/trap");
        FsException e = assertThrows(
                FsException.class, () -> fs.open(ROOT, "/tmp/trap", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0644));
        assertEquals(Errno.EACCES, e.errno());
        assertEquals(
                Errno.EACCES,
                assertThrows(FsException.class, () -> fs.stat(ROOT, "/tmp/trap"))
                        .errno());
        // The link's owner may follow it, and lstat never follows.
        fs.chmod(ROOT, "/etc-shadow", 0644);
        assertEquals(1, fs.stat(MALLORY, "/tmp/trap").size());
        assertTrue(fs.lstat(ROOT, "/tmp/trap").size() > 0);
        fs.unmount();
    }

    @Test
    void shouldFollowSuchSymlinksWhenProtectionIsOffOrTheDirectoryIsNotShared() throws Exception {
        FsCore fs = withSharedTmp(new HeapBlockDeviceTestDouble(4096), LinkProtection.OFF);
        TestFs.writeFile(fs, ROOT, "/target", new byte[] {1, 2});
        fs.symlink(MALLORY, "/target", "/tmp/link");
        assertEquals(2, fs.stat(ROOT, "/tmp/link").size());
        fs.unmount();
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(4096);
        FsCore fs2 = withSharedTmp(d, LinkProtection.DISTRIBUTION_DEFAULTS);
        fs2.mkdir(ROOT, "/pub", 0777);
        fs2.chmod(ROOT, "/pub", 0777); // world-writable but not sticky
        TestFs.writeFile(fs2, ROOT, "/target", new byte[] {1, 2});
        fs2.symlink(MALLORY, "/target", "/pub/link");
        assertEquals(2, fs2.stat(ROOT, "/pub/link").size());
        fs2.unmount();
    }

    @Test
    void shouldRefuseAHardLinkToAFileTheCallerNeitherOwnsNorMayWrite() throws Exception {
        FsCore fs = withSharedTmp(new HeapBlockDeviceTestDouble(4096), LinkProtection.DISTRIBUTION_DEFAULTS);
        TestFs.writeFile(fs, ROOT, "/tmp/roots", new byte[] {1});
        fs.chmod(ROOT, "/tmp/roots", 0644);
        FsException e = assertThrows(FsException.class, () -> fs.link(MALLORY, "/tmp/roots", "/tmp/kept"));
        assertEquals(Errno.EPERM, e.errno());
        TestFs.writeFile(fs, ALICE, "/tmp/alices", new byte[] {1});
        fs.chmod(ALICE, "/tmp/alices", 0666);
        fs.link(MALLORY, "/tmp/alices", "/tmp/mallory-may"); // readable and writable: allowed
        fs.link(ROOT, "/tmp/roots", "/tmp/root-may"); // root is exempt
        fs.unmount();
        FsCore off = withSharedTmp(new HeapBlockDeviceTestDouble(4096), LinkProtection.OFF);
        TestFs.writeFile(off, ROOT, "/tmp/roots", new byte[] {1});
        off.chmod(ROOT, "/tmp/roots", 0644);
        off.link(MALLORY, "/tmp/roots", "/tmp/kept");
        off.unmount();
    }

    @Test
    void shouldRefuseOCreatOnAnotherUsersFileInAStickySharedDirectory() throws Exception {
        FsCore fs = withSharedTmp(new HeapBlockDeviceTestDouble(4096), LinkProtection.DISTRIBUTION_DEFAULTS);
        TestFs.writeFile(fs, MALLORY, "/tmp/report.txt", new byte[0]);
        fs.chmod(MALLORY, "/tmp/report.txt", 0666);
        FsException e = assertThrows(
                FsException.class,
                () -> fs.open(ROOT, "/tmp/report.txt", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0644));
        assertEquals(Errno.EACCES, e.errno());
        // Without O_CREAT the open is an ordinary one.
        fs.close(ROOT, fs.open(ROOT, "/tmp/report.txt", OpenFlags.O_WRONLY, 0));
        // The owner itself may O_CREAT it.
        fs.close(MALLORY, fs.open(MALLORY, "/tmp/report.txt", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0644));
        fs.unmount();
    }

    // ---------------------------------------------------------------------------------------------------------
    // a full device

    @Test
    void shouldKeepTheRootReserveFromOrdinaryUsers() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(4096);
        Formatter.format(new BlockIo(new DirectBlockScheduler(d)), d.blockCount(), 0, 10);
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), TestFs.options());
        fs.mkdir(ROOT, "/home", 0777);
        fs.chmod(ROOT, "/home", 0777);
        FsStats before = fs.statfs(MALLORY);
        assertTrue(before.availableBlocks() < before.freeBlocks(), before.toString());
        long h = fs.open(MALLORY, "/home/fill", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0644);
        MemorySegment chunk = MemorySegment.ofArray(new byte[64 * 1024]);
        FsException full = assertThrows(FsException.class, () -> {
            while (true) {
                fs.write(MALLORY, h, chunk);
            }
        });
        assertEquals(Errno.ENOSPC, full.errno());
        fs.close(MALLORY, h);
        FsStats after = fs.statfs(ROOT);
        assertEquals(0, after.availableBlocks(), after.toString());
        assertTrue(after.freeBlocks() >= before.freeBlocks() - before.availableBlocks() - 1, after.toString());
        // Root still writes.
        TestFs.writeFile(fs, ROOT, "/root-log", new byte[256 * 1024]);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldNotCheckpointOncePerRequestWhenAClientAlternatesUnlinkAndWriteOnAFullDevice() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(4096);
        Formatter.format(new BlockIo(new DirectBlockScheduler(d)), d.blockCount(), 0, 0);
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), TestFs.options());
        MemorySegment chunk = MemorySegment.ofArray(new byte[64 * 1024]);
        TestFs.writeFile(fs, ROOT, "/victim", new byte[64 * 1024]);
        long h = fs.open(ROOT, "/fill", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0644);
        try {
            while (true) {
                fs.write(ROOT, h, chunk);
            }
        } catch (FsException e) {
            assertEquals(Errno.ENOSPC, e.errno());
        }
        fs.close(ROOT, h);
        fs.checkpoint();
        long checkpointsBefore = (long) fs.status().get("journal.checkpoints");
        int rounds = 100;
        long started = System.nanoTime();
        for (int r = 0; r < rounds; r++) {
            fs.unlink(ROOT, "/victim");
            TestFs.writeFile(fs, ROOT, "/victim", new byte[64 * 1024]);
        }
        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
        long forced = (long) fs.status().get("journal.checkpoints") - checkpointsBefore;
        // One checkpoint per 20 ms at most (and a few at the edges), not one per write.
        assertTrue(forced <= elapsedMillis / 20 + 3, forced + " checkpoints in " + elapsedMillis + " ms");
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }
}
