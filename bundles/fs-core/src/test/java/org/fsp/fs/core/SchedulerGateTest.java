package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.fs.Errno;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.QueueingSchedulerTestDouble;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

class SchedulerGateTest {

    private static final int BLOCK = HeapBlockDeviceTestDouble.BLOCK;

    @Test
    void shouldCompleteEveryRequestAcrossUnbindAndBindWithoutFailing() throws Exception {
        HeapBlockDeviceTestDouble device = new HeapBlockDeviceTestDouble(256);
        List<Long> pauses = new CopyOnWriteArrayList<>();
        SchedulerGate gate = new SchedulerGate(pauses::add);
        QueueingSchedulerTestDouble first = new QueueingSchedulerTestDouble(device);
        QueueingSchedulerTestDouble second = new QueueingSchedulerTestDouble(device);
        gate.bind(first);
        int writers = 4;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong completed = new AtomicLong();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            threads.add(Thread.ofPlatform().start(() -> {
                // Each writer owns blocks writer, writer + writers, ...: the last value it wrote to each must be there.
                // Shared: unbind drains the writer's request from the swapping thread.
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment buf = arena.allocate(BLOCK, BLOCK);
                    BlockIo io = new BlockIo(gate);
                    for (long round = 1; !stop.get(); round++) {
                        for (long block = writer; block < 256; block += writers) {
                            buf.set(ValueLayout.JAVA_LONG, 0, round);
                            buf.set(ValueLayout.JAVA_LONG, 8, block);
                            io.await(io.write(block, buf, BlockRequest.Priority.DATA));
                            completed.incrementAndGet();
                        }
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        Random rnd = new Random(7);
        QueueingSchedulerTestDouble bound = first;
        for (int swap = 0; swap < 200; swap++) {
            QueueingSchedulerTestDouble next = bound == first ? second : first;
            if (rnd.nextBoolean()) {
                gate.unbind(bound);
                TimeUnit.MICROSECONDS.sleep(rnd.nextInt(300));
                gate.bind(next);
            } else {
                gate.bind(next);
                gate.unbind(bound);
            }
            bound = next;
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), failures);
        assertTrue(completed.get() > 0);
        assertEquals(200, gate.swaps());
        assertEquals(SchedulerGate.RECENT_PAUSES, gate.recentPauseNanos().size());
        assertEquals(200, pauses.size());
        assertTrue(pauses.stream().anyMatch(p -> p > 0), "an unbind then bind is a gap: " + pauses);
        for (long block = 0; block < 256; block++) {
            long round = device.storage().get(ValueLayout.JAVA_LONG, block * BLOCK);
            assertTrue(round > 0, "block " + block + " never written");
            assertEquals(block, device.storage().get(ValueLayout.JAVA_LONG, block * BLOCK + 8));
        }
    }

    @Test
    void shouldFinishRequestsTheReplacedSchedulerHadBeforeUnbindReturns() {
        HeapBlockDeviceTestDouble device = new HeapBlockDeviceTestDouble(16);
        SchedulerGate gate = new SchedulerGate(p -> {});
        QueueingSchedulerTestDouble old = new QueueingSchedulerTestDouble(device);
        gate.bind(old);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(BLOCK, BLOCK);
            buf.set(ValueLayout.JAVA_LONG, 0, 42);
            // The test double only queues on enqueue: the request waits for someone to drive the old scheduler.
            BlockRequest r = BlockRequest.write(3, buf, BlockRequest.Priority.DATA);
            gate.enqueue(r);
            assertFalse(r.isDone());
            gate.bind(new QueueingSchedulerTestDouble(device));
            assertEquals(0, gate.unbind(old));
            assertTrue(r.isDone());
            assertEquals(BLOCK, gate.await(r));
            assertEquals(42, device.storage().get(ValueLayout.JAVA_LONG, 3L * BLOCK));
        }
    }

    @Test
    void shouldFinishTheReplacedSchedulersRequestsBeforeTheNewOneGetsAny() throws Exception {
        HeapBlockDeviceTestDouble device = new HeapBlockDeviceTestDouble(16);
        List<Long> pauses = new CopyOnWriteArrayList<>();
        SchedulerGate gate = new SchedulerGate(pauses::add);
        QueueingSchedulerTestDouble old = new QueueingSchedulerTestDouble(device);
        QueueingSchedulerTestDouble next = new QueueingSchedulerTestDouble(device);
        gate.bind(old);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(BLOCK, BLOCK);
            BlockRequest first = BlockRequest.write(3, buf, BlockRequest.Priority.DATA);
            gate.enqueue(first);
            assertFalse(first.isDone(), "the test double only queues");
            gate.bind(next);
            // Both schedulers number their device requests from tag 0: the old one must be empty before the new one
            // has anything on the device.
            assertTrue(first.isDone(), "the greedy bind finished the replaced scheduler's request");
            assertEquals(0, old.pending());
            assertEquals(1, pauses.size(), "a greedy replacement reports the time requests waited: " + pauses);
            BlockRequest second = BlockRequest.write(4, buf, BlockRequest.Priority.DATA);
            gate.enqueue(second);
            assertEquals(1, next.pending(), "new requests go to the new scheduler");
            assertEquals(0, old.pending());
            assertEquals(0, gate.unbind(old), "the old one's unbind finds it finished");
            assertEquals(BLOCK, gate.await(second));
            assertEquals(1, gate.swaps());
        }
    }

    @Test
    void shouldNotFailARequestWhoseThreadIsInterruptedDuringTheGap() throws Exception {
        HeapBlockDeviceTestDouble device = new HeapBlockDeviceTestDouble(16);
        SchedulerGate gate = new SchedulerGate(p -> {});
        DirectBlockScheduler first = new DirectBlockScheduler(device);
        gate.bind(first);
        gate.unbind(first);
        AtomicLong result = new AtomicLong(Long.MIN_VALUE);
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread writer = Thread.ofPlatform().start(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(BLOCK, BLOCK);
                // An interrupt is no device error: the request waits for the next scheduler like any other.
                Thread.currentThread().interrupt();
                BlockRequest r = BlockRequest.write(2, buf, BlockRequest.Priority.DATA);
                gate.enqueue(r);
                result.set(gate.await(r));
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            }
        });
        Thread.sleep(50);
        gate.bind(new DirectBlockScheduler(device));
        writer.join(5_000);
        assertEquals(BLOCK, result.get(), "the write waited for the scheduler instead of failing with EIO");
        assertTrue(stillInterrupted.get(), "the interrupt is kept for the thread's owner");
    }

    @Test
    void shouldFailWithEioWhenNoSchedulerArrivesWithinTheWait() {
        HeapBlockDeviceTestDouble device = new HeapBlockDeviceTestDouble(16);
        SchedulerGate gate = new SchedulerGate(p -> {});
        gate.configure(TimeUnit.MILLISECONDS.toNanos(20));
        DirectBlockScheduler only = new DirectBlockScheduler(device);
        gate.bind(only);
        gate.unbind(only);
        BlockIo io = new BlockIo(gate);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(BLOCK, BLOCK);
            BlockRequest r = io.write(1, buf, BlockRequest.Priority.DATA);
            assertEquals(-Errno.EIO.code(), r.result());
            IOException e = assertThrows(IOException.class, () -> io.await(r));
            assertTrue(e.getMessage().contains("device error " + Errno.EIO.code()), e.getMessage());
        }
    }
}
