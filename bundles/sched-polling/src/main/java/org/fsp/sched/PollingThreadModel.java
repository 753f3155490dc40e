package org.fsp.sched;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The polling thread model, usable without OSGi: {@code n} {@link PollingWorker}s share the attached agents, all with
 * one idle strategy; agents, strategy and worker count change at run time.
 *
 * <p>A typical sequence is: {@code new PollingThreadModel(2, FUTEX, IdleSettings.DEFAULTS)}, {@link #attach} agents,
 * {@link #idleStrategy(IdleStrategyKind)} / {@link #workers(int)} from the shell, {@link #detach}, {@link #close()}.
 *
 * <p>How a change is made (the quiesce at the agent boundary): the model raises the pause generation and wakes every
 * worker (unpark, and {@link Agent#wakeUp()} of each agent so that a futex sleep ends); each worker finishes its round
 * of {@code doWork()} calls, records that it arrived and parks. When all have arrived the model changes agents,
 * strategies or threads, releases the workers and starts new ones. The pause (request to release) is measured with
 * {@link System#nanoTime()} and kept in a bounded history. Changes are serialised; readings are not blocked by them.
 */
final class PollingThreadModel implements ThreadModel, AutoCloseable {

    /** Changes kept for {@link #recentSwaps()}. */
    static final int HISTORY = 32;

    static final int MAX_WORKERS = 64;

    private static final Logger LOG = LoggerFactory.getLogger(PollingThreadModel.class);
    private static final long REWAKE_NANOS = 1_000_000;
    private static final int SPINS_BEFORE_PARK = 200;

    /** Raised to request a pause; read by every worker at every round. */
    volatile long pauseGeneration;
    /** Raised to release the workers standing at a pause. */
    volatile long releasedGeneration;
    /** The thread making the current change, which each arriving worker unparks; null between changes. */
    volatile Thread changer;

    private final Object changes = new Object();
    private final Deque<Swap> history = new ArrayDeque<>();
    /** The workers; replaced (never mutated) under {@link #changes}. */
    private volatile List<PollingWorker> workers = List.of();

    private volatile IdleStrategyKind kind;
    /** Written under {@link #changes}; read without it for a stand-in's strategy. */
    private volatile IdleSettings settings;
    /** Whether a worker lends its other agents to its stand-in while one of them waits on a device. */
    private volatile boolean handoffDeviceWaits;

    private final LongAdder lendings = new LongAdder();
    /** Guarded by {@link #changes}. */
    private int nextWorkerNumber;
    /** Guarded by {@link #changes}. */
    private boolean closed;

    PollingThreadModel(int workerCount, IdleStrategyKind kind, IdleSettings settings) {
        this(workerCount, kind, settings, true);
    }

    /** @param handoffDeviceWaits see {@link #handoffDeviceWaits(boolean)} */
    PollingThreadModel(int workerCount, IdleStrategyKind kind, IdleSettings settings, boolean handoffDeviceWaits) {
        checkWorkers(workerCount);
        this.kind = kind;
        this.settings = settings;
        this.handoffDeviceWaits = handoffDeviceWaits;
        synchronized (changes) {
            List<PollingWorker> ws = standbyWorkers(workerCount);
            ws.forEach(PollingWorker::join);
            workers = List.copyOf(ws);
        }
    }

    @Override
    public void attach(Agent agent) {
        change("attach " + agent.roleName(), () -> {
            for (PollingWorker w : workers) {
                if (Arrays.asList(w.agents).contains(agent)) {
                    throw new IllegalArgumentException(agent.roleName() + " is already attached");
                }
            }
            PollingWorker least = workers.getFirst();
            for (PollingWorker w : workers) {
                if (w.agents.length < least.agents.length) {
                    least = w;
                }
            }
            least.agents = append(least.agents, agent);
        });
    }

    @Override
    public void detach(Agent agent) {
        boolean attached = false;
        synchronized (changes) {
            for (PollingWorker w : workers) {
                attached |= Arrays.asList(w.agents).contains(agent);
            }
            if (!attached) {
                return;
            }
            change("detach " + agent.roleName(), () -> {
                for (PollingWorker w : workers) {
                    w.agents = Arrays.stream(w.agents).filter(a -> a != agent).toArray(Agent[]::new);
                }
            });
        }
        agent.onClose();
    }

    @Override
    public IdleStrategyKind idleStrategy() {
        return kind;
    }

    @Override
    public Swap idleStrategy(IdleStrategyKind next) {
        return change("idle " + next.configName(), () -> {
            for (PollingWorker w : workers) {
                w.idle = settings.create(next);
            }
            kind = next;
        });
    }

    /**
     * Device waits handed off ({@code true}: a worker whose agent blocks in a device wait lends its other agents to its
     * stand-in thread meanwhile) or waited inline (the paper's synchronous polling: the worker's other agents wait).
     * Takes effect at the next device wait; no worker stands still for it, so the swap's pause is 0.
     */
    Swap handoffDeviceWaits(boolean handoff) {
        synchronized (changes) {
            handoffDeviceWaits = handoff;
            return record(new Swap(System.currentTimeMillis(), "devicewait " + deviceWaitName(handoff), 0));
        }
    }

    boolean handoffDeviceWaits() {
        return handoffDeviceWaits;
    }

    /** The shell and configuration name of a device-wait mode. */
    static String deviceWaitName(boolean handoff) {
        return handoff ? "handoff" : "inline";
    }

    /** Times a worker lent its other agents to its stand-in for a device wait. */
    long lendings() {
        return lendings.sum();
    }

    void lentOnce() {
        lendings.increment();
    }

    /** A fresh idle strategy of the current kind, for a stand-in. */
    IdleStrategy newIdleStrategy() {
        return settings.create(kind);
    }

    @Override
    public Swap workers(int count) {
        checkWorkers(count);
        synchronized (changes) {
            List<PollingWorker> spare = standbyWorkers(count - workers.size());
            return change("workers " + count, () -> resize(count, spare), spare);
        }
    }

    /**
     * Moves one agent from the busiest worker that drives two or more to the least busy worker, when their
     * utilisation since the previous call differs by more than {@code threshold} (0 to 1); returns the change, or
     * null when the load is even enough. The agent moved is the busiest worker's last one; a worker left with one
     * agent is never a source, so agents do not bounce.
     */
    Swap rebalance(double threshold) {
        synchronized (changes) {
            if (closed) {
                return null;
            }
            long now = System.nanoTime();
            PollingWorker busiest = null;
            PollingWorker idlest = null;
            double most = -1;
            double least = 2;
            for (PollingWorker w : workers) {
                long busy = w.busyNanos;
                double u = (double) (busy - w.balanceBusyNanos) / Math.max(1, now - w.balanceAtNanos);
                w.balanceBusyNanos = busy;
                w.balanceAtNanos = now;
                if (w.agents.length >= 2 && u > most) {
                    most = u;
                    busiest = w;
                }
                if (u < least) {
                    least = u;
                    idlest = w;
                }
            }
            if (busiest == null || busiest == idlest || most - least <= threshold) {
                return null;
            }
            PollingWorker from = busiest;
            PollingWorker to = idlest;
            Agent moved = from.agents[from.agents.length - 1];
            return change(
                    String.format(
                            Locale.ROOT,
                            "rebalance %s: %s (%.0f%%) -> %s (%.0f%%)",
                            moved.roleName(),
                            from.name,
                            most * 100,
                            to.name,
                            least * 100),
                    () -> {
                        from.agents = Arrays.copyOf(from.agents, from.agents.length - 1);
                        to.agents = append(to.agents, moved);
                    });
        }
    }

    /** Applies a whole configuration in one pause: strategy settings, strategy, worker count and device waits. */
    Swap configure(int count, IdleStrategyKind next, IdleSettings nextSettings, boolean handoff) {
        checkWorkers(count);
        synchronized (changes) {
            List<PollingWorker> spare = standbyWorkers(count - workers.size());
            return change(
                    "configure workers " + count + ", idle " + next.configName() + ", devicewait "
                            + deviceWaitName(handoff),
                    () -> {
                        handoffDeviceWaits = handoff;
                        settings = nextSettings;
                        kind = next;
                        resize(count, spare);
                        for (PollingWorker w : workers) {
                            w.idle = settings.create(next);
                        }
                    },
                    spare);
        }
    }

    @Override
    public List<WorkerInfo> workers() {
        List<WorkerInfo> out = new ArrayList<>();
        synchronized (history) {
            long now = System.nanoTime();
            for (PollingWorker w : workers) {
                long busy = w.busyNanos;
                long wall = Math.max(1, now - w.readAtNanos);
                double utilisation = Math.min(1.0, (double) (busy - w.readBusyNanos) / wall);
                w.readBusyNanos = busy;
                w.readAtNanos = now;
                out.add(new WorkerInfo(
                        w.name,
                        Arrays.stream(w.agents).map(Agent::roleName).toList(),
                        utilisation,
                        w.work + w.standInWork()));
            }
        }
        return out;
    }

    @Override
    public List<Swap> recentSwaps() {
        synchronized (history) {
            return List.copyOf(history);
        }
    }

    /** Stops every worker (at the agent boundary) and waits for their threads; agents still attached stay open. */
    @Override
    public void close() {
        List<PollingWorker> stopped;
        synchronized (changes) {
            if (closed) {
                return;
            }
            stopped = workers;
            change("stop", () -> {
                for (PollingWorker w : workers) {
                    if (w.agents.length > 0) {
                        LOG.warn(
                                "{} stops with agents still attached: {}",
                                w.name,
                                Arrays.stream(w.agents).map(Agent::roleName).toList());
                    }
                    w.retired = true;
                }
                workers = List.of();
            });
            closed = true;
        }
        for (PollingWorker w : stopped) {
            try {
                w.thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private Swap change(String what, Runnable mutation) {
        return change(what, mutation, List.of());
    }

    /**
     * Pauses every worker at the agent boundary, runs {@code mutation}, releases the workers and records the pause.
     * {@code spare} are standby workers (threads already started, so that no thread start falls in the pause) that
     * the mutation may {@linkplain PollingWorker#join join}; those it leaves out are retired.
     */
    private Swap change(String what, Runnable mutation, List<PollingWorker> spare) {
        synchronized (changes) {
            if (closed) {
                throw new IllegalStateException("the thread model is stopped");
            }
            long start = System.nanoTime();
            long generation = pauseGeneration + 1;
            List<PollingWorker> paused = workers;
            changer = Thread.currentThread();
            pauseGeneration = generation;
            awaitArrival(paused, generation);
            changer = null;
            try {
                mutation.run();
            } finally {
                // Volatile store: the mutation happens-before each released worker's next round.
                releasedGeneration = generation;
                for (PollingWorker w : paused) {
                    LockSupport.unpark(w.thread);
                }
                for (PollingWorker w : spare) {
                    if (!workers.contains(w)) {
                        w.retired = true;
                    }
                    w.join();
                }
            }
            return record(new Swap(System.currentTimeMillis(), what, System.nanoTime() - start));
        }
    }

    private Swap record(Swap swap) {
        synchronized (history) {
            if (history.size() == HISTORY) {
                history.removeFirst();
            }
            history.addLast(swap);
        }
        LOG.info("{}: workers paused {} us", swap.change(), swap.pauseNanos() / 1_000);
        return swap;
    }

    /**
     * Waits until every worker stands at {@code generation}, waking those that sleep (again each millisecond). It
     * spins briefly, then parks until an arriving worker unparks it: on a crowded machine a spinning or yielding
     * waiter would take the CPU from the very workers it waits for.
     */
    private static void awaitArrival(List<PollingWorker> ws, long generation) {
        long rewakeAt = 0;
        for (int round = 0; ; round++) {
            boolean all = true;
            for (PollingWorker w : ws) {
                all &= w.arrived == generation || !w.thread.isAlive();
            }
            if (all) {
                return;
            }
            long now = System.nanoTime();
            if (now - rewakeAt >= 0) {
                for (PollingWorker w : ws) {
                    if (w.arrived != generation) {
                        w.wake();
                    }
                }
                rewakeAt = now + REWAKE_NANOS;
            }
            if (round < SPINS_BEFORE_PARK) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(REWAKE_NANOS);
            }
        }
    }

    /**
     * Under a pause: retires workers or adds standby ones from {@code spare} to reach {@code count}, then spreads the
     * agents so that worker {@code i} holds {@code total / count} of them, one more for the first {@code total % count};
     * an agent stays on its worker when it can.
     */
    private void resize(int count, List<PollingWorker> spare) {
        List<PollingWorker> ws = new ArrayList<>(workers);
        List<Agent> homeless = new ArrayList<>();
        while (ws.size() > count) {
            PollingWorker gone = ws.removeLast();
            gone.retired = true;
            homeless.addAll(List.of(gone.agents));
            gone.agents = new Agent[0];
        }
        for (PollingWorker w : spare.subList(0, Math.max(0, count - ws.size()))) {
            w.idle = settings.create(kind);
            ws.add(w);
        }
        int total = homeless.size();
        for (PollingWorker w : ws) {
            total += w.agents.length;
        }
        for (int i = 0; i < ws.size(); i++) {
            PollingWorker w = ws.get(i);
            int target = total / count + (i < total % count ? 1 : 0);
            if (w.agents.length > target) {
                homeless.addAll(List.of(w.agents).subList(target, w.agents.length));
                w.agents = Arrays.copyOf(w.agents, target);
            }
        }
        for (int i = 0; i < ws.size(); i++) {
            PollingWorker w = ws.get(i);
            int target = total / count + (i < total % count ? 1 : 0);
            while (w.agents.length < target) {
                w.agents = append(w.agents, homeless.removeLast());
            }
        }
        workers = List.copyOf(ws);
    }

    /**
     * Under {@link #changes}, outside a pause: starts {@code n} worker threads (none when {@code n <= 0}) that wait
     * until {@linkplain PollingWorker#join joined}, so that a thread start, which can take milliseconds on a busy
     * machine, never falls in a pause.
     */
    private List<PollingWorker> standbyWorkers(int n) {
        List<PollingWorker> ws = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            PollingWorker w = new PollingWorker("fsp-sched-worker-" + nextWorkerNumber++, this, settings.create(kind));
            w.thread.start();
            ws.add(w);
        }
        return ws;
    }

    private static Agent[] append(Agent[] agents, Agent agent) {
        Agent[] next = Arrays.copyOf(agents, agents.length + 1);
        next[agents.length] = agent;
        return next;
    }

    private static void checkWorkers(int count) {
        if (count < 1 || count > MAX_WORKERS) {
            throw new IllegalArgumentException("workers " + count + " not in 1.." + MAX_WORKERS);
        }
    }
}
