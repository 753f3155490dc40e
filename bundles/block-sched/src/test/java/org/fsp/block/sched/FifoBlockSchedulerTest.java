package org.fsp.block.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockRequest.Priority;
import org.fsp.api.block.TagSpace;
import org.fsp.api.sched.ManagedBlocking;
import org.junit.jupiter.api.Test;

class FifoBlockSchedulerTest {

    @Test
    void shouldIssueInArrivalOrderWithoutMergingOrPriorities() {
        try (Arena arena = Arena.ofConfined()) {
            RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
            FifoBlockScheduler s = new FifoBlockScheduler(device, 16);
            List<BlockRequest> all = new ArrayList<>();
            all.add(BlockRequest.write(1, arena.allocate(4096, 4096), Priority.DATA));
            all.add(BlockRequest.write(2, arena.allocate(4096, 4096), Priority.DATA));
            all.add(BlockRequest.flush());
            all.add(BlockRequest.write(0, arena.allocate(4096, 4096), Priority.JOURNAL));
            all.add(BlockRequest.read(3, arena.allocate(4096, 4096), Priority.METADATA));
            all.add(BlockRequest.read(4, arena.allocate(4096, 4096), Priority.METADATA));
            for (BlockRequest r : all) {
                s.enqueue(r);
            }
            assertEquals(4, s.issue(), "the device takes 4 at a time");
            for (BlockRequest r : all) {
                s.await(r);
            }
            assertEquals("[W1+1, W2+1, F, W0+1, R3+1, R4+1]", device.accepted().toString());
            assertEquals("fifo", s.policy());
            assertEquals(0, s.pending());
            device.close();
        }
    }

    @Test
    void shouldNotReapAnotherSchedulersCompletionsOnTheSameDevice() {
        try (Arena arena = Arena.ofConfined()) {
            RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
            FifoBlockScheduler drained = new FifoBlockScheduler(device, 16);
            BlockRequest earlier = BlockRequest.write(1, arena.allocate(4096, 4096), Priority.DATA);
            drained.enqueue(earlier);
            assertEquals(4096, drained.await(earlier));
            // A successor on the same device: both number device requests from tag 0.
            FifoBlockScheduler successor = new FifoBlockScheduler(device, 16);
            BlockRequest later = BlockRequest.write(2, arena.allocate(8192, 4096), Priority.DATA);
            successor.enqueue(later);
            assertEquals(1, successor.issue());
            assertEquals(0, drained.poll(), "the drained scheduler has nothing of its own to reap");
            assertEquals(8192, successor.await(later), "the successor's completion reached the successor");
            assertEquals(4096, earlier.result(), "the drained scheduler's old request kept its result");
            device.close();
        }
    }

    /**
     * Two schedulers on one device, the first with a request still on it: the second submits nothing until the
     * first's last completion has handed the device's tag space on, so neither can take the other's completion.
     */
    @Test
    void shouldWaitForTheTagSpaceWhileAnotherSchedulerHasRequestsOnTheDevice() {
        try (Arena arena = Arena.ofConfined()) {
            RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
            FifoBlockScheduler first = new FifoBlockScheduler(device, 16);
            FifoBlockScheduler second = new FifoBlockScheduler(device, 16);
            device.holdCompletions();
            BlockRequest early = BlockRequest.write(1, arena.allocate(4096, 4096), Priority.DATA);
            first.enqueue(early);
            assertEquals(1, first.issue());
            BlockRequest late = BlockRequest.write(2, arena.allocate(8192, 4096), Priority.DATA);
            second.enqueue(late);
            assertEquals(0, second.issue(), "the first scheduler holds the device's tags");
            assertEquals(0, second.poll());
            assertTrue(TagSpace.of(device).heldBy(first));
            device.releaseCompletions();
            assertEquals(1, first.poll());
            assertTrue(TagSpace.of(device).isFree(), "its last completion let the tag space go");
            assertEquals(1, second.issue());
            assertEquals(8192, second.await(late));
            assertEquals(4096, early.result());
            assertEquals(1L, second.status().get("tagSpaceWaits"));
            device.close();
        }
    }

    @Test
    void shouldAnnounceAWaitThatOutlastsTheSpinAsManagedBlocking() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
            FifoBlockScheduler s = new FifoBlockScheduler(device, 16);
            BlockerDouble blocker = new BlockerDouble();
            device.holdCompletions();
            BlockRequest write = BlockRequest.write(1, arena.allocate(4096, 4096), Priority.DATA);
            CompletableFuture<Integer> waiter = CompletableFuture.supplyAsync(() -> {
                ManagedBlocking.install(blocker);
                try {
                    s.enqueue(write);
                    return s.await(write);
                } finally {
                    ManagedBlocking.uninstall();
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (blocker.begun.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(1, blocker.begun.get(), "a wait on a held completion is announced once");
            assertEquals(0, blocker.ended.get(), "and not ended while the request is on the device");
            device.releaseCompletions();
            assertEquals(4096, waiter.get(10, TimeUnit.SECONDS));
            assertEquals(1, blocker.ended.get(), "the announcement is ended when the request is done");
            device.close();
        }
    }

    @Test
    void shouldAnnounceAFlushThatDoesNotCompleteAtOnceBeforeTheLongWaitThreshold() {
        assertFalse(AbstractBlockScheduler.longWait(BlockRequest.flush(), AbstractBlockScheduler.NOT_IDLE));
        long justIdle = System.nanoTime();
        assertTrue(
                AbstractBlockScheduler.longWait(BlockRequest.flush(), justIdle),
                "a flush still pending after one idle step is a blocking wait at once");
        try (Arena arena = Arena.ofConfined()) {
            BlockRequest write = BlockRequest.write(1, arena.allocate(4096, 4096), Priority.DATA);
            assertFalse(
                    AbstractBlockScheduler.longWait(write, System.nanoTime()),
                    "other requests wait the threshold first");
            assertTrue(AbstractBlockScheduler.longWait(
                    write, System.nanoTime() - AbstractBlockScheduler.LONG_WAIT_NANOS - 1));
        }
    }

    @Test
    void shouldNotAnnounceAWaitThatTheDeviceAnswersAtOnce() {
        try (Arena arena = Arena.ofConfined()) {
            RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
            FifoBlockScheduler s = new FifoBlockScheduler(device, 16);
            BlockerDouble blocker = new BlockerDouble();
            ManagedBlocking.install(blocker);
            try {
                for (int i = 0; i < 100; i++) {
                    BlockRequest write = BlockRequest.write(i % 64, arena.allocate(4096, 4096), Priority.DATA);
                    s.enqueue(write);
                    assertEquals(4096, s.await(write));
                }
            } finally {
                ManagedBlocking.uninstall();
            }
            assertTrue(blocker.begun.get() == 0, "a device that completes at submit is never a blocking wait");
            device.close();
        }
    }

    /** Test double: counts the announcements of the thread it is installed on. */
    static final class BlockerDouble implements ManagedBlocking.Blocker {
        final AtomicInteger begun = new AtomicInteger();
        final AtomicInteger ended = new AtomicInteger();

        @Override
        public void beginBlocking() {
            begun.incrementAndGet();
        }

        @Override
        public void endBlocking() {
            ended.incrementAndGet();
        }
    }
}
