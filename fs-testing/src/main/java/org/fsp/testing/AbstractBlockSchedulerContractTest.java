package org.fsp.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockRequest.Priority;
import org.fsp.api.block.BlockScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@link BlockScheduler} contract, run against every scheduler (the block-sched policies, the swappable front
 * that fs-core binds to, fs-core's own gate and its direct scheduler): what is written reads back, every request of
 * many submitters completes exactly once with its own result, a flush follows the writes awaited before it, bad
 * requests are refused, a full queue pushes back instead of losing requests, and {@link BlockScheduler#pending()}
 * says how many are outstanding.
 *
 * <p>A typical subclass: {@code createDevice} returns a memory device of the module's own, {@code createScheduler}
 * wraps it in the scheduler under test. System property {@code fsp.test.seed} replays the random data.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class AbstractBlockSchedulerContractTest {

    /** Blocks every device the factory makes holds. */
    protected static final int DEVICE_BLOCKS = 2048;

    private static final long SEED = Long.getLong("fsp.test.seed", 0xb10cL);

    protected Arena arena;
    protected BlockDevice device;
    protected BlockScheduler scheduler;

    /** A fresh device of {@link #DEVICE_BLOCKS} 4 KiB blocks taking {@code queueDepth} requests at once. */
    protected abstract BlockDevice createDevice(int blocks, int queueDepth) throws Exception;

    /** The scheduler under test over {@code device}, queueing at most {@code maxQueued} requests. */
    protected abstract BlockScheduler createScheduler(BlockDevice device, int maxQueued) throws Exception;

    /** Releases what {@link #createScheduler} made, before the device closes. */
    protected void closeScheduler(BlockScheduler s) throws Exception {}

    @BeforeEach
    void open() throws Exception {
        arena = Arena.ofShared();
        device = createDevice(DEVICE_BLOCKS, 8);
        scheduler = createScheduler(device, 64);
    }

    @AfterEach
    void close() throws Exception {
        closeScheduler(scheduler);
        device.close();
        arena.close();
    }

    private MemorySegment buffer(int blocks) {
        return arena.allocate((long) blocks * device.blockSize(), device.bufferAlignment());
    }

    private static void fill(MemorySegment s, long seed) {
        Random r = new Random(seed);
        for (long i = 0; i < s.byteSize(); i += 8) {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
        }
    }

    @Test
    void shouldReadBackWhatWasWrittenThroughIt() {
        MemorySegment out = buffer(4);
        fill(out, SEED);
        BlockRequest w = BlockRequest.write(100, out, Priority.DATA);
        scheduler.enqueue(w);
        assertEquals(4 * device.blockSize(), scheduler.await(w));
        MemorySegment back = buffer(4);
        BlockRequest r = BlockRequest.read(100, back, Priority.METADATA);
        scheduler.enqueue(r);
        assertEquals(4 * device.blockSize(), scheduler.await(r));
        assertArrayEquals(out.toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
        assertTrue(w.isDone() && r.isDone());
    }

    @Test
    void shouldCompleteEveryRequestOfManySubmittersExactlyOnceWithItsOwnResult() throws Exception {
        int threads = 4;
        int perThread = 200;
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int id = t;
            all.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int k = 0; k < perThread; k++) {
                        int blocks = 1 + (k % 3);
                        long block = (long) id * (DEVICE_BLOCKS / threads) + (k * 3L) % (DEVICE_BLOCKS / threads - 3);
                        MemorySegment data = buffer(blocks);
                        fill(data, SEED + id * 1_000_003L + k);
                        BlockRequest w = BlockRequest.write(block, data, Priority.DATA);
                        scheduler.enqueue(w);
                        assertEquals(blocks * device.blockSize(), scheduler.await(w), "write " + id + "/" + k);
                        MemorySegment back = buffer(blocks);
                        BlockRequest r = BlockRequest.read(block, back, Priority.METADATA);
                        scheduler.enqueue(r);
                        assertEquals(blocks * device.blockSize(), scheduler.await(r), "read " + id + "/" + k);
                        assertArrayEquals(
                                data.toArray(ValueLayout.JAVA_BYTE),
                                back.toArray(ValueLayout.JAVA_BYTE),
                                "data of " + id + "/" + k);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread t : all) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " submitters failed", failures.peek());
        }
        assertEquals(0, scheduler.pending());
    }

    @Test
    void shouldCompleteAFlushAfterTheWritesAwaitedBeforeIt() {
        MemorySegment out = buffer(1);
        fill(out, SEED + 1);
        BlockRequest w = BlockRequest.write(7, out, Priority.JOURNAL);
        scheduler.enqueue(w);
        scheduler.await(w);
        BlockRequest f = BlockRequest.flush();
        scheduler.enqueue(f);
        assertTrue(scheduler.await(f) >= 0, "flush result " + f.result());
        assertEquals(0, scheduler.pending());
    }

    @Test
    void shouldRefuseRequestsOutsideTheDevice() {
        assertThrows(
                IllegalArgumentException.class,
                () -> scheduler.enqueue(BlockRequest.read(device.blockCount(), buffer(1), Priority.DATA)));
        assertThrows(
                IllegalArgumentException.class,
                () -> scheduler.enqueue(BlockRequest.write(device.blockCount() - 1, buffer(2), Priority.DATA)));
        assertEquals(0, scheduler.pending(), "a refused request is not queued");
    }

    @Test
    void shouldPushBackOnAFullQueueAndStillCompleteEverything() throws Exception {
        closeScheduler(scheduler);
        scheduler = createScheduler(device, 4);
        List<BlockRequest> requests = new ArrayList<>();
        for (int k = 0; k < 100; k++) {
            MemorySegment data = buffer(1);
            fill(data, SEED + 77 + k);
            BlockRequest w = BlockRequest.write(k, data, Priority.DATA);
            requests.add(w);
            scheduler.enqueue(w); // blocks while 4 are queued, driving the device meanwhile
        }
        for (BlockRequest r : requests) {
            assertEquals(device.blockSize(), scheduler.await(r));
        }
        assertEquals(0, scheduler.pending());
    }

    @Test
    void shouldCompleteRequestsDrivenByIssueAndPollAlone() {
        MemorySegment data = buffer(2);
        BlockRequest r = BlockRequest.read(10, data, Priority.DATA);
        scheduler.enqueue(r);
        assertTrue(scheduler.pending() >= 1 || r.isDone(), "a queued request is pending until it completes");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!r.isDone() && System.nanoTime() < deadline) {
            assertTrue(scheduler.issue() >= 0);
            assertTrue(scheduler.poll() >= 0);
        }
        assertTrue(r.isDone(), "issue() and poll() drive a request to completion");
        assertEquals(2 * device.blockSize(), r.result());
        assertEquals(0, scheduler.pending());
    }

    @Test
    void shouldNameItsDeviceAndPolicy() {
        assertSame(device, scheduler.device());
        assertFalse(scheduler.policy() == null || scheduler.policy().isBlank(), "policy " + scheduler.policy());
    }
}
