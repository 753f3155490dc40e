package org.fsp.block.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.junit.jupiter.api.Test;

class WaiterSleepTest {

    /**
     * Test double: {@link RecordingBlockDevice} whose {@link #awaitCompletion} lets one thread at a time park until
     * completions are released, as io_uring's does; it counts the calls refused because another thread was parked.
     */
    private static final class ParkingDeviceTestDouble implements BlockDevice {
        final RecordingBlockDevice d = new RecordingBlockDevice(64, 16);
        final ReentrantLock cq = new ReentrantLock();
        final AtomicInteger refused = new AtomicInteger();
        volatile boolean holding;

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
            return d.submitWrite(block, buffer, tag);
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
            return holding ? 0 : d.poll(handler, max);
        }

        @Override
        public int inFlight() {
            return d.inFlight();
        }

        @Override
        public boolean awaitCompletion(long timeoutNanos) {
            if (!cq.tryLock()) {
                refused.incrementAndGet();
                return false;
            }
            try {
                long deadline = System.nanoTime() + timeoutNanos;
                while (holding && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(50_000);
                }
                return !holding;
            } finally {
                cq.unlock();
            }
        }

        @Override
        public String describe() {
            return "parking test double";
        }

        @Override
        public void close() {
            d.close();
        }
    }

    @Test
    void shouldSleepASecondWaiterUntilCompletionsAreReapedInsteadOfYieldingInALoop() throws Exception {
        ParkingDeviceTestDouble device = new ParkingDeviceTestDouble();
        BatchingBlockScheduler s = new BatchingBlockScheduler(device, 64);
        Arena arena = Arena.ofShared();
        BlockRequest a = BlockRequest.write(1, arena.allocate(4096, 4096), BlockRequest.Priority.DATA);
        BlockRequest b = BlockRequest.write(9, arena.allocate(4096, 4096), BlockRequest.Priority.DATA);
        device.holding = true;
        s.enqueue(a);
        s.enqueue(b);
        Thread ta = Thread.ofPlatform().start(() -> s.await(a));
        Thread tb = Thread.ofPlatform().start(() -> s.await(b));
        Thread.sleep(200);
        device.holding = false;
        ta.join(5000);
        tb.join(5000);
        assertEquals(4096, a.result());
        assertEquals(4096, b.result());
        long sleeps = (long) s.status().get("waiterSleeps");
        assertTrue(sleeps >= 1, "the second waiter never slept");
        // A waiter that yields in a loop is refused by the parked one thousands of times in 200 ms; one that sleeps
        // between reaps is refused at most once per park period (1 ms) or so.
        assertTrue(device.refused.get() < 400, device.refused.get() + " refused device parks in 200 ms");
        arena.close();
    }
}
