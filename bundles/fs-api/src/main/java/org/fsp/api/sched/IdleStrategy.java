package org.fsp.api.sched;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * What a thread does after an {@link Agent}'s {@code doWork()}: nothing when work was done (and the strategy starts
 * over), otherwise the next step of its backoff, e.g. spin, then yield, then {@link Agent#sleep}. One instance per
 * thread.
 */
@ConsumerType
public interface IdleStrategy {

    /** Called after each {@code doWork()} with the work it returned. */
    void idle(Agent agent, int workCount);

    /** Starts the backoff over, as after work. */
    void reset();
}
