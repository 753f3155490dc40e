package org.fsp.ipc.shm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel;

/**
 * A test double thread model: one {@link AgentRunner} per attached agent, with the server's own spin-yield-sleep
 * strategy. It counts attaches and detaches so that a test can see the hand-over happen; it does not swap anything.
 */
final class ThreadPerAgentModelDouble implements ThreadModel {

    final Map<Agent, AgentRunner> runners = new ConcurrentHashMap<>();
    volatile int attached;
    volatile int detached;

    @Override
    public synchronized void attach(Agent agent) {
        AgentRunner r =
                new AgentRunner(new InterpretedAgentCallsDouble(agent), new BackoffIdleStrategy(100, 5, 10_000_000L));
        runners.put(agent, r);
        attached++;
        r.start();
    }

    @Override
    public synchronized void detach(Agent agent) {
        AgentRunner r = runners.remove(agent);
        if (r == null) {
            return;
        }
        try {
            r.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        detached++;
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
