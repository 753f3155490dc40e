package org.fsp.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.FutureTask;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel;

/**
 * A test double thread model for the unit tests of layers that require a {@link ThreadModel} (ipc-shm's, the nio
 * provider's): one thread per attached agent, which calls {@code doWork()} and, after a call that found nothing, lets
 * the agent {@link Agent#sleep} (a lane worker sleeps on its lanes' doorbells, so a client wakes it at once). It keeps
 * the contract's ownership rule: {@link #detach} ends the agent's thread before it returns and calls
 * {@link Agent#onClose()} on the caller, and an ended thread keeps nothing of its agent. It counts attaches and
 * detaches so that a test can see a hand-over happen; it cannot change its worker count or idle strategy.
 */
public final class ThreadPerAgentModelDouble implements ThreadModel {

    /** The longest sleep of an idle agent's thread, ns: a stop request wakes it earlier. */
    private static final long SLEEP_NANOS = 10_000_000L;

    private static final long JOIN_MILLIS = 5_000;

    /** One agent's thread. */
    private static final class Runner implements Runnable {
        private final Agent agent;
        private volatile boolean running = true;

        Runner(Agent agent) {
            this.agent = agent;
        }

        @Override
        public void run() {
            while (running) {
                try {
                    if (agent.doWork() == 0 && running) {
                        agent.sleep(SLEEP_NANOS);
                    }
                } catch (RuntimeException | Error e) {
                    // As a real thread model does: one bad call must not stop the agent; the test sees the failure.
                    System.err.println(agent.roleName() + " failed; continuing: " + e);
                }
            }
        }
    }

    private final Map<Agent, Runner> runners = new ConcurrentHashMap<>();
    private final Map<Agent, Thread> threads = new ConcurrentHashMap<>();
    private volatile int attached;
    private volatile int detached;

    @Override
    public synchronized void attach(Agent agent) {
        if (runners.containsKey(agent)) {
            throw new IllegalArgumentException(agent.roleName() + " is already attached");
        }
        Runner r = new Runner(agent);
        // Through a FutureTask, which drops the runner once it ends, so that a Thread someone keeps holds no agent.
        Thread t = Thread.ofPlatform()
                .daemon()
                .name("fsp-" + agent.roleName())
                .inheritInheritableThreadLocals(false)
                .unstarted(new FutureTask<Void>(r, null));
        runners.put(agent, r);
        threads.put(agent, t);
        attached++;
        t.start();
    }

    @Override
    public synchronized void detach(Agent agent) {
        Runner r = runners.remove(agent);
        Thread t = threads.remove(agent);
        if (r == null) {
            return;
        }
        r.running = false;
        agent.wakeUp();
        try {
            t.join(JOIN_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            throw new IllegalStateException(agent.roleName() + "'s thread did not end within " + JOIN_MILLIS + " ms");
        }
        agent.onClose();
        detached++;
    }

    /** Attaches so far. */
    public int attached() {
        return attached;
    }

    /** Detaches so far (of attached agents). */
    public int detached() {
        return detached;
    }

    /** The agents attached now. */
    public List<Agent> agents() {
        return List.copyOf(runners.keySet());
    }

    /** Ends every agent's thread, as {@link #detach} of each. */
    public void close() {
        agents().forEach(this::detach);
    }

    @Override
    public IdleStrategyKind idleStrategy() {
        return IdleStrategyKind.FUTEX;
    }

    @Override
    public Swap idleStrategy(IdleStrategyKind kind) {
        throw new UnsupportedOperationException("test double");
    }

    @Override
    public List<WorkerInfo> workers() {
        List<WorkerInfo> out = new ArrayList<>();
        runners.keySet().forEach(a -> out.add(new WorkerInfo(a.roleName(), List.of(a.roleName()), 0, 0)));
        return out;
    }

    @Override
    public Swap workers(int count) {
        throw new UnsupportedOperationException("test double");
    }

    @Override
    public List<Swap> recentSwaps() {
        return List.of();
    }
}
