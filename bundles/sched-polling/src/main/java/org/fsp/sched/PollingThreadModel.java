package org.fsp.sched;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * <p>How a change is made (hand-over at each worker's own agent boundary, no global stop): the model computes which
 * agents each worker drives afterwards and posts it to every worker concerned at once. A worker that gives agents up
 * (or changes its strategy, or leaves) takes its reduced set at its next agent boundary and wakes the workers that
 * receive those agents; a receiving worker (new ones, started beforehand in standby, join here) takes its full set at
 * its first boundary after all its givers have taken theirs. The model waits until every post is taken. An agent is
 * therefore never driven by two threads, the agents that do not move are never stopped, and a moved agent goes
 * undriven only from its old worker's boundary to its new worker's, one wake-up apart. That gap, the longest over the
 * moved agents (0 when none moved, as for a change of idle strategy), is the change's pause, measured with
 * {@link System#nanoTime()} and kept in a bounded history. Changes are serialised; readings are not blocked by them.
 *
 * <p>Ownership: a worker thread that drove an agent ends when that agent is detached ({@link #detachAll}); fresh
 * threads serve the agents that stay. Stopping every worker for each change instead would make the pause the sum of
 * three scheduling delays on a loaded machine (wake each sleeping worker, wake the changer when the last one stood
 * still, wake every worker again).
 *
 * <p>Its length (about 700 lines): attach, detach, a new idle strategy, a new worker count, the rebalancing and the
 * scaling are all computed as a new assignment of agents to workers and carried out by the one hand-over above; kept
 * with it, every kind of change is seen to keep an agent from being driven by two threads. The worker's side of the
 * hand-over is {@link PollingWorker}'s, the CPUs they pin to {@link WorkerCpus}', the calls on agents
 * {@link AgentDispatch}'s, and the service, the status and the shell command {@link ThreadModelComponent}'s.
 */
final class PollingThreadModel implements ThreadModel, AutoCloseable {

    /** Changes kept for {@link #recentSwaps()}. */
    static final int HISTORY = 32;

    static final int MAX_WORKERS = 64;

    private static final Logger LOG = LoggerFactory.getLogger(PollingThreadModel.class);
    private static final long REWAKE_NANOS = 1_000_000;
    private static final int SPINS_BEFORE_PARK = 200;
    /** How long a change waits at most for the threads of the workers it retired to end, ms. */
    private static final long END_WAIT_MILLIS = 5_000;

    private static final Agent[] NO_AGENTS = new Agent[0];

    /** The thread waiting for workers to take a posted change, which each worker unparks; null between changes. */
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
    /** The CPUs workers pin themselves to. */
    final WorkerCpus cpus;
    /** Guarded by {@link #changes}. */
    private int nextWorkerNumber;
    /** Guarded by {@link #changes}. */
    private boolean closed;

    PollingThreadModel(int workerCount, IdleStrategyKind kind, IdleSettings settings) {
        this(workerCount, kind, settings, true);
    }

    /** @param handoffDeviceWaits see {@link #handoffDeviceWaits(boolean)} */
    PollingThreadModel(int workerCount, IdleStrategyKind kind, IdleSettings settings, boolean handoffDeviceWaits) {
        this(workerCount, kind, settings, handoffDeviceWaits, WorkerCpus.off());
    }

    /** @param cpus the CPUs the workers pin themselves to ({@link WorkerCpus#off()}: none) */
    PollingThreadModel(
            int workerCount,
            IdleStrategyKind kind,
            IdleSettings settings,
            boolean handoffDeviceWaits,
            WorkerCpus cpus) {
        checkWorkers(workerCount);
        this.cpus = cpus;
        this.kind = kind;
        this.settings = settings;
        this.handoffDeviceWaits = handoffDeviceWaits;
        synchronized (changes) {
            List<PollingWorker> ws = standbyWorkers(workerCount);
            Map<PollingWorker, Agent[]> none = new LinkedHashMap<>();
            ws.forEach(w -> none.put(w, NO_AGENTS));
            hand(ws, none, false, ws);
        }
    }

    @Override
    public void attach(Agent agent) {
        attachAll(List.of(agent));
    }

    /** Each agent goes to the worker that drives the fewest at that point; all of them in one change. */
    @Override
    public void attachAll(List<? extends Agent> agents) {
        if (agents.isEmpty()) {
            return;
        }
        synchronized (changes) {
            Map<PollingWorker, Agent[]> target = current();
            for (Agent agent : agents) {
                PollingWorker least = null;
                for (Map.Entry<PollingWorker, Agent[]> e : target.entrySet()) {
                    if (Arrays.asList(e.getValue()).contains(agent)) {
                        throw new IllegalArgumentException(AgentDispatch.roleName(agent) + " is already attached");
                    }
                    if (least == null || e.getValue().length < target.get(least).length) {
                        least = e.getKey();
                    }
                }
                if (least == null) {
                    throw new IllegalStateException("the thread model is stopped");
                }
                target.put(least, append(target.get(least), agent));
            }
            change("attach " + roleNames(agents), workers, target, false, List.of());
        }
    }

    @Override
    public void detach(Agent agent) {
        detachAll(List.of(agent));
    }

    /**
     * Detaches {@code agents} in one change and ends every worker thread that ever drove one of them (and its
     * stand-in): a fresh worker, started beforehand in standby, takes over the agents each of them drives that stay,
     * at its agent boundary as in a resize. Returns once those threads have ended, then calls each agent's
     * {@link Agent#onClose()} here. This is the ownership rule of the {@link ThreadModel} contract: a thread that ran
     * an agent of a bundle that goes never runs anything again, so nothing on its stack (frames, compiled code that
     * names the agent's classes) can keep that bundle's class loader alive. Detaching is rare (a layer stopping or
     * being replaced), so a thread start per worker concerned is cheap.
     */
    @Override
    public void detachAll(List<? extends Agent> agents) {
        List<Agent> gone = new ArrayList<>();
        List<PollingWorker> ending = new ArrayList<>();
        synchronized (changes) {
            for (PollingWorker w : workers) {
                for (Agent a : w.agents) {
                    if (containsSame(agents, a)) {
                        gone.add(a);
                    }
                }
                if (agents.stream().anyMatch(w::drove)) {
                    ending.add(w);
                }
            }
            if (gone.isEmpty()) {
                return;
            }
            List<PollingWorker> fresh = standbyWorkers(ending.size());
            List<PollingWorker> next = new ArrayList<>();
            Map<PollingWorker, Agent[]> target = new LinkedHashMap<>();
            for (PollingWorker w : workers) {
                PollingWorker in = ending.contains(w) ? fresh.get(ending.indexOf(w)) : w;
                next.add(in);
                target.put(
                        in,
                        Arrays.stream(w.agents)
                                .filter(a -> !containsSame(agents, a))
                                .toArray(Agent[]::new));
            }
            change("detach " + roleNames(gone), next, target, false, fresh);
        }
        awaitEnded(ending);
        gone.forEach(AgentDispatch::onClose);
    }

    /** Waits for the threads of retired workers to end; one that does not within the bound is logged. */
    private static void awaitEnded(List<PollingWorker> retired) {
        try {
            for (PollingWorker w : retired) {
                if (!w.awaitEnded(END_WAIT_MILLIS)) {
                    LOG.warn("{} has not ended {} ms after it was retired", w.name, END_WAIT_MILLIS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean containsSame(List<? extends Agent> agents, Agent a) {
        for (Agent candidate : agents) {
            if (candidate == a) {
                return true;
            }
        }
        return false;
    }

    private static String roleNames(List<? extends Agent> agents) {
        return agents.size() == 1
                ? AgentDispatch.roleName(agents.getFirst())
                : agents.stream().map(AgentDispatch::roleName).toList().toString();
    }

    @Override
    public long workerCpuMask() {
        return cpus.mask();
    }

    @Override
    public IdleStrategyKind idleStrategy() {
        return kind;
    }

    @Override
    public Swap idleStrategy(IdleStrategyKind next) {
        synchronized (changes) {
            kind = next;
            return change("idle " + next.configName(), workers, current(), true, List.of());
        }
    }

    /**
     * Device waits handed off ({@code true}: a worker whose agent blocks in a device wait lends its other agents to its
     * stand-in thread meanwhile) or waited inline (the paper's synchronous polling: the worker's other agents wait).
     * Takes effect at the next device wait; no agent moves for it, so the swap's pause is 0.
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

    /** A fresh idle strategy of the current kind for a stand-in, with a short spin ({@link IdleSettings#forStandIn}). */
    IdleStrategy newIdleStrategy() {
        return settings.forStandIn().create(kind);
    }

    @Override
    public Swap workers(int count) {
        checkWorkers(count);
        synchronized (changes) {
            List<PollingWorker> spare = standbyWorkers(count - workers.size());
            Map<PollingWorker, Agent[]> target = resized(count, spare);
            return change("workers " + count, List.copyOf(target.keySet()), target, false, spare);
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
            Map<PollingWorker, Agent[]> target = current();
            Agent[] from = target.get(busiest);
            Agent moved = from[from.length - 1];
            target.put(busiest, Arrays.copyOf(from, from.length - 1));
            target.put(idlest, append(target.get(idlest), moved));
            return change(
                    String.format(
                            Locale.ROOT,
                            "rebalance %s: %s (%.0f%%) -> %s (%.0f%%)",
                            AgentDispatch.roleName(moved),
                            busiest.name,
                            most * 100,
                            idlest.name,
                            least * 100),
                    workers,
                    target,
                    false,
                    List.of());
        }
    }

    /**
     * The load manager's step (uFS's dynamic thread scaling): from the workers' utilisation since the previous call,
     * adds a worker when every worker was busier than {@code addAbove} (0 to 1) and there are more agents than
     * workers, up to {@code maxWorkers}; removes one when the others could have carried the whole load below
     * {@code removeBelow} each, once that has held for {@code calmSteps} calls in a row, down to one. Returns the
     * change, or null when the count stays.
     */
    Swap scale(int maxWorkers, double addAbove, double removeBelow, int calmSteps) {
        int target;
        String why;
        synchronized (changes) {
            if (closed) {
                return null;
            }
            long now = System.nanoTime();
            List<PollingWorker> ws = workers;
            double total = 0;
            double least = 2;
            int agents = 0;
            for (PollingWorker w : ws) {
                long busy = w.busyNanos;
                double u = Math.min(1.0, (double) (busy - w.scaleBusyNanos) / Math.max(1, now - w.scaleAtNanos));
                w.scaleBusyNanos = busy;
                w.scaleAtNanos = now;
                total += u;
                least = Math.min(least, u);
                agents += w.agents.length;
            }
            int n = ws.size();
            if (n < maxWorkers && n < agents && least > addAbove) {
                calm = 0;
                target = n + 1;
            } else if (n > 1 && total < removeBelow * (n - 1)) {
                if (++calm < calmSteps) {
                    return null;
                }
                calm = 0;
                target = n - 1;
            } else {
                calm = 0;
                return null;
            }
            why = String.format(Locale.ROOT, " (load %.0f%% of %d)", total * 100, n);
            List<PollingWorker> spare = standbyWorkers(target - n);
            Map<PollingWorker, Agent[]> next = resized(target, spare);
            return change("scale workers " + target + why, List.copyOf(next.keySet()), next, false, spare);
        }
    }

    /** Consecutive {@link #scale} steps that found the load low enough to remove a worker; under {@link #changes}. */
    private int calm;

    /** Applies a whole configuration in one change: strategy settings, strategy, worker count and device waits. */
    Swap configure(int count, IdleStrategyKind next, IdleSettings nextSettings, boolean handoff) {
        checkWorkers(count);
        synchronized (changes) {
            handoffDeviceWaits = handoff;
            settings = nextSettings;
            kind = next;
            List<PollingWorker> spare = standbyWorkers(count - workers.size());
            Map<PollingWorker, Agent[]> target = resized(count, spare);
            return change(
                    "configure workers " + count + ", idle " + next.configName() + ", devicewait "
                            + deviceWaitName(handoff),
                    List.copyOf(target.keySet()),
                    target,
                    true,
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
                        Arrays.stream(w.agents).map(AgentDispatch::roleName).toList(),
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

    /** Stops every worker (at its agent boundary) and waits for their threads; agents still attached stay open. */
    @Override
    public void close() {
        List<PollingWorker> stopped;
        synchronized (changes) {
            if (closed) {
                return;
            }
            stopped = workers;
            for (PollingWorker w : stopped) {
                if (w.agents.length > 0) {
                    LOG.warn(
                            "{} stops with agents still attached: {}",
                            w.name,
                            Arrays.stream(w.agents).map(AgentDispatch::roleName).toList());
                }
            }
            change("stop", List.of(), new LinkedHashMap<>(), false, List.of());
            closed = true;
        }
        awaitEnded(stopped);
    }

    /** Under {@link #changes}: the agents each worker drives now, in worker order (a copy to edit into a target). */
    private Map<PollingWorker, Agent[]> current() {
        Map<PollingWorker, Agent[]> m = new LinkedHashMap<>();
        for (PollingWorker w : workers) {
            m.put(w, w.agents);
        }
        return m;
    }

    /**
     * Under {@link #changes}: makes {@code next} the workers, each driving the agents {@code target} gives it, hands
     * every worker a fresh strategy of the current kind if {@code newStrategies}, and records the change with its pause
     * (the longest time a moved agent went undriven). {@code spare} are standby workers (threads already started, so
     * that no thread start falls in a change); those not in {@code next} are retired, as are current workers not in it.
     */
    private Swap change(
            String what,
            List<PollingWorker> next,
            Map<PollingWorker, Agent[]> target,
            boolean newStrategies,
            List<PollingWorker> spare) {
        if (closed) {
            throw new IllegalStateException("the thread model is stopped");
        }
        long pause = hand(next, target, newStrategies, spare);
        return record(new Swap(System.currentTimeMillis(), what, pause));
    }

    /** Posts a change to the workers (see the class comment); returns the longest gap of a moved agent, ns. */
    private long hand(
            List<PollingWorker> next,
            Map<PollingWorker, Agent[]> target,
            boolean newStrategies,
            List<PollingWorker> spare) {
        List<PollingWorker> before = workers;
        Map<Agent, PollingWorker> source = new IdentityHashMap<>();
        for (PollingWorker w : before) {
            for (Agent a : w.agents) {
                source.put(a, w);
            }
        }
        Map<PollingWorker, List<PollingWorker>> sourcesOf = new IdentityHashMap<>();
        Map<PollingWorker, List<PollingWorker>> receiversOf = new IdentityHashMap<>();
        for (PollingWorker w : next) {
            for (Agent a : target.get(w)) {
                PollingWorker from = source.get(a);
                if (from != null && from != w) {
                    addOnce(sourcesOf, w, from);
                    addOnce(receiversOf, from, w);
                }
            }
        }
        // First post: workers that give agents up (all of them when they leave) or change strategy take their reduced
        // set; workers that receive agents take their full set as soon as the givers have given them up, woken by
        // them, so that the changing thread's own wake-up is not on the path. A worker that both gives and receives
        // (not made by the changes above, but cheap to handle) takes its reduced set first and the rest afterwards.
        List<PollingWorker> posted = new ArrayList<>();
        List<PollingWorker> secondPost = new ArrayList<>();
        for (PollingWorker w : before) {
            boolean leaving = !next.contains(w);
            List<Agent> stays = leaving ? List.of() : Arrays.asList(target.get(w));
            Agent[] keep = Arrays.stream(w.agents).filter(stays::contains).toArray(Agent[]::new);
            boolean gives = keep.length != w.agents.length;
            boolean receives = sourcesOf.containsKey(w);
            if ((leaving || gives || newStrategies) && (!receives || gives)) {
                IdleStrategy strategy = newStrategies ? settings.create(kind) : w.idle;
                w.post(keep, strategy, leaving, List.of(), receiversOf.getOrDefault(w, List.of()));
                posted.add(w);
                if (receives) {
                    secondPost.add(w);
                }
            }
        }
        for (PollingWorker w : next) {
            Agent[] mine = target.get(w);
            List<PollingWorker> after = sourcesOf.getOrDefault(w, List.of());
            if (spare.contains(w)) {
                w.post(mine, settings.create(kind), false, after, List.of());
                w.join();
                posted.add(w);
            } else if (!posted.contains(w) && (newStrategies || !Arrays.equals(mine, w.agents))) {
                w.post(mine, newStrategies ? settings.create(kind) : w.idle, false, after, List.of());
                posted.add(w);
            }
        }
        for (PollingWorker w : spare) {
            if (!next.contains(w)) {
                w.post(NO_AGENTS, w.idle, true, List.of(), List.of());
                w.join();
            }
        }
        awaitTaken(posted);
        Map<PollingWorker, Long> takenAt = new IdentityHashMap<>();
        for (PollingWorker w : posted) {
            takenAt.put(w, w.takenAtNanos);
        }
        for (PollingWorker w : secondPost) {
            w.post(target.get(w), w.idle, false, List.of(), List.of());
        }
        awaitTaken(secondPost);
        for (PollingWorker w : secondPost) {
            takenAt.put(w, w.takenAtNanos);
        }
        for (PollingWorker w : next) {
            w.driving(target.get(w));
        }
        workers = List.copyOf(next);
        long pause = 0;
        for (PollingWorker w : next) {
            for (Agent a : target.get(w)) {
                PollingWorker from = source.get(a);
                if (from != null && from != w && !secondPost.contains(from)) {
                    pause = Math.max(pause, takenAt.get(w) - takenAt.get(from));
                }
            }
        }
        return pause;
    }

    private static void addOnce(Map<PollingWorker, List<PollingWorker>> m, PollingWorker key, PollingWorker value) {
        List<PollingWorker> ws = m.computeIfAbsent(key, k -> new ArrayList<>());
        if (!ws.contains(value)) {
            ws.add(value);
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
     * Waits until every worker in {@code ws} has taken what was posted to it, waking those that sleep (again each
     * millisecond). It spins briefly, then parks until a worker that takes its post unparks it: on a crowded machine
     * a spinning or yielding waiter would take the CPU from the very workers it waits for.
     */
    private void awaitTaken(List<PollingWorker> ws) {
        if (ws.isEmpty()) {
            return;
        }
        changer = Thread.currentThread();
        try {
            long rewakeAt = System.nanoTime() + REWAKE_NANOS;
            for (int round = 0; ; round++) {
                boolean all = true;
                for (PollingWorker w : ws) {
                    all &= w.taken() || !w.thread.isAlive();
                }
                if (all) {
                    return;
                }
                long now = System.nanoTime();
                if (now - rewakeAt >= 0) {
                    for (PollingWorker w : ws) {
                        if (!w.taken()) {
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
        } finally {
            changer = null;
        }
    }

    /**
     * Under {@link #changes}: the agents of each worker after a change to {@code count} workers, in worker order:
     * workers beyond {@code count} leave, standby ones from {@code spare} are added, and the agents are spread so that
     * worker {@code i} holds {@code total / count} of them, one more for the first {@code total % count}; an agent
     * stays on its worker when it can.
     */
    private Map<PollingWorker, Agent[]> resized(int count, List<PollingWorker> spare) {
        List<PollingWorker> ws = new ArrayList<>(workers);
        Map<PollingWorker, List<Agent>> plan = new LinkedHashMap<>();
        for (PollingWorker w : ws) {
            plan.put(w, new ArrayList<>(List.of(w.agents)));
        }
        List<Agent> homeless = new ArrayList<>();
        while (ws.size() > count) {
            homeless.addAll(plan.remove(ws.removeLast()));
        }
        for (PollingWorker w : spare.subList(0, Math.max(0, count - ws.size()))) {
            ws.add(w);
            plan.put(w, new ArrayList<>());
        }
        int total = homeless.size();
        for (List<Agent> as : plan.values()) {
            total += as.size();
        }
        for (int i = 0; i < ws.size(); i++) {
            List<Agent> as = plan.get(ws.get(i));
            int share = total / count + (i < total % count ? 1 : 0);
            while (as.size() > share) {
                homeless.add(as.removeLast());
            }
        }
        Map<PollingWorker, Agent[]> target = new LinkedHashMap<>();
        for (int i = 0; i < ws.size(); i++) {
            List<Agent> as = plan.get(ws.get(i));
            int share = total / count + (i < total % count ? 1 : 0);
            while (as.size() < share) {
                as.add(homeless.removeLast());
            }
            target.put(ws.get(i), as.toArray(Agent[]::new));
        }
        return target;
    }

    /**
     * Under {@link #changes}: starts {@code n} worker threads (none when {@code n <= 0}) that wait until
     * {@linkplain PollingWorker#join joined}, so that a thread start, which can take milliseconds on a busy machine,
     * never falls in a change.
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
