package org.fsp.sched;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.FutureTask;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;
import org.fsp.api.sched.IdleStrategy;
import org.fsp.api.sched.ManagedBlocking;
import org.fsp.linux.CpuAffinity;
import org.fsp.linux.Futex;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker thread of the {@link PollingThreadModel}: calls {@code doWork()} on each of its agents in turn, then hands
 * the sum to its idle strategy, until it is retired. Between two rounds (the agent boundary) it takes whatever the
 * model {@linkplain #post posted} (its next set of agents, strategy, or retirement), tells the model, and goes on at
 * once: only this thread changes what it drives, and only there, so an agent the model moves is given up here before
 * another worker is posted it.
 *
 * <p>Device waits (managed blocking): the worker is the {@link ManagedBlocking.Blocker} of its thread. When an agent's
 * {@code doWork()} is about to block in a device wait (the block scheduler announces it) and the model's
 * {@linkplain PollingThreadModel#handoffDeviceWaits() hand-off} is on, the worker lends its other agents to its
 * stand-in thread, which drives them until the wait ends; the worker takes them back at its next agent boundary, once
 * the stand-in has finished the round it is in. So a worker never leaves ready requests waiting behind one device
 * I/O, and an agent is still never driven by two threads at once.
 *
 * <p>A failure in one {@code doWork()} or one idle step is logged and the loop goes on: one bad request must not stop
 * a worker that serves many clients.
 */
final class PollingWorker implements Runnable, ManagedBlocking.Blocker {

    /**
     * How long a worker that drives several agents sleeps at most in the last idle phase when it cannot sleep on all
     * their futex words at once (an agent that is no {@link FutexAgent}, or more words than one futex_waitv takes): it
     * wakes this often to poll them.
     */
    static final long SHARED_SLEEP_NANOS = 200_000;

    /** Spins of a worker waiting for its stand-in to return the agents before it parks (the stand-in unparks it). */
    private static final int RECLAIM_SPINS = 1_000;

    private static final Logger LOG = LoggerFactory.getLogger(PollingWorker.class);
    private static final PollingWorker[] NO_WORKERS = new PollingWorker[0];
    private static final Agent[] NO_AGENTS = new Agent[0];

    final String name;
    final Thread thread;
    private final PollingThreadModel model;
    /** The agents this worker drives; written by the worker when it takes a post, read by anyone. */
    volatile Agent[] agents = new Agent[0];

    /** The strategy this worker uses; written by the worker when it takes a post. */
    volatile IdleStrategy idle;
    /**
     * Every agent this worker has been handed since it started (by identity), so that the detach of any of them ends
     * it; under the model's change lock.
     */
    private final Set<Agent> drove = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Worker thread only: set when it takes a post that retires it; it then leaves its loop. */
    private boolean retired;
    /** Worker thread only: the CPU this worker is pinned to, -1 while it runs unpinned. */
    private int cpu = -1;
    /** True from the start until {@link #join}: the thread runs but waits, driving nothing. */
    private volatile boolean standby = true;

    // The post: written by the model (under its change lock) before it raises posted; read by the worker after.
    private Agent[] postedAgents = NO_AGENTS;
    private IdleStrategy postedIdle;
    private boolean postedRetire;
    /** Workers that must take their posts (give up agents this post gives this one) before this one takes it. */
    private PollingWorker[] postedAfter = NO_WORKERS;
    /** Workers to wake once this one has taken its post (those waiting for the agents it gives up). */
    private PollingWorker[] postedWake = NO_WORKERS;
    /** Raised by the model for each post. */
    private volatile long posted;
    /** The last post the worker took; the model waits for it to equal {@link #posted}. */
    private volatile long taken;
    /** {@link System#nanoTime()} when the worker took its last post. */
    volatile long takenAtNanos;
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
    /** For the load manager's period ({@link PollingThreadModel#scale}); guarded by the model's change lock. */
    long scaleBusyNanos;

    long scaleAtNanos = System.nanoTime();

    private final SharedSleep shared;
    private final StandIn standIn;

    // Worker thread only: the round in progress, for a device wait announced from inside one of its doWork() calls.
    private Agent[] round = NO_AGENTS;
    private int driving;
    private int blockingDepth;
    /** Worker thread only: the agents are lent to the stand-in (until it has returned them). */
    private boolean lent;
    /** Worker thread only: rounds without work while the agents are lent. */
    private int idleWhileLent;

    /** A worker in standby: its thread, once started, waits for {@link #join}. */
    PollingWorker(String name, PollingThreadModel model, IdleStrategy idle) {
        this.name = name;
        this.model = model;
        this.idle = idle;
        this.thread = ownedThread(name, this);
        this.shared = new SharedSleep(name, thread);
        this.standIn = new StandIn(name + "-standin", thread);
    }

    /**
     * A thread of this bundle's that keeps nothing of {@code task} once it ends: it runs it through a
     * {@link FutureTask}, which drops the task when it completes. Something may hold a Thread after it ended (UpgradeIT
     * found Felix keeping one), and a Thread keeps its task; a worker's task reaches the agents it drove, and through
     * them their bundle's classes. It inherits no inheritable thread-locals, and its context loader is the system
     * class loader rather than the asking thread's, so that it holds no class loader of a bundle (another layer's,
     * which asked for it, or this one's, which an upgrade replaces).
     */
    static Thread ownedThread(String name, Runnable task) {
        Thread t = Thread.ofPlatform()
                .daemon()
                .name(name)
                .inheritInheritableThreadLocals(false)
                .unstarted(new FutureTask<Void>(task, null));
        t.setContextClassLoader(ClassLoader.getSystemClassLoader());
        return t;
    }

    /**
     * Waits until this worker's thread and its stand-in's have ended (the worker was retired), at most
     * {@code millis}; returns whether they have.
     */
    boolean awaitEnded(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        thread.join(Math.max(1, millis));
        standIn.thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        return !thread.isAlive() && !standIn.thread.isAlive();
    }

    /** Model, under its change lock: this worker drives {@code next} from the change being made. */
    void driving(Agent[] next) {
        drove.addAll(Arrays.asList(next));
    }

    /** Model, under its change lock: whether this worker was ever handed {@code agent}. */
    boolean drove(Agent agent) {
        return drove.contains(agent);
    }

    /** Ends the standby: the worker takes its post and starts its rounds (or leaves, if the post retired it). */
    void join() {
        standby = false;
        LockSupport.unpark(thread);
    }

    /**
     * Model, under its change lock: from its next agent boundary at which every worker in {@code after} has taken its
     * own post, the worker drives {@code next} with {@code strategy} (or leaves if {@code retire}), then wakes the
     * workers in {@code wake}. The model waits for {@link #taken()} before it posts again.
     */
    void post(
            Agent[] next, IdleStrategy strategy, boolean retire, List<PollingWorker> after, List<PollingWorker> wake) {
        postedAgents = next;
        postedIdle = strategy;
        postedRetire = retire;
        postedAfter = after.toArray(PollingWorker[]::new);
        postedWake = wake.toArray(PollingWorker[]::new);
        // Volatile store: the post's fields above happen-before the worker's read of them.
        posted = posted + 1;
        wake();
    }

    /** True once the worker has taken the last post. */
    boolean taken() {
        return taken == posted;
    }

    /** Worker thread, at the agent boundary: takes the post if there is a new one; returns whether it did. */
    private boolean takePost() {
        long p = posted;
        if (p == taken) {
            return false;
        }
        for (PollingWorker w : postedAfter) {
            if (!w.taken()) {
                // An agent posted to us is still another worker's: it wakes us when it gives it up.
                return false;
            }
        }
        agents = postedAgents;
        idle = postedIdle;
        retired = postedRetire;
        takenAtNanos = System.nanoTime();
        // Volatile store: everything this thread did in the agents it gave up happens-before their next worker's use.
        taken = p;
        for (PollingWorker w : postedWake) {
            w.wake();
        }
        Thread changer = model.changer;
        if (changer != null) {
            LockSupport.unpark(changer);
        }
        return true;
    }

    @Override
    public void run() {
        // Started here, in standby, so that a thread start never falls in a device wait or a pause.
        standIn.thread.start();
        ManagedBlocking.install(this);
        try {
            while (standby) {
                LockSupport.park(this);
            }
            pin();
            rounds();
        } finally {
            model.cpus.release(cpu);
            ManagedBlocking.uninstall();
            standIn.stop();
        }
    }

    /** Worker thread: pins it to a CPU of the model's pool when one is free (once pinned, for good). */
    private void pin() {
        int c = model.cpus.claim();
        if (c < 0) {
            return;
        }
        try {
            CpuAffinity.set(1L << c);
            cpu = c;
            LOG.info("{} pinned to CPU {}", name, c);
        } catch (NativeException e) {
            model.cpus.release(c);
            LOG.warn("{} could not pin itself to CPU {}: {}", name, c, e.getMessage());
        }
    }

    private void rounds() {
        while (true) {
            if (posted != taken) {
                if (lent) {
                    // A post may move a lent agent: take them back first, so none is driven by two threads.
                    awaitReturned(true);
                }
                takePost();
                if (retired) {
                    return;
                }
                if (cpu < 0) {
                    // A worker that joined while its predecessor still held the CPU tries again at each change.
                    pin();
                }
            }
            if (lent && !awaitReturned(false)) {
                roundWhileLent();
                continue;
            }
            Agent[] as = agents;
            IdleStrategy strategy = idle;
            long start = System.nanoTime();
            int done = 0;
            round = as;
            for (int i = 0; i < as.length; i++) {
                driving = i;
                try {
                    done += AgentDispatch.doWork(as[i]);
                } catch (RuntimeException | Error e) {
                    LOG.error("{}: {} failed; continuing", name, AgentDispatch.roleName(as[i]), e);
                }
                if (lent) {
                    // That doWork() waited on a device and lent the others, the rest of this round included: they are
                    // the stand-in's until it returns them.
                    break;
                }
            }
            if (done > 0) {
                busyNanos += System.nanoTime() - start;
                work += done;
            }
            try {
                shared.driving = as;
                strategy.idle(as.length == 1 ? as[0] : shared, done);
            } catch (RuntimeException | Error e) {
                LOG.error("{}: idle step failed; continuing", name, e);
                strategy.reset();
            }
        }
    }

    /**
     * A round while the stand-in still holds the lent agents (it finishes the round it is in first): only the agent
     * that blocked is driven; with nothing to do the worker spins a little (the client that waited for the device
     * usually posts its next request within microseconds), then parks briefly; the stand-in unparks it when it
     * returns the agents.
     */
    private void roundWhileLent() {
        Agent mine = round[driving];
        int done = 0;
        try {
            done = AgentDispatch.doWork(mine);
        } catch (RuntimeException | Error e) {
            LOG.error("{}: {} failed; continuing", name, AgentDispatch.roleName(mine), e);
        }
        work += done;
        if (done > 0) {
            idleWhileLent = 0;
        } else if (++idleWhileLent < RECLAIM_SPINS) {
            Thread.onSpinWait();
        } else {
            LockSupport.parkNanos(SHARED_SLEEP_NANOS);
        }
    }

    /**
     * Takes the lent agents back if the stand-in has returned them; with {@code wait}, first waits until it has (spin,
     * then park: the stand-in unparks this thread). Returns whether they are back.
     */
    private boolean awaitReturned(boolean wait) {
        standIn.requestReturn();
        for (int spins = 0; wait && !standIn.returned(); spins++) {
            if (spins < RECLAIM_SPINS) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(SHARED_SLEEP_NANOS);
            }
        }
        if (!standIn.returned()) {
            return false;
        }
        lent = false;
        work += standIn.takeWork();
        return true;
    }

    @Override
    public void beginBlocking() {
        if (blockingDepth++ > 0 || lent || !model.handoffDeviceWaits()) {
            return;
        }
        Agent[] as = round;
        if (as.length < 2) {
            return;
        }
        Agent[] others = new Agent[as.length - 1];
        for (int i = 0, j = 0; i < as.length; i++) {
            if (i != driving) {
                others[j++] = as[i];
            }
        }
        standIn.lend(others, model.newIdleStrategy());
        lent = true;
        idleWhileLent = 0;
        model.lentOnce();
    }

    @Override
    public void endBlocking() {
        if (--blockingDepth == 0 && lent) {
            // Not waited for here: the agent that blocked finishes its request first; the next round takes them back.
            standIn.requestReturn();
        }
    }

    /** Ends whatever wait the worker is in: its park, and each agent's own sleep. */
    void wake() {
        LockSupport.unpark(thread);
        for (Agent a : agents) {
            AgentDispatch.wakeUp(a);
        }
    }

    /** Work units the stand-in has done for this worker in the lending under way (0 when none is under way). */
    long standInWork() {
        return standIn.work;
    }

    /**
     * The thread that drives a worker's other agents while the worker waits on a device: parked until
     * {@linkplain #lend lent} agents, then rounds of their {@code doWork()} with an idle strategy of the model's kind
     * until the worker asks for them back; it returns them at a round boundary and unparks the worker. Its own device
     * waits are not handed on: it installs no blocker.
     */
    private static final class StandIn implements Runnable {

        final Thread thread;
        private final Thread worker;
        private final SharedSleep shared;
        /** Set by the worker (release: the agents and strategy first), cleared by the stand-in when it returns them. */
        private volatile Agent[] lent;

        private volatile IdleStrategy idle;
        private volatile boolean returnRequested;
        private volatile boolean stopped;
        /** Work done in the current lending; read and reset by the worker once the agents are back. */
        volatile long work;

        StandIn(String name, Thread worker) {
            this.worker = worker;
            this.thread = ownedThread(name, this);
            this.shared = new SharedSleep(name, thread);
        }

        /** Worker thread: starts driving {@code agents}. */
        void lend(Agent[] agents, IdleStrategy strategy) {
            idle = strategy;
            returnRequested = false;
            work = 0;
            // Volatile store: the strategy and flags above happen-before the stand-in's first round.
            lent = agents;
            LockSupport.unpark(thread);
        }

        /** Worker thread: asks for the agents back, waking the stand-in from its park or its agents' sleep. */
        void requestReturn() {
            if (returnRequested) {
                return;
            }
            returnRequested = true;
            Agent[] as = lent;
            if (as != null) {
                LockSupport.unpark(thread);
                for (Agent a : as) {
                    AgentDispatch.wakeUp(a);
                }
            }
        }

        /** True once the stand-in has stopped driving what it was lent. */
        boolean returned() {
            return lent == null;
        }

        long takeWork() {
            long w = work;
            work = 0;
            return w;
        }

        void stop() {
            stopped = true;
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            while (!stopped) {
                Agent[] as = lent;
                if (as == null) {
                    LockSupport.park(this);
                    continue;
                }
                IdleStrategy strategy = idle;
                shared.driving = as;
                while (!returnRequested) {
                    int done = 0;
                    for (Agent a : as) {
                        try {
                            done += AgentDispatch.doWork(a);
                        } catch (RuntimeException | Error e) {
                            LOG.error("{}: {} failed; continuing", thread.getName(), AgentDispatch.roleName(a), e);
                        }
                    }
                    work += done;
                    if (returnRequested) {
                        break;
                    }
                    try {
                        strategy.idle(as.length == 1 ? as[0] : shared, done);
                    } catch (RuntimeException | Error e) {
                        LOG.error("{}: idle step failed; continuing", thread.getName(), e);
                        strategy.reset();
                    }
                }
                // Volatile store: everything done in the agents happens-before the worker's next doWork() of them.
                lent = null;
                LockSupport.unpark(worker);
            }
        }
    }

    /**
     * Stands in for the agents of a thread that drives none or several: sleeps on all their futex words at once when
     * every agent is a {@link FutexAgent}, else parks (briefly when there are agents to poll). {@link #driving} is set
     * by the owning thread before each idle step.
     */
    private static final class SharedSleep implements Agent, FutexWaitSet {

        private final String name;
        private final Thread owner;
        private final MemorySegment entries =
                Arena.ofAuto().allocate((long) Futex.WAITV_MAX * Futex.WAITV_ENTRY_SIZE, 8);
        private int count;
        private boolean full;
        /** The agents the owning thread drives; its thread only. */
        Agent[] driving = NO_AGENTS;

        SharedSleep(String name, Thread owner) {
            this.name = name;
            this.owner = owner;
        }

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
            Agent[] as = driving;
            if (as.length == 0) {
                LockSupport.parkNanos(maxNanos);
                return;
            }
            for (Agent a : as) {
                if (!AgentDispatch.sleepsOnFutexWords(a)) {
                    LockSupport.parkNanos(Math.min(maxNanos, SHARED_SLEEP_NANOS));
                    return;
                }
            }
            count = 0;
            full = false;
            int begun = 0;
            boolean sleep = true;
            while (sleep && begun < as.length) {
                sleep = AgentDispatch.beginSleep(as[begun++], this);
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
                    AgentDispatch.endSleep(as[i]);
                }
            }
        }

        @Override
        public void wakeUp() {
            LockSupport.unpark(owner);
        }
    }
}
