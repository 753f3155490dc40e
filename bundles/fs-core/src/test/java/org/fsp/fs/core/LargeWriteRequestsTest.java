package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.Formatter;
import org.junit.jupiter.api.Test;

/**
 * A 1 MiB write through fs-core and the batching scheduler reaches the device in a few large requests, not one per
 * 4 KiB block: write-back queues blocks in order and the scheduler merges them.
 */
class LargeWriteRequestsTest {

    private static final Credentials ROOT = Credentials.ROOT;

    /** Test double: a RAM device that records the byte size of every write it is handed. */
    private static final class CountingDeviceTestDouble implements BlockDevice {
        final RamBlockDevice d;
        final List<Long> writes = Collections.synchronizedList(new ArrayList<>());

        CountingDeviceTestDouble(long bytes) {
            d = new RamBlockDevice(bytes, 64);
        }

        @Override
        public int blockSize() {
            return d.blockSize();
        }

        @Override
        public long blockCount() {
            return d.blockCount();
        }

        @Override
        public int bufferAlignment() {
            return d.bufferAlignment();
        }

        @Override
        public int queueDepth() {
            return d.queueDepth();
        }

        @Override
        public boolean submitRead(long block, MemorySegment buffer, long tag) {
            return d.submitRead(block, buffer, tag);
        }

        @Override
        public boolean submitWrite(long block, MemorySegment buffer, long tag) {
            boolean ok = d.submitWrite(block, buffer, tag);
            if (ok) {
                writes.add(buffer.byteSize());
            }
            return ok;
        }

        @Override
        public boolean submitFlush(long tag) {
            return d.submitFlush(tag);
        }

        @Override
        public int submit() {
            return d.submit();
        }

        @Override
        public int poll(CompletionHandler handler, int max) {
            return d.poll(handler, max);
        }

        @Override
        public int inFlight() {
            return d.inFlight();
        }

        @Override
        public String describe() {
            return "counting RAM test double";
        }

        @Override
        public void close() {
            d.close();
        }
    }

    @Test
    void shouldSendA1MiBFsyncedWriteToTheDeviceInAFewLargeRequests() throws Exception {
        CountingDeviceTestDouble dev = new CountingDeviceTestDouble(64L << 20);
        BatchingBlockScheduler s = new BatchingBlockScheduler(dev, 256);
        Formatter.format(new BlockIo(s), dev.blockCount() * dev.blockSize() / 4096, 0);
        FsCore fs = FsCore.mount(s, new FsCore.Options(16L << 20, 8, 0));
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        long h = fs.open(ROOT, "/big", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
        fs.sync();
        dev.writes.clear();
        fs.pwrite(ROOT, h, 0, MemorySegment.ofArray(data));
        fs.fsync(ROOT, h);
        List<Long> writes = List.copyOf(dev.writes);
        long dataWrites = writes.stream().filter(n -> n >= 256 * 1024).count();
        long bytes = writes.stream().mapToLong(Long::longValue).sum();
        assertTrue(bytes >= data.length, "wrote only " + bytes + " bytes: " + writes);
        // The data in two or three merged requests, plus the journal's body and commit block.
        assertTrue(writes.size() <= 6, "1 MiB and its commit took " + writes.size() + " device writes: " + writes);
        assertTrue(dataWrites >= 2, "no large data requests among " + writes);
        fs.close(ROOT, h);

        // Write-back of everything dirty (sync, the background thread) goes in block order too.
        long h2 = fs.open(ROOT, "/big2", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
        fs.sync();
        dev.writes.clear();
        for (int off = 0; off < data.length; off += 64 * 1024) {
            fs.pwrite(ROOT, h2, off, MemorySegment.ofArray(data).asSlice(off, 64 * 1024));
        }
        fs.sync();
        List<Long> synced = List.copyOf(dev.writes);
        assertTrue(
                synced.size() <= 8, "1 MiB written back by sync took " + synced.size() + " device writes: " + synced);
        fs.close(ROOT, h2);
        fs.unmount();
        FsCore again = FsCore.mount(s, TestFs.options());
        assertArrayEquals(data, TestFs.readFile(again, ROOT, "/big"));
        assertArrayEquals(data, TestFs.readFile(again, ROOT, "/big2"));
        again.unmount();
    }
}
