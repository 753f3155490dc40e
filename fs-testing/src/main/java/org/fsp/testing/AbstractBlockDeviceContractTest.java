package org.fsp.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link BlockDevice} contract, run against every driver: each subclass supplies a fresh device through
 * {@link #createDevice(int)} and, if the device is persistent, a way to reopen it.
 */
public abstract class AbstractBlockDeviceContractTest {

    /** Capacity every factory provides, bytes. */
    protected static final long DEVICE_BYTES = 16L << 20;

    private static final long SEED = Long.getLong("fsp.test.seed", 0x5eedL);
    private static final long GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(60);

    protected Arena arena;
    protected BlockDevice device;

    /** A fresh device of {@link #DEVICE_BYTES} bytes with the given queue depth. */
    protected abstract BlockDevice createDevice(int queueDepth) throws Exception;

    /** The same storage opened again after {@link BlockDevice#close()}, or null if the device is not persistent. */
    protected BlockDevice reopenDevice() throws Exception {
        return null;
    }

    @BeforeEach
    void openDevice() throws Exception {
        arena = Arena.ofShared();
        device = createDevice(32);
    }

    @AfterEach
    void closeDevice() {
        device.close();
        arena.close();
    }

    protected MemorySegment buffer(int blocks) {
        return arena.allocate((long) blocks * device.blockSize(), device.bufferAlignment());
    }

    private static void fill(MemorySegment buffer, long seed) {
        Random random = new Random(seed);
        for (long i = 0; i < buffer.byteSize(); i += Long.BYTES) {
            buffer.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
    }

    private static byte[] bytes(MemorySegment buffer) {
        return buffer.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Submits what is queued and polls until {@code count} completions were reported into {@code results[tag]}. */
    protected static void drain(BlockDevice dev, int count, int[] results) {
        int seen = 0;
        long deadline = System.nanoTime() + GIVE_UP_NANOS;
        dev.submit();
        while (seen < count) {
            seen += dev.poll((tag, result) -> results[(int) tag] = result, count - seen);
            if (System.nanoTime() > deadline) {
                fail("only " + seen + " of " + count + " completions within 60 s");
            }
        }
    }

    @Test
    void shouldReadBackWhatWasWritten() {
        List<MemorySegment> written = new ArrayList<>();
        int[] results = new int[16];
        long[] blocks = {0, 1, 7, 100, device.blockCount() - 16};
        int[] lengths = {1, 1, 3, 8, 16};
        for (int i = 0; i < blocks.length; i++) {
            MemorySegment b = buffer(lengths[i]);
            fill(b, SEED + i);
            written.add(b);
            assertTrue(device.submitWrite(blocks[i], b, i));
        }
        drain(device, blocks.length, results);
        for (int i = 0; i < blocks.length; i++) {
            assertEquals(lengths[i] * device.blockSize(), results[i], "write " + i);
        }
        List<MemorySegment> read = new ArrayList<>();
        for (int i = 0; i < blocks.length; i++) {
            MemorySegment b = buffer(lengths[i]);
            read.add(b);
            assertTrue(device.submitRead(blocks[i], b, i));
        }
        drain(device, blocks.length, results);
        for (int i = 0; i < blocks.length; i++) {
            assertEquals(lengths[i] * device.blockSize(), results[i], "read " + i);
            assertArrayEquals(bytes(written.get(i)), bytes(read.get(i)), "contents of blocks at " + blocks[i]);
        }
        assertEquals(0, device.inFlight());
    }

    @Test
    void shouldCompleteFlushAfterCompletedWritesAndKeepThemAcrossReopen() throws Exception {
        MemorySegment data = buffer(4);
        fill(data, SEED);
        int[] results = new int[4];
        assertTrue(device.submitWrite(40, data, 0));
        drain(device, 1, results);
        assertEquals(4 * device.blockSize(), results[0]);

        assertTrue(device.submitFlush(1));
        drain(device, 1, results);
        assertEquals(0, results[1], "flush result");
        byte[] expected = bytes(data);

        device.close();
        BlockDevice reopened = reopenDevice();
        device = reopened != null ? reopened : createDevice(32);
        if (reopened != null) {
            MemorySegment back = buffer(4);
            assertTrue(device.submitRead(40, back, 2));
            drain(device, 1, results);
            assertEquals(4 * device.blockSize(), results[2]);
            assertArrayEquals(expected, bytes(back));
        }
    }

    @Test
    void shouldReportFlushOnlyOnceWritesSubmittedBeforeItAreAccountedFor() {
        // Writes and a flush in one batch: every request completes exactly once, the flush with 0.
        int[] results = new int[9];
        List<MemorySegment> data = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            MemorySegment b = buffer(1);
            fill(b, SEED + 100 + i);
            data.add(b);
            assertTrue(device.submitWrite(200 + i, b, i));
        }
        assertTrue(device.submitFlush(8));
        java.util.Arrays.fill(results, BlockRequest.PENDING);
        drain(device, 9, results);
        for (int i = 0; i < 8; i++) {
            assertEquals(device.blockSize(), results[i]);
        }
        assertEquals(0, results[8]);
        assertEquals(0, device.inFlight());
    }

    @Test
    void shouldServeManyConcurrentSubmittersAndPollers() throws Exception {
        int threads = 6;
        int perThread = 96;
        AtomicIntegerArray results = new AtomicIntegerArray(threads * perThread);
        for (int i = 0; i < results.length(); i++) {
            results.set(i, BlockRequest.PENDING);
        }
        BlockDevice.CompletionHandler handler = (tag, result) -> results.set((int) tag, result);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    try (Arena own = Arena.ofConfined()) {
                        for (int i = 0; i < perThread; i++) {
                            int tag = thread * perThread + i;
                            MemorySegment b = own.allocate(device.blockSize(), device.bufferAlignment());
                            b.fill((byte) 0);
                            b.set(ValueLayout.JAVA_INT, 0, tag);
                            b.set(ValueLayout.JAVA_INT, device.blockSize() - 4, ~tag);
                            long deadline = System.nanoTime() + GIVE_UP_NANOS;
                            while (!device.submitWrite(tag, b, tag)) {
                                device.submit(); // back-pressure: drive the device until a slot frees
                                device.poll(handler, 8);
                                if (System.nanoTime() > deadline) {
                                    throw new AssertionError("no free slot within 60 s");
                                }
                            }
                            if (i % 4 == 3) {
                                device.submit();
                            }
                            device.poll(handler, 8);
                        }
                        // Buffers must stay alive until their writes complete: wait for ours before freeing them.
                        long deadline = System.nanoTime() + GIVE_UP_NANOS;
                        for (int i = 0; i < perThread; i++) {
                            while (results.get(thread * perThread + i) == BlockRequest.PENDING) {
                                device.submit();
                                device.poll(handler, 8);
                                if (System.nanoTime() > deadline) {
                                    throw new AssertionError("write " + i + " of thread " + thread + " lost");
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        for (int i = 0; i < results.length(); i++) {
            assertEquals(device.blockSize(), results.get(i), "write " + i);
        }
        assertEquals(0, device.inFlight());
        MemorySegment all = buffer(threads * perThread);
        int[] r = new int[1];
        assertTrue(device.submitRead(0, all, 0));
        drain(device, 1, r);
        for (int tag = 0; tag < threads * perThread; tag++) {
            long base = (long) tag * device.blockSize();
            assertEquals(tag, all.get(ValueLayout.JAVA_INT, base), "block " + tag);
            assertEquals(~tag, all.get(ValueLayout.JAVA_INT, base + device.blockSize() - 4), "block " + tag);
        }
    }

    @Test
    void shouldRejectBlocksOutsideTheDevice() {
        long last = device.blockCount();
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> device.submitRead(last, buffer(1), 0));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> device.submitWrite(-1, buffer(1), 0));
        assertThrows(IllegalArgumentException.class, () -> device.submitWrite(last - 1, buffer(2), 0));
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(Long.MAX_VALUE, buffer(1), 0));
        assertEquals(0, device.inFlight(), "nothing was queued");
    }

    @Test
    void shouldRejectMisalignedOrHeapBuffers() {
        MemorySegment big = buffer(3);
        IllegalArgumentException offset = assertThrows(
                IllegalArgumentException.class, () -> device.submitWrite(0, big.asSlice(512, device.blockSize()), 0));
        assertTrue(offset.getMessage().contains("aligned"), offset.getMessage());
        IllegalArgumentException length = assertThrows(
                IllegalArgumentException.class,
                () -> device.submitRead(0, big.asSlice(0, device.blockSize() + 512), 0));
        assertTrue(length.getMessage().contains("multiple"), length.getMessage());
        IllegalArgumentException heap = assertThrows(
                IllegalArgumentException.class, () -> device.submitRead(0, MemorySegment.ofArray(new byte[4096]), 0));
        assertTrue(heap.getMessage().contains("native"), heap.getMessage());
        assertThrows(IllegalArgumentException.class, () -> device.submitRead(0, big.asSlice(0, 0), 0));
        assertEquals(0, device.inFlight(), "nothing was queued");
    }

    @Test
    void shouldRejectSubmissionsOnceClosed() {
        device.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> device.submitRead(0, buffer(1), 0));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> device.submitFlush(1));
        device.close(); // idempotent
    }

    @Test
    void shouldApplyBackPressureWhenTheQueueIsFull() throws Exception {
        device.close();
        device = createDevice(4);
        assertEquals(4, device.queueDepth());
        int[] results = new int[8];
        for (int i = 0; i < 4; i++) {
            assertTrue(device.submitWrite(i, buffer(1), i), "submission " + i);
        }
        assertFalse(device.submitWrite(4, buffer(1), 4), "fifth request must be refused");
        assertFalse(device.submitFlush(5), "flush must be refused too");
        assertEquals(4, device.inFlight());
        device.submit();
        assertFalse(device.submitRead(0, buffer(1), 6), "still full until completions are polled");
        drain(device, 4, results);
        assertEquals(0, device.inFlight());
        assertTrue(device.submitWrite(4, buffer(1), 4), "a polled completion frees its slot");
        drain(device, 1, results);
        assertEquals(device.blockSize(), results[4]);
    }

    @Test
    void shouldReportEachCompletionOnceEvenWhenAHandlerPollsAgain() {
        int[] seen = new int[8];
        for (int i = 0; i < 8; i++) {
            assertTrue(device.submitRead(i, buffer(1), i));
        }
        device.submit();
        BlockDevice.CompletionHandler inner = (tag, result) -> seen[(int) tag]++;
        BlockDevice.CompletionHandler outer = (tag, result) -> {
            seen[(int) tag]++;
            device.poll(inner, 8);
        };
        long deadline = System.nanoTime() + GIVE_UP_NANOS;
        while (java.util.Arrays.stream(seen).sum() < 8) {
            device.poll(outer, 8);
            assertTrue(System.nanoTime() < deadline, "completions lost");
        }
        for (int i = 0; i < 8; i++) {
            assertEquals(1, seen[i], "reports of request " + i);
        }
    }

    @Test
    void shouldNeverReportMoreThanAskedPerPoll() {
        int[] results = new int[8];
        for (int i = 0; i < 8; i++) {
            assertTrue(device.submitRead(i, buffer(1), i));
        }
        device.submit();
        int seen = 0;
        long deadline = System.nanoTime() + GIVE_UP_NANOS;
        while (seen < 8) {
            int n = device.poll((tag, result) -> results[(int) tag] = result, 1);
            assertTrue(n <= 1, "poll(…, 1) reported " + n);
            seen += n;
            assertTrue(System.nanoTime() < deadline, "completions lost");
        }
        assertNotNull(device.describe());
    }
}
