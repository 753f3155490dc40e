package org.fsp.api.sched;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The thread model of the FS process: worker threads that drive {@link Agent}s (a layer's polling work, e.g. the IPC
 * front end's lane workers) with an {@link IdleStrategyKind idle strategy}. A layer attaches its agents when the
 * service appears and detaches them before it goes; in between the thread model may move them between its workers.
 *
 * <p>A typical sequence is: {@link #attach} each agent, the shell calls {@link #idleStrategy(IdleStrategyKind)} or
 * {@link #workers(int)} while clients run, {@link #detach} each agent.
 *
 * <p>Every change is made at the agent boundary: an agent that moves is given up by its worker between two
 * {@code doWork()} calls and only then driven by its new one, so requests in flight finish and new ones wait in their
 * rings; agents that do not move need not stop. The longest time an agent went undriven because of the change is its
 * {@link Swap#pauseNanos() pause}. No method that changes something may be called from an agent's {@code doWork()} or
 * {@code sleep}: it would wait for its own worker.
 *
 * <p>Ownership: the thread model owns its threads, and a thread that ran an agent never outlives that agent's
 * detach. {@link #detach} and {@link #detachAll} return only once no thread that ran a detached agent can run it
 * again: the model ends every thread that ran it (new threads serve the agents that stay), so that nothing on such a
 * thread's stack (a frame, compiled code that names the agent's classes) keeps the agent's bundle loaded after the
 * bundle is replaced. The model's threads hold nothing of the threads that asked for them (no inherited
 * thread-locals, no context class loader of a bundle), and an ended thread keeps no reference to the agents
 * it ran.
 */
@ProviderType
public interface ThreadModel {

    /** One worker thread as the shell shows it. */
    record WorkerInfo(String name, List<String> agents, double utilisation, long work) {

        /**
         * @param name the thread's name
         * @param agents {@link Agent#roleName()} of each agent it drives
         * @param utilisation fraction of wall time spent in {@code doWork()} calls that found work, since the previous
         *     reading (0 to 1)
         * @param work units of work done since the worker started (e.g. requests served)
         */
        public WorkerInfo {
            agents = List.copyOf(agents);
        }
    }

    /** A change made at the agent boundary and the longest time an agent went undriven for it. */
    record Swap(long atMillis, String change, long pauseNanos) {}

    /**
     * Starts driving {@code agent} on the least loaded worker. From the call on, {@code doWork()} may run on a worker
     * thread; the agent's owner keeps it alive until {@link #detach}.
     */
    void attach(Agent agent);

    /**
     * Stops driving {@code agent}: when this returns, no {@code doWork()} of it runs and none will, every thread that
     * ran it has ended, and {@link Agent#onClose()} has been called on the calling thread. Unknown agents are ignored.
     */
    void detach(Agent agent);

    /**
     * {@link #attach} of each of {@code agents}, as one change: a layer that moves its agents from one thread model to
     * another (a live upgrade of the thread model) waits for one agent boundary, not one per agent.
     */
    default void attachAll(List<? extends Agent> agents) {
        agents.forEach(this::attach);
    }

    /**
     * {@link #detach} of each of {@code agents}, as one change; when this returns none of them runs, every thread that
     * ran one of them has ended, and each one's {@link Agent#onClose()} has been called.
     */
    default void detachAll(List<? extends Agent> agents) {
        agents.forEach(this::detach);
    }

    /**
     * The CPUs the workers are pinned to, one each (bit i: CPU i, 0-63), or 0 when none is: the IPC layer publishes
     * it so that clients keep their threads off those CPUs. It can change when workers are added or removed.
     */
    default long workerCpuMask() {
        return 0;
    }

    /** The idle strategy every worker uses. */
    IdleStrategyKind idleStrategy();

    /** Switches every worker to {@code kind} at the agent boundary; returns the pause. */
    Swap idleStrategy(IdleStrategyKind kind);

    /** The workers, with their agents and load. */
    List<WorkerInfo> workers();

    /**
     * Changes the number of worker threads at the agent boundary, redistributing the agents over them; returns the
     * pause.
     */
    Swap workers(int count);

    /** The most recent changes, oldest first (a bounded history). */
    List<Swap> recentSwaps();
}
