package org.fsp.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@link ThreadModel} contract, run against every thread model (sched-polling's and the test doubles layers use
 * in its place): an attached agent is driven; once {@code detach} or {@code detachAll} returns, no thread runs the
 * agent again, every thread that ran it has ended (the ownership rule) and its {@code onClose} has run exactly once;
 * the agents that stay keep being driven; no agent ever runs on two threads at once, also while the
 * worker count and the idle strategy change; agents keep being driven across those changes; detaching an unknown
 * agent is ignored.
 *
 * <p>A typical subclass returns a fresh model from {@link #createThreadModel()} and closes it in
 * {@link #closeThreadModel}; a model that cannot be reconfigured (a test double) says so with
 * {@link #reconfigurable()}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class AbstractThreadModelContractTest {

    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(30);

    protected ThreadModel model;

    protected abstract ThreadModel createThreadModel() throws Exception;

    protected void closeThreadModel(ThreadModel m) throws Exception {}

    /** False for models whose {@code workers(int)} and {@code idleStrategy(kind)} are not supported. */
    protected boolean reconfigurable() {
        return true;
    }

    @BeforeEach
    void open() throws Exception {
        model = createThreadModel();
    }

    @AfterEach
    void close() throws Exception {
        closeThreadModel(model);
    }

    /** An agent that counts its calls and checks it is never entered by two threads at once. */
    protected static final class CountingAgent implements Agent {
        private final String name;
        final AtomicLong calls = new AtomicLong();
        final AtomicInteger closes = new AtomicInteger();
        final AtomicInteger overlaps = new AtomicInteger();
        final AtomicLong callsAfterClose = new AtomicLong();
        /** Every thread that ever ran {@code doWork()}. */
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();

        private final AtomicBoolean inside = new AtomicBoolean();

        CountingAgent(String name) {
            this.name = name;
        }

        @Override
        public int doWork() {
            if (!inside.compareAndSet(false, true)) {
                overlaps.incrementAndGet();
                return 0;
            }
            try {
                if (closes.get() > 0) {
                    callsAfterClose.incrementAndGet();
                }
                threads.add(Thread.currentThread());
                calls.incrementAndGet();
                return 1;
            } finally {
                inside.set(false);
            }
        }

        @Override
        public String roleName() {
            return name;
        }

        @Override
        public void onClose() {
            closes.incrementAndGet();
        }

        void awaitProgress(long beyond) throws InterruptedException {
            long deadline = System.nanoTime() + PROGRESS_NANOS;
            while (calls.get() <= beyond) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(name + " was not driven: " + calls.get() + " calls");
                }
                Thread.sleep(1);
            }
        }
    }

    private static List<CountingAgent> agents(int n) {
        List<CountingAgent> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            out.add(new CountingAgent("contract-" + k));
        }
        return out;
    }

    private static void assertDetachedForGood(CountingAgent a) throws InterruptedException {
        long at = a.calls.get();
        assertEquals(1, a.closes.get(), a.roleName() + ": onClose once by the time detach returned");
        Thread.sleep(50);
        assertEquals(at, a.calls.get(), a.roleName() + " ran after detach returned");
        assertEquals(0, a.callsAfterClose.get(), a.roleName() + " ran after onClose");
        assertEquals(0, a.overlaps.get(), a.roleName() + " ran on two threads at once");
        for (Thread t : a.threads) {
            assertFalse(
                    t.isAlive(), t.getName() + " ran " + a.roleName() + " and still runs after its detach returned");
        }
    }

    @Test
    void shouldEndEveryThreadThatRanADetachedAgentAndKeepDrivingTheOthersOnNewThreads() throws Exception {
        List<CountingAgent> all = agents(4);
        model.attachAll(all);
        for (CountingAgent a : all) {
            a.awaitProgress(10);
        }
        if (reconfigurable()) {
            // Moves agents between threads, so that some threads ran agents they no longer drive.
            model.workers(3);
            model.workers(2);
            for (CountingAgent a : all) {
                a.awaitProgress(a.calls.get() + 10);
            }
        }
        CountingAgent leaving = all.getFirst();
        model.detach(leaving);
        assertDetachedForGood(leaving);
        List<CountingAgent> staying = all.subList(1, all.size());
        for (CountingAgent a : staying) {
            a.awaitProgress(a.calls.get() + 10);
            assertEquals(0, a.overlaps.get(), a.roleName() + " ran on two threads at once");
        }
        model.detachAll(staying);
        for (CountingAgent a : staying) {
            assertDetachedForGood(a);
        }
    }

    @Test
    void shouldDriveAnAttachedAgentAndNeverRunItAfterDetachReturns() throws Exception {
        CountingAgent a = new CountingAgent("contract-single");
        model.attach(a);
        a.awaitProgress(100);
        model.detach(a);
        assertDetachedForGood(a);
    }

    @Test
    void shouldAttachAndDetachManyAgentsAsOneChange() throws Exception {
        List<CountingAgent> all = agents(6);
        model.attachAll(all);
        for (CountingAgent a : all) {
            a.awaitProgress(10);
        }
        model.detachAll(all);
        for (CountingAgent a : all) {
            assertDetachedForGood(a);
        }
    }

    @Test
    void shouldIgnoreTheDetachOfAnAgentItNeverDrove() throws Exception {
        CountingAgent stranger = new CountingAgent("contract-stranger");
        model.detach(stranger);
        assertEquals(0, stranger.calls.get());
        CountingAgent a = new CountingAgent("contract-after");
        model.attach(a);
        a.awaitProgress(10);
        model.detach(a);
        assertDetachedForGood(a);
    }

    @Test
    void shouldKeepDrivingEveryAgentOnOneThreadAtATimeWhileWorkersAndIdleStrategyChange() throws Exception {
        List<CountingAgent> all = agents(5);
        model.attachAll(all);
        if (reconfigurable()) {
            int[] counts = {1, 3, 2, 1, 2};
            IdleStrategyKind[] kinds = {
                IdleStrategyKind.SPIN, IdleStrategyKind.BACKOFF, IdleStrategyKind.FUTEX, IdleStrategyKind.BACKOFF
            };
            for (int round = 0; round < counts.length; round++) {
                ThreadModel.Swap s = model.workers(counts[round]);
                assertTrue(s.pauseNanos() >= 0, s.toString());
                assertEquals(counts[round], model.workers().size(), "workers after workers(" + counts[round] + ")");
                if (round < kinds.length) {
                    model.idleStrategy(kinds[round]);
                    assertEquals(kinds[round], model.idleStrategy());
                }
                for (CountingAgent a : all) {
                    a.awaitProgress(a.calls.get() + 10);
                }
            }
            assertTrue(model.recentSwaps().size() >= counts.length, "recent swaps " + model.recentSwaps());
        } else {
            for (CountingAgent a : all) {
                a.awaitProgress(1000);
            }
        }
        List<String> driven = new ArrayList<>();
        model.workers().forEach(w -> driven.addAll(w.agents()));
        for (CountingAgent a : all) {
            assertTrue(driven.contains(a.roleName()), a.roleName() + " not among the workers' agents " + driven);
        }
        model.detachAll(all);
        for (CountingAgent a : all) {
            assertDetachedForGood(a);
        }
    }
}
