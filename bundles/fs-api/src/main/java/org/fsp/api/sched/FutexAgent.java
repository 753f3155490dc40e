package org.fsp.api.sched;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * An agent whose sleep is a wait on futex words (a lane's doorbell that the client rings, a private wake word), so
 * that a thread driving several such agents sleeps on all their words at once with one {@code futex_waitv} instead of
 * polling them. A typical sequence on the driving thread: {@link #beginSleep} of each agent into one wait set, the
 * wait, {@link #endSleep()} of each agent whose {@code beginSleep} was called.
 */
@ConsumerType
public interface FutexAgent extends Agent {

    /**
     * Marks the agent's words as slept on and adds them to {@code waitSet}. Returns false when the thread must not
     * sleep: work is ready already, a {@link #wakeUp()} came, or the set is full.
     */
    boolean beginSleep(FutexWaitSet waitSet);

    /** Ends a sleep begun with {@link #beginSleep} (whatever it returned), e.g. marks the doorbells awake again. */
    void endSleep();
}
