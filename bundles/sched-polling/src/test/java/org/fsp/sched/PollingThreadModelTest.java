package org.fsp.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel.Swap;
import org.fsp.api.sched.ThreadModel.WorkerInfo;
import org.junit.jupiter.api.Test;

class PollingThreadModelTest {

    private static final IdleSettings QUICK = new IdleSettings(100, 5, 50_000_000L);

    @Test
    void shouldDriveAttachedAgentsUntilTheirWorkIsDone() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(2, IdleStrategyKind.FUTEX, QUICK)) {
            CountingAgentDouble a = new CountingAgentDouble("a");
            CountingAgentDouble b = new CountingAgentDouble("b");
            model.attach(a);
            model.attach(b);
            a.post(1_000);
            b.post(1_000);
            awaitDone(a, 1_000);
            awaitDone(b, 1_000);
            List<WorkerInfo> ws = model.workers();
            assertEquals(List.of(1, 1), ws.stream().map(w -> w.agents().size()).toList(), "one agent per worker");
            assertEquals(2_000, ws.stream().mapToLong(WorkerInfo::work).sum());
        }
    }

    @Test
    void shouldWakeASleepingAgentWhenWorkIsPosted() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK)) {
            CountingAgentDouble a = new CountingAgentDouble("a");
            model.attach(a);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (a.sleeps.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertTrue(a.sleeps.get() > 0, "an idle futex worker sleeps through its agent");
            a.post(1);
            awaitDone(a, 1);
        }
    }

    @Test
    void shouldSleepOnTheDoorbellsOfSeveralAgentsAtOnce() throws Exception {
        IdleSettings longSleeps = new IdleSettings(100, 5, 600_000_000_000L);
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, longSleeps)) {
            DoorbellAgentDouble a = new DoorbellAgentDouble("a");
            DoorbellAgentDouble b = new DoorbellAgentDouble("b");
            model.attach(a);
            model.attach(b);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!(a.sleeping() && b.sleeping()) && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertTrue(a.sleeping() && b.sleeping(), "one worker sleeps with both doorbells rung in");
            int begun = b.sleepsBegun.get();
            b.post(3);
            deadline = System.nanoTime() + 10_000_000_000L;
            while (b.done.get() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(3, b.done.get(), "the second agent's doorbell woke the worker (its sleep is 10 minutes)");
            assertTrue(b.sleepsBegun.get() <= begun + 2, "the worker slept rather than polled");
        }
    }

    @Test
    void shouldNeverDriveAnAgentFromTwoThreadsWhileSwapping() throws Exception {
        Random random = new Random(42);
        try (PollingThreadModel model = new PollingThreadModel(2, IdleStrategyKind.SPIN, QUICK)) {
            List<CountingAgentDouble> agents = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                CountingAgentDouble a = new CountingAgentDouble("agent-" + i);
                agents.add(a);
                model.attach(a);
            }
            for (int round = 0; round < 200; round++) {
                agents.forEach(a -> a.post(50));
                if (random.nextBoolean()) {
                    model.workers(1 + random.nextInt(4));
                } else {
                    model.idleStrategy(IdleStrategyKind.values()[random.nextInt(3)]);
                }
            }
            for (CountingAgentDouble a : agents) {
                awaitDone(a, 200 * 50);
                assertEquals(0, a.violations.get(), a.name + " was driven by two threads or after close");
            }
            assertEquals(PollingThreadModel.HISTORY, model.recentSwaps().size());
        }
    }

    @Test
    void shouldSpreadAgentsEvenlyWhenTheWorkerCountChanges() {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.BACKOFF, QUICK)) {
            for (int i = 0; i < 7; i++) {
                model.attach(new CountingAgentDouble("agent-" + i));
            }
            model.workers(3);
            assertEquals(
                    List.of(3, 2, 2),
                    model.workers().stream().map(w -> w.agents().size()).toList());
            model.workers(2);
            assertEquals(
                    List.of(4, 3),
                    model.workers().stream().map(w -> w.agents().size()).toList());
            assertEquals(
                    7,
                    model.workers().stream().mapToLong(w -> w.agents().size()).sum());
        }
    }

    @Test
    void shouldStopDrivingADetachedAgentAndCloseIt() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(2, IdleStrategyKind.SPIN, QUICK)) {
            CountingAgentDouble a = new CountingAgentDouble("a");
            model.attach(a);
            model.detach(a);
            assertTrue(a.closed.get());
            a.pending.set(10);
            Thread.sleep(20);
            assertEquals(0, a.done.get());
            assertEquals(0, a.violations.get());
            model.detach(a);
        }
    }

    @Test
    void shouldAttachAndDetachSeveralAgentsInOneChangeEach() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(2, IdleStrategyKind.FUTEX, QUICK)) {
            List<CountingAgentDouble> agents =
                    List.of(new CountingAgentDouble("a"), new CountingAgentDouble("b"), new CountingAgentDouble("c"));
            model.attachAll(agents);
            assertEquals(1, changes(model, "attach "), model.recentSwaps().toString());
            assertEquals(
                    List.of(2, 1),
                    model.workers().stream()
                            .map(w -> w.agents().size())
                            .sorted(Comparator.reverseOrder())
                            .toList());
            agents.forEach(a -> a.post(100));
            for (CountingAgentDouble a : agents) {
                awaitDone(a, 100);
            }
            model.detachAll(agents);
            assertEquals(1, changes(model, "detach "), model.recentSwaps().toString());
            for (CountingAgentDouble a : agents) {
                assertTrue(a.closed.get(), a.roleName() + " closed");
                assertEquals(0, a.violations.get());
            }
            assertEquals(
                    0, model.workers().stream().mapToInt(w -> w.agents().size()).sum());
        }
    }

    @Test
    void shouldEndTheThreadThatDroveADetachedAgentBeforeDetachReturns() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(2, IdleStrategyKind.FUTEX, QUICK)) {
            CountingAgentDouble a = new CountingAgentDouble("a");
            CountingAgentDouble b = new CountingAgentDouble("b");
            CountingAgentDouble c = new CountingAgentDouble("c");
            model.attachAll(List.of(a, b, c));
            String droveA = workerOf(model, "a");
            String droveC = workerOf(model, "c");
            Thread threadOfA = threadNamed(droveA);
            Thread standInOfA = threadNamed(droveA + "-standin");
            model.detach(a);
            assertTrue(a.closed.get());
            assertFalse(threadOfA.isAlive(), "the thread that drove the detached agent has ended");
            assertFalse(standInOfA.isAlive(), "so has its stand-in");
            assertEquals(2, model.workers().size(), "as many workers as before");
            assertFalse(model.workers().stream().anyMatch(w -> w.name().equals(droveA)), droveA + " is gone");
            if (!droveA.equals(droveC)) {
                assertEquals(droveC, workerOf(model, "c"), "a worker that drove no detached agent stays");
            }
            b.post(100);
            c.post(100);
            awaitDone(b, 100);
            awaitDone(c, 100);
            assertEquals(0, a.done.get());
            assertEquals(0, b.violations.get() + c.violations.get());
        }
    }

    @Test
    void shouldEndAWorkerThatOnceDroveADetachedAgentThatMovedAway() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK)) {
            CountingAgentDouble a = new CountingAgentDouble("a");
            CountingAgentDouble b = new CountingAgentDouble("b");
            model.attachAll(List.of(a, b));
            Thread first = threadNamed(workerOf(model, "a"));
            model.workers(2);
            assertEquals(1, model.workers().get(1).agents().size(), "the resize moved one agent to the new worker");
            String moved = model.workers().get(1).agents().getFirst();
            CountingAgentDouble stays = moved.equals("a") ? b : a;
            model.detach(moved.equals("a") ? a : b);
            assertFalse(first.isAlive(), "the first worker drove the detached agent before the resize moved it");
            stays.post(100);
            awaitDone(stays, 100);
            assertEquals(0, stays.violations.get());
        }
    }

    @Test
    void shouldKeepNothingOfAnAgentOnceItsWorkersEnd() throws Exception {
        // Something may hold a worker's Thread after it ends (UpgradeIT found one in Felix's class-lock map): an ended
        // Thread must reach none of the agents it drove, also when the model stops with them attached (a thread-model
        // bundle stopping before the layer above lets go of its agents).
        List<Thread> held = new ArrayList<>();
        WeakReference<CountingAgentDouble> gone = driveAndStop(held);
        for (Thread t : held) {
            t.join(5_000);
        }
        for (int i = 0; i < 100 && gone.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertTrue(held.size() >= 2, "the workers' threads: " + held);
        assertNull(gone.get(), "an ended worker still holds an agent it drove (and so its bundle's classes)");
    }

    /** In a frame of its own, so that no local of the caller keeps the agent; adds the model's threads to held. */
    private static WeakReference<CountingAgentDouble> driveAndStop(List<Thread> held) throws Exception {
        CountingAgentDouble a = new CountingAgentDouble("gone");
        PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK);
        model.attach(a);
        a.post(100);
        awaitDone(a, 100);
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("fsp-sched-worker-")) {
                held.add(t);
            }
        }
        model.close();
        return new WeakReference<>(a);
    }

    /** Recorded changes whose description starts with {@code kind}. */
    private static long changes(PollingThreadModel model, String kind) {
        return model.recentSwaps().stream()
                .filter(s -> s.change().startsWith(kind))
                .count();
    }

    private static String workerOf(PollingThreadModel model, String agent) {
        return model.workers().stream()
                .filter(w -> w.agents().contains(agent))
                .findFirst()
                .orElseThrow()
                .name();
    }

    private static Thread threadNamed(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(name))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void shouldMoveAnAgentFromAnOverloadedWorkerToAnIdleOne() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(2, IdleStrategyKind.BACKOFF, QUICK)) {
            BusyAgentDouble a = new BusyAgentDouble("a");
            CountingAgentDouble b = new CountingAgentDouble("b");
            BusyAgentDouble c = new BusyAgentDouble("c");
            model.attach(a);
            model.attach(b);
            model.attach(c);
            assertEquals(
                    List.of(List.of("a", "c"), List.of("b")),
                    model.workers().stream().map(WorkerInfo::agents).toList());
            model.rebalance(0.25);
            Thread.sleep(300);
            model.rebalance(0.25);
            assertTrue(
                    model.recentSwaps().stream().anyMatch(s -> s.change().startsWith("rebalance c: ")),
                    model.recentSwaps().toString());
            assertEquals(
                    List.of(List.of("a"), List.of("b", "c")),
                    model.workers().stream().map(WorkerInfo::agents).toList());
            model.detach(b);
            Thread.sleep(100);
            // Whatever the utilisations (a loaded machine may starve either thread), neither worker has two agents.
            assertEquals(null, model.rebalance(0.25), "a worker with one agent is never a source");
        }
    }

    @Test
    void shouldAddAWorkerWhenEveryWorkerIsBusyAndRemoveItOnceTheLoadHasStayedLow() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK)) {
            BusyAgentDouble a = new BusyAgentDouble("a");
            BusyAgentDouble b = new BusyAgentDouble("b");
            model.attachAll(List.of(a, b));
            Swap grow = null;
            // A few steps at most: on a loaded machine the first period may be mostly the model's start.
            for (int step = 0; step < 20 && grow == null; step++) {
                Thread.sleep(100);
                grow = model.scale(2, 0.75, 0.5, 3);
            }
            assertNotNull(grow, "one worker busy all the time: a second one");
            assertTrue(grow.change().startsWith("scale workers 2"), grow.change());
            assertEquals(2, model.workers().size());
            assertEquals(
                    List.of(1, 1),
                    model.workers().stream().map(w -> w.agents().size()).toList());
            Thread.sleep(100);
            assertNull(model.scale(2, 0.75, 0.5, 3), "never beyond the maximum");

            CountingAgentDouble quiet = new CountingAgentDouble("quiet");
            model.attach(quiet);
            model.detachAll(List.of(a, b));
            assertNull(model.scale(2, 0.75, 0.5, 3), "one low step is not enough");
            Swap shrink = null;
            int steps = 1;
            for (; steps < 30 && shrink == null; steps++) {
                Thread.sleep(50);
                shrink = model.scale(2, 0.75, 0.5, 3);
            }
            assertNotNull(shrink, "low load steps in a row: one worker goes");
            assertTrue(shrink.change().startsWith("scale workers 1"), shrink.change());
            assertEquals(1, model.workers().size());
            assertEquals(List.of("quiet"), model.workers().getFirst().agents());
            quiet.post(100);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (quiet.done.get() < 100 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(100, quiet.done.get(), "the agent is still driven after the worker that drove it left");
            assertNull(model.scale(2, 0.75, 0.5, 3), "never below one");
            assertEquals(0, quiet.violations.get());
        }
    }

    @Test
    void shouldServeAnotherAgentWhileOneWaitsOnADevice() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK, true)) {
            BlockingAgentDouble fsync = new BlockingAgentDouble("fsync");
            CountingAgentDouble stat = new CountingAgentDouble("stat");
            model.attach(fsync);
            model.attach(stat);
            fsync.arm();
            assertTrue(fsync.blocked.await(10, TimeUnit.SECONDS));
            stat.post(100);
            awaitDone(stat, 100);
            assertEquals(0, fsync.requestsDone.get(), "served while the other agent still waited on the device");
            fsync.completeDeviceWait();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (fsync.requestsDone.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(1, fsync.requestsDone.get());
            stat.post(5);
            awaitDone(stat, 105);
            assertEquals(0, stat.violations.get(), "never driven by the worker and its stand-in at once");
            assertEquals(1, model.lendings());
            assertEquals(
                    List.of(List.of("fsync", "stat")),
                    model.workers().stream().map(WorkerInfo::agents).toList());
        }
    }

    @Test
    void shouldNeverDriveALentAgentFromTheWorkerAndItsStandInAtOnce() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.SPIN, QUICK, true)) {
            CountingAgentDouble before = new CountingAgentDouble("before");
            BlockingAgentDouble fsync = new BlockingAgentDouble("fsync");
            CountingAgentDouble after = new CountingAgentDouble("after");
            model.attach(before);
            model.attach(fsync);
            model.attach(after);
            fsync.blockEveryCall(50);
            for (int i = 1; i <= 200; i++) {
                before.post(20);
                after.post(20);
                if (i % 50 == 0) {
                    model.idleStrategy(IdleStrategyKind.values()[i / 50 % 3]);
                }
            }
            awaitDone(before, 4_000);
            awaitDone(after, 4_000);
            fsync.blockEveryCall(0);
            assertTrue(model.lendings() > 0, "the device waits were handed off");
            assertEquals(0, before.violations.get(), "the agent before the waiting one in the round");
            assertEquals(0, after.violations.get(), "the agent after the waiting one in the round");
            assertEquals(0, fsync.violations.get());
        }
    }

    @Test
    void shouldLeaveTheOtherAgentsWaitingWhenDeviceWaitsAreInline() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK, false)) {
            BlockingAgentDouble fsync = new BlockingAgentDouble("fsync");
            CountingAgentDouble stat = new CountingAgentDouble("stat");
            model.attach(fsync);
            model.attach(stat);
            fsync.arm();
            assertTrue(fsync.blocked.await(10, TimeUnit.SECONDS));
            stat.post(1);
            Thread.sleep(100);
            assertEquals(0, stat.done.get(), "the paper's synchronous polling: the worker is in the device wait");
            fsync.completeDeviceWait();
            awaitDone(stat, 1);
            assertEquals(0, model.lendings());
        }
    }

    @Test
    void shouldFinishAChangeRequestedDuringAHandedOffWaitOnceTheWaitEnds() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK, true)) {
            BlockingAgentDouble fsync = new BlockingAgentDouble("fsync");
            CountingAgentDouble stat = new CountingAgentDouble("stat");
            model.attach(fsync);
            model.attach(stat);
            fsync.arm();
            assertTrue(fsync.blocked.await(10, TimeUnit.SECONDS));
            CompletableFuture<Swap> change = CompletableFuture.supplyAsync(() -> model.workers(2));
            stat.post(50);
            awaitDone(stat, 50);
            fsync.completeDeviceWait();
            change.get(10, TimeUnit.SECONDS);
            stat.post(50);
            awaitDone(stat, 100);
            assertEquals(0, stat.violations.get());
            assertEquals(
                    List.of(1, 1),
                    model.workers().stream().map(w -> w.agents().size()).toList());
        }
    }

    @Test
    void shouldParkAnIdleBackoffWorkerThatDrivesTwoAgents() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.BACKOFF, QUICK)) {
            model.attach(new CountingAgentDouble("a"));
            model.attach(new CountingAgentDouble("b"));
            Thread worker = workerThread(model.workers().getFirst().name());
            long deadline = System.nanoTime() + 10_000_000_000L;
            boolean parked = false;
            while (!parked && System.nanoTime() < deadline) {
                parked = worker.getState() == Thread.State.TIMED_WAITING
                        && List.of(worker.getStackTrace()).stream()
                                .anyMatch(f -> f.getClassName().equals(BackoffIdleStrategy.class.getName()));
                Thread.sleep(1);
            }
            assertTrue(parked, "the idle worker reaches the park phase of backoff");
        }
    }

    private static Thread workerThread(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(name))
                .findFirst()
                .orElseThrow();
    }

    /** A test double agent that always has work: each doWork() busies the thread for about 20 us. */
    private record BusyAgentDouble(String roleName) implements org.fsp.api.sched.Agent {
        @Override
        public int doWork() {
            long end = System.nanoTime() + 20_000;
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            return 1;
        }
    }

    @Test
    void shouldRecordEachSwapWithTheLongestGapOfAMovedAgent() {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK)) {
            model.attach(new CountingAgentDouble("a"));
            model.attach(new CountingAgentDouble("b"));
            Swap idle = model.idleStrategy(IdleStrategyKind.SPIN);
            assertEquals("idle spin", idle.change());
            assertEquals(0, idle.pauseNanos(), "no agent moves for a change of strategy");
            assertEquals(IdleStrategyKind.SPIN, model.idleStrategy());
            Swap grow = model.workers(2);
            assertTrue(grow.pauseNanos() > 0, "b went undriven from its old worker's boundary to its new one's");
            assertEquals(grow, model.recentSwaps().getLast());
        }
    }

    @Test
    void shouldChangeOneWorkerWhileAnotherIsBusyInAnAgent() throws Exception {
        try (PollingThreadModel model = new PollingThreadModel(2, IdleStrategyKind.FUTEX, QUICK, false)) {
            BlockingAgentDouble fsync = new BlockingAgentDouble("fsync");
            CountingAgentDouble stat = new CountingAgentDouble("stat");
            CountingAgentDouble other = new CountingAgentDouble("other");
            model.attach(fsync);
            model.attach(stat);
            model.attach(other);
            assertEquals(
                    List.of(List.of("fsync", "other"), List.of("stat")),
                    model.workers().stream().map(WorkerInfo::agents).toList());
            fsync.arm();
            assertTrue(fsync.blocked.await(10, TimeUnit.SECONDS));
            model.detach(stat);
            assertTrue(stat.closed.get(), "detached from the free worker while the other was inside an agent");
            assertEquals(0, fsync.requestsDone.get());
            fsync.completeDeviceWait();
            other.post(3);
            awaitDone(other, 3);
        }
    }

    @Test
    void shouldRejectAWorkerCountOutOfRangeAndAnAgentAttachedTwice() {
        try (PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK)) {
            assertThrows(IllegalArgumentException.class, () -> model.workers(0));
            assertThrows(IllegalArgumentException.class, () -> model.workers(65));
            CountingAgentDouble a = new CountingAgentDouble("a");
            model.attach(a);
            assertThrows(IllegalArgumentException.class, () -> model.attach(a));
            assertEquals(1, model.workers().getFirst().agents().size());
        }
    }

    @Test
    void shouldRefuseChangesOnceClosed() {
        PollingThreadModel model = new PollingThreadModel(1, IdleStrategyKind.FUTEX, QUICK);
        model.close();
        assertThrows(IllegalStateException.class, () -> model.workers(2));
        assertFalse(model.workers().iterator().hasNext());
    }

    private static void awaitDone(CountingAgentDouble a, long units) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (a.done.get() < units && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(units, a.done.get(), a.name + " work done");
    }
}
