package org.fsp.block.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockRequest.Priority;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BatchingBlockSchedulerTest {

    private Arena arena;
    private RecordingBlockDevice device;

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        device = new RecordingBlockDevice(1024, 8);
    }

    @AfterEach
    void tearDown() {
        device.close();
        arena.close();
    }

    private MemorySegment block(int value) {
        MemorySegment b = arena.allocate(4096, 4096);
        b.fill((byte) value);
        return b;
    }

    @Test
    void shouldMergeAdjacentWritesIntoOneDeviceRequestAndKeepEachRequestsData() {
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 64);
        List<BlockRequest> writes = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            BlockRequest w = BlockRequest.write(10 + i, block(i + 1), Priority.DATA);
            writes.add(w);
            s.enqueue(w);
        }
        BlockRequest far = BlockRequest.write(100, block(9), Priority.DATA);
        s.enqueue(far);
        for (BlockRequest w : writes) {
            assertEquals(4096, s.await(w));
        }
        assertEquals(4096, s.await(far));
        assertEquals("[W10+4, W100+1]", device.accepted().toString());
        for (int i = 0; i < 4; i++) {
            assertEquals((byte) (i + 1), device.memory().get(ValueLayout.JAVA_BYTE, (10L + i) * 4096 + 17));
        }

        List<BlockRequest> reads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            BlockRequest r = BlockRequest.read(10 + i, block(0), Priority.DATA);
            reads.add(r);
            s.enqueue(r);
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(4096, s.await(reads.get(i)));
            assertEquals((byte) (i + 1), reads.get(i).buffer().get(ValueLayout.JAVA_BYTE, 4095), "read " + i);
        }
        assertEquals("R10+4", device.accepted().get(2).toString());
        assertEquals(3, s.deviceRequests());
    }

    @Test
    void shouldNotMergeAcrossOpsGapsOrTheMergeLimit() {
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 64, 2 * 4096, 32);
        BlockRequest[] rs = {
            BlockRequest.write(0, block(1), Priority.DATA),
            BlockRequest.write(1, block(1), Priority.DATA),
            BlockRequest.write(2, block(1), Priority.DATA), // over the 8 KiB limit
            BlockRequest.read(3, block(1), Priority.DATA), // another op
            BlockRequest.read(5, block(1), Priority.DATA), // a gap
        };
        for (BlockRequest r : rs) {
            s.enqueue(r);
        }
        for (BlockRequest r : rs) {
            s.await(r);
        }
        assertEquals("[W0+2, W2+1, R3+1, R5+1]", device.accepted().toString());
    }

    @Test
    void shouldLetJournalWritesAndFlushesOvertakeBulkData() {
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 64);
        List<BlockRequest> all = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            all.add(BlockRequest.write(200 + 2 * i, block(1), Priority.DATA));
        }
        all.add(BlockRequest.write(50, block(2), Priority.METADATA));
        all.add(BlockRequest.write(0, block(3), Priority.JOURNAL));
        all.add(BlockRequest.flush());
        all.add(BlockRequest.flush());
        for (BlockRequest r : all) {
            s.enqueue(r);
        }
        assertEquals(7, s.issue());
        assertEquals(
                "[W0+1, F, W50+1, W200+1, W202+1, W204+1]", device.accepted().toString());
        assertEquals(1, device.submitCalls(), "one device submit per issue batch");
        for (BlockRequest r : all) {
            assertTrue(s.await(r) >= 0);
        }
        assertEquals(0, all.get(5).result());
        assertEquals(0, all.get(6).result(), "both flushes answered by one device flush");
    }

    @Test
    void shouldLetBulkDataThroughAfterABoundedRunOfOvertakes() {
        RecordingBlockDevice wide = new RecordingBlockDevice(1024, 64);
        try {
            BatchingBlockScheduler s = new BatchingBlockScheduler(wide, 64);
            BlockRequest data = BlockRequest.write(1000, block(1), Priority.DATA);
            s.enqueue(data);
            List<BlockRequest> journal = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                BlockRequest j = BlockRequest.write(2 * i, block(2), Priority.JOURNAL); // never adjacent
                journal.add(j);
                s.enqueue(j);
            }
            assertEquals(41, s.issue());
            int dataPosition = wide.accepted().indexOf(new RecordingBlockDevice.Recorded("W", 1000, 1));
            assertEquals(BatchingBlockScheduler.MAX_OVERTAKES, dataPosition, "data waited for exactly the bound");
            assertEquals(4096, s.await(data));
            for (BlockRequest j : journal) {
                assertEquals(4096, s.await(j));
            }
        } finally {
            wide.close();
        }
    }

    @Test
    void shouldBoundItsQueueAndMakeTheEnqueuerDriveTheDevice() {
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 4);
        List<BlockRequest> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            BlockRequest r = BlockRequest.write(3 * i, block(i), Priority.DATA); // never adjacent
            all.add(r);
            s.enqueue(r);
            assertTrue(s.queued() <= 4, "queued " + s.queued());
        }
        for (BlockRequest r : all) {
            assertEquals(4096, s.await(r));
        }
        assertEquals(4, s.maxQueuedSeen());
        assertEquals(0, s.pending());
        assertTrue((long) s.status().get("backPressureWaits") > 0);
    }

    @Test
    void shouldQueueAJournalWritePastTheBoundThatBackgroundWritesFilled() {
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 4);
        List<BlockRequest> all = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            all.add(BlockRequest.write(3 * i, block(i), Priority.METADATA)); // never adjacent
            s.enqueue(all.get(i));
        }
        assertEquals(4, s.queued());
        BlockRequest journal = BlockRequest.write(100, block(8), Priority.JOURNAL);
        all.add(journal);
        s.enqueue(journal);
        assertEquals(5, s.queued(), "the journal write waits for no home write");
        assertEquals(0L, s.status().get("backPressureWaits"));
        assertEquals(1L, s.status().get("journalReserveUsed"));
        // The reserve is for journal writes only: a home write still drives the device until there is room.
        BlockRequest home = BlockRequest.write(200, block(9), Priority.METADATA);
        all.add(home);
        s.enqueue(home);
        assertTrue((long) s.status().get("backPressureWaits") > 0);
        for (BlockRequest r : all) {
            assertEquals(4096, s.await(r));
        }
    }

    @Test
    void shouldParkInTheDeviceInsteadOfSpinningThroughASlowRequest() {
        SlowDevice slow = new SlowDevice(device, TimeUnit.MILLISECONDS.toNanos(50));
        BatchingBlockScheduler s = new BatchingBlockScheduler(slow, 4);
        BlockRequest f = BlockRequest.flush();
        s.enqueue(f);
        assertEquals(0, s.await(f));
        assertTrue(slow.parks > 0, "never parked");
        // A spinning and yielding waiter polls hundreds of thousands of times in 50 ms; a parked one a few dozen.
        assertTrue(slow.polls < 10_000, slow.polls + " polls");
    }

    /** Holds completions back for a fixed time after submit; {@link #awaitCompletion} sleeps until then. */
    private static final class SlowDevice implements BlockDevice {
        private final RecordingBlockDevice inner;
        private final long delayNanos;
        private volatile long readyAt = Long.MAX_VALUE;
        int parks;
        int polls;

        SlowDevice(RecordingBlockDevice inner, long delayNanos) {
            this.inner = inner;
            this.delayNanos = delayNanos;
        }

        @Override
        public int blockSize() {
            return inner.blockSize();
        }

        @Override
        public long blockCount() {
            return inner.blockCount();
        }

        @Override
        public int bufferAlignment() {
            return inner.bufferAlignment();
        }

        @Override
        public int queueDepth() {
            return inner.queueDepth();
        }

        @Override
        public boolean submitRead(long block, MemorySegment buffer, long tag) {
            return inner.submitRead(block, buffer, tag);
        }

        @Override
        public boolean submitWrite(long block, MemorySegment buffer, long tag) {
            return inner.submitWrite(block, buffer, tag);
        }

        @Override
        public boolean submitFlush(long tag) {
            return inner.submitFlush(tag);
        }

        @Override
        public int submit() {
            readyAt = System.nanoTime() + delayNanos;
            return inner.submit();
        }

        @Override
        public synchronized int poll(CompletionHandler handler, int max) {
            polls++;
            return System.nanoTime() < readyAt ? 0 : inner.poll(handler, max);
        }

        @Override
        public boolean awaitCompletion(long timeoutNanos) {
            synchronized (this) {
                parks++;
            }
            long wait = Math.min(timeoutNanos, readyAt - System.nanoTime());
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            return System.nanoTime() >= readyAt;
        }

        @Override
        public int inFlight() {
            return inner.inFlight();
        }

        @Override
        public String describe() {
            return "slow " + inner.describe();
        }

        @Override
        public void close() {}
    }

    @Test
    void shouldRejectRequestsOutsideTheDeviceOrMisaligned() {
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 4);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> s.enqueue(BlockRequest.read(1024, block(0), Priority.DATA)));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
        MemorySegment odd = arena.allocate(3 * 4096, 4096).asSlice(512, 4096);
        assertThrows(IllegalArgumentException.class, () -> s.enqueue(BlockRequest.read(0, odd, Priority.DATA)));
        assertEquals(0, s.pending());
    }

    @Test
    void shouldCompleteEveryRequestOfManyConcurrentSubmitters() throws Exception {
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 16);
        int threads = 4;
        int perThread = 100;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        long blk = thread * perThread + i;
                        BlockRequest w = BlockRequest.write(blk, block((int) blk), Priority.values()[i % 3]);
                        s.enqueue(w);
                        if (i % 10 == 9) {
                            s.enqueue(BlockRequest.flush());
                        }
                        assertEquals(4096, s.await(w));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        for (long blk = 0; blk < threads * perThread; blk++) {
            assertEquals((byte) blk, device.memory().get(ValueLayout.JAVA_BYTE, blk * 4096 + 100), "block " + blk);
        }
        // Flushes nobody awaited are still completed by the drivers of the other requests, eventually.
        while (s.pending() > 0) {
            s.issue();
            s.poll();
        }
    }
}
