package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Operations on a handle racing its close, as a hostile client sends them from two lanes: the close may free the
 * inode (it was unlinked) while a write or read on the same handle is still running. The write must not allocate into
 * or store a freed inode (leaked blocks, or the record written over an inode number reused by someone else), and a
 * read must not copy blocks the inode no longer owns.
 *
 * <p>System property {@code fsp.race.rounds} (default 100,000).
 */
class HandleRaceTest {

    private static final Credentials CLIENT = new Credentials(4242, 1000, 1000, new int[0]);
    private static final int ROUNDS = Integer.getInteger("fsp.race.rounds", 100_000);
    private static final int WRITE_BYTES = 64 * 1024;

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldLeaveFreeCountsAndImageCleanWhenWritesRaceTheCloseOfAnUnlinkedFile() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(16384);
        TestFs.format(d);
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), TestFs.options());
        fs.mkdir(Credentials.ROOT, "/tmp", 01777);
        fs.chmod(Credentials.ROOT, "/tmp", 01777);
        // The directory's first block, so that the counts below compare files only.
        TestFs.writeFile(fs, Credentials.ROOT, "/tmp/bystander", new byte[0]);
        fs.unlink(Credentials.ROOT, "/tmp/bystander");
        fs.checkpoint();
        FsStats start = fs.statfs(CLIENT);
        MemorySegment data = MemorySegment.ofArray(new byte[WRITE_BYTES]);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CyclicBarrier go = new CyclicBarrier(2);
        CyclicBarrier done = new CyclicBarrier(2);
        long[] handle = new long[1];
        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                for (int r = 0; r < ROUNDS; r++) {
                    go.await();
                    fs.close(CLIENT, handle[0]);
                    done.await();
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        int ebadf = 0;
        for (int r = 0; r < ROUNDS && failure.get() == null; r++) {
            String path = "/tmp/victim";
            handle[0] = fs.open(CLIENT, path, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
            fs.unlink(CLIENT, path);
            go.await();
            for (int k = 0; k < 4; k++) {
                try {
                    fs.pwrite(CLIENT, handle[0], (long) k * WRITE_BYTES, data);
                } catch (FsException e) {
                    assertEquals(Errno.EBADF, e.errno(), "a write racing close may only see EBADF: " + e);
                    ebadf++;
                }
            }
            done.await();
            // Someone else creates a file: it may get the inode number the close just freed.
            TestFs.writeFile(fs, Credentials.ROOT, "/tmp/bystander", new byte[] {1, 2, 3});
            assertArrayEquals(new byte[] {1, 2, 3}, TestFs.readFile(fs, Credentials.ROOT, "/tmp/bystander"));
            fs.unlink(Credentials.ROOT, "/tmp/bystander");
            if (r % 4096 == 0) {
                fs.checkpoint();
            }
        }
        closer.join();
        if (failure.get() != null) {
            throw new AssertionError("closer failed", failure.get());
        }
        System.out.println("HandleRaceTest: " + ROUNDS + " rounds, " + ebadf + " writes saw EBADF");
        fs.checkpoint();
        FsStats end = fs.statfs(CLIENT);
        assertEquals(start.freeBlocks(), end.freeBlocks(), "free blocks after " + ROUNDS + " rounds");
        assertEquals(start.freeInodes(), end.freeInodes(), "free inodes after " + ROUNDS + " rounds");
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldNeverStoreAFreedInodeWhenAttributeChangesRaceTheCloseOfAnUnlinkedFile() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(65536);
        TestFs.format(d);
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), TestFs.options());
        fs.mkdir(Credentials.ROOT, "/tmp", 01777);
        fs.chmod(Credentials.ROOT, "/tmp", 01777);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CyclicBarrier go = new CyclicBarrier(2);
        CyclicBarrier done = new CyclicBarrier(2);
        long[] handle = new long[1];
        int rounds = Math.max(2000, ROUNDS / 20);
        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                for (int r = 0; r < rounds; r++) {
                    go.await();
                    fs.close(CLIENT, handle[0]);
                    done.await();
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        for (int r = 0; r < rounds && failure.get() == null; r++) {
            handle[0] = fs.open(CLIENT, "/tmp/victim", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
            fs.unlink(CLIENT, "/tmp/victim");
            go.await();
            try {
                fs.fchmod(CLIENT, handle[0], 04777);
                fs.futimens(CLIENT, handle[0], 1L, 1L);
                fs.fchown(CLIENT, handle[0], CLIENT.uid(), CLIENT.gid());
            } catch (FsException e) {
                assertEquals(Errno.EBADF, e.errno(), "a call racing close may only see EBADF: " + e);
            }
            done.await();
            // Root's new file may get the number just freed: on disk it must keep root's attributes.
            TestFs.writeFile(fs, Credentials.ROOT, "/tmp/b" + r, new byte[] {1});
        }
        closer.join();
        if (failure.get() != null) {
            throw new AssertionError("closer failed", failure.get());
        }
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
        FsCore again = TestFs.mount(d);
        for (int r = 0; r < rounds; r++) {
            var a = again.stat(Credentials.ROOT, "/tmp/b" + r);
            assertEquals(0, a.uid(), "owner of /tmp/b" + r + ", which may reuse a freed number");
            assertEquals(0644, a.mode() & 07777, "mode of /tmp/b" + r + ", which may reuse a freed number");
        }
        again.unmount();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldNeverReturnAnotherFilesBytesToAReadRacingATruncate() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(16384);
        TestFs.format(d);
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), TestFs.options());
        byte[] secret = new byte[16384];
        Arrays.fill(secret, (byte) 0x5e);
        byte[] mine = new byte[16384];
        Arrays.fill(mine, (byte) 0x11);
        TestFs.writeFile(fs, Credentials.ROOT, "/mine", mine);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long reader = fs.open(Credentials.ROOT, "/mine", OpenFlags.O_RDONLY, 0);
        List<Thread> threads = new ArrayList<>();
        int rounds = Math.max(2000, ROUNDS / 20);
        threads.add(Thread.ofPlatform().start(() -> {
            byte[] buf = new byte[16384];
            try {
                for (int r = 0; r < rounds * 4 && failure.get() == null; r++) {
                    Arrays.fill(buf, (byte) 0);
                    int n = fs.pread(Credentials.ROOT, reader, 0, MemorySegment.ofArray(buf));
                    for (int k = 0; k < n; k++) {
                        if (buf[k] != 0x11 && buf[k] != 0) {
                            throw new AssertionError("read byte " + buf[k] + " at " + k + " of another file");
                        }
                    }
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }));
        threads.add(Thread.ofPlatform().start(() -> {
            try {
                for (int r = 0; r < rounds && failure.get() == null; r++) {
                    fs.truncate(Credentials.ROOT, "/mine", 0);
                    fs.checkpoint();
                    TestFs.writeFile(fs, Credentials.ROOT, "/secret", secret);
                    fs.unlink(Credentials.ROOT, "/secret");
                    long h = fs.open(Credentials.ROOT, "/mine", OpenFlags.O_WRONLY, 0);
                    fs.pwrite(Credentials.ROOT, h, 0, MemorySegment.ofArray(mine));
                    fs.close(Credentials.ROOT, h);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }));
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        fs.close(Credentials.ROOT, reader);
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }
}
