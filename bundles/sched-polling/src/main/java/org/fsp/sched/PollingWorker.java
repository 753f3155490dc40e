package org.fsp.sched;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;
import org.fsp.api.sched.IdleStrategy;
import org.fsp.linux.Futex;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker thread of the {@link PollingThreadModel}: calls {@code doWork()} on each of its agents in turn, then hands
 * the sum to its idle strategy, until it is retired. Between two rounds (the agent boundary) it checks for a pause the
 * model requested, announces that it stopped, and waits until the model releases it; the model changes the worker's
 * agents and strategy only while it stands there, so an agent is never driven by two threads at once.
 *
 * <p>A failure in one {@code doWork()} or one idle step is logged and the loop goes on: one bad request must not stop
 * a worker that serves many clients.
 */
final class PollingWorker implements Runnable {

    /**
     * How long a worker that drives several agents sleeps at most in the last idle phase when it cannot sleep on all
     * their futex words at once (an agent that is no {@link FutexAgent}, or more words than one futex_waitv takes): it
     * wakes this often to poll them.
     */
    static final long SHARED_SLEEP_NANOS = 200_000;

    private static final Logger LOG = LoggerFactory.getLogger(PollingWorker.class);

    final String name;
    final Thread thread;
    private final PollingThreadModel model;
    /** Set only while the worker stands at a pause (or before it starts); read by the worker at every round. */
    volatile Agent[] agents = new Agent[0];

    volatile IdleStrategy idle;
    /** Set while paused: the worker leaves its loop when released. */
    volatile boolean retired;
    /** True from the start until {@link #join}: the thread runs but waits, driving nothing. */
    private volatile boolean standby = true;
    /** The pause generation this worker last stood at; the model waits for it to equal the one it requested. */
    volatile long arrived;
    /** Nanoseconds spent in rounds that found work; written by the worker only. */
    volatile long busyNanos;
    /** Work units done; written by the worker only. */
    volatile long work;
    /** For utilisation since the previous reading; guarded by the model's reading lock. */
    long readBusyNanos;

    long readAtNanos = System.nanoTime();
    /** For the rebalancer's period, kept apart from the shell's readings; guarded by the model's change lock. */
    long balanceBusyNanos;

    long balanceAtNanos = System.nanoTime();

    private final Agent shared = new SharedSleep();

    /** A worker in standby: its thread, once started, waits for {@link #join}. */
    PollingWorker(String name, PollingThreadModel model, IdleStrategy idle) {
        this.name = name;
        this.model = model;
        this.idle = idle;
        this.thread = Thread.ofPlatform().daemon().name(name).unstarted(this);
    }

    /**
     * Ends the standby, when the model is not paused (or has just released its workers): the worker starts its rounds
     * with the agents and strategy it was given, or leaves at once if it was retired.
     */
    void join() {
        arrived = model.pauseGeneration;
        // Volatile store: the agents, strategy and generation set above happen-before the worker's first round.
        standby = false;
        LockSupport.unpark(thread);
    }

    @Override
    public void run() {
        while (standby) {
            LockSupport.park(this);
        }
        if (retired) {
            return;
        }
        long seen = arrived;
        while (true) {
            long requested = model.pauseGeneration;
            if (requested != seen) {
                seen = requested;
                // Volatile store: everything this thread did in its agents happens-before the model's change.
                arrived = requested;
                Thread changer = model.changer;
                if (changer != null) {
                    LockSupport.unpark(changer);
                }
                while (model.releasedGeneration < requested) {
                    LockSupport.park(this);
                }
                if (retired) {
                    return;
                }
                continue;
            }
            Agent[] as = agents;
            IdleStrategy strategy = idle;
            long start = System.nanoTime();
            int done = 0;
            for (Agent a : as) {
                try {
                    done += a.doWork();
                } catch (RuntimeException | Error e) {
                    LOG.error("{}: {} failed; continuing", name, a.roleName(), e);
                }
            }
            if (done > 0) {
                busyNanos += System.nanoTime() - start;
                work += done;
            }
            try {
                strategy.idle(as.length == 1 ? as[0] : shared, done);
            } catch (RuntimeException | Error e) {
                LOG.error("{}: idle step failed; continuing", name, e);
                strategy.reset();
            }
        }
    }

    /** Ends whatever wait the worker is in: its park, and each agent's own sleep. */
    void wake() {
        LockSupport.unpark(thread);
        for (Agent a : agents) {
            a.wakeUp();
        }
    }

    /**
     * Stands in for the agents of a worker that drives none or several: sleeps on all their futex words at once when
     * every agent is a {@link FutexAgent}, else parks (briefly when there are agents to poll).
     */
    private final class SharedSleep implements Agent, FutexWaitSet {

        private final MemorySegment entries =
                Arena.ofAuto().allocate((long) Futex.WAITV_MAX * Futex.WAITV_ENTRY_SIZE, 8);
        private int count;
        private boolean full;

        @Override
        public boolean add(MemorySegment word, int expected, boolean processPrivate) {
            if (count == Futex.WAITV_MAX) {
                full = true;
                return false;
            }
            Futex.setWaitv(entries, count++, word, expected, processPrivate);
            return true;
        }

        @Override
        public int doWork() {
            return 0;
        }

        @Override
        public String roleName() {
            return name;
        }

        @Override
        public void sleep(long maxNanos) {
            Agent[] as = agents;
            if (as.length == 0) {
                LockSupport.parkNanos(maxNanos);
                return;
            }
            for (Agent a : as) {
                if (!(a instanceof FutexAgent)) {
                    LockSupport.parkNanos(Math.min(maxNanos, SHARED_SLEEP_NANOS));
                    return;
                }
            }
            count = 0;
            full = false;
            int begun = 0;
            boolean sleep = true;
            while (sleep && begun < as.length) {
                sleep = ((FutexAgent) as[begun++]).beginSleep(this);
            }
            try {
                if (sleep) {
                    Futex.awaitAny(entries, count, maxNanos);
                } else if (full) {
                    LockSupport.parkNanos(Math.min(maxNanos, SHARED_SLEEP_NANOS));
                }
            } catch (NativeException e) {
                // EFAULT: a word's memory went away (a client's segment released); the next round rebuilds the set.
                LockSupport.parkNanos(Math.min(maxNanos, SHARED_SLEEP_NANOS));
            } finally {
                for (int i = 0; i < begun; i++) {
                    ((FutexAgent) as[i]).endSleep();
                }
            }
        }

        @Override
        public void wakeUp() {
            LockSupport.unpark(thread);
        }
    }
}
