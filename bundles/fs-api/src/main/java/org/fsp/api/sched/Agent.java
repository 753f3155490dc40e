package org.fsp.api.sched;

import java.util.concurrent.locks.LockSupport;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A unit of polling work that a thread model drives: a typical sequence is {@code doWork()} in a loop on one thread,
 * with the thread's {@link IdleStrategy} consulted after each call, and {@link #onClose()} once at the end. An agent is
 * driven by one thread at a time; it need not be thread-safe apart from {@link #wakeUp()}.
 */
@ConsumerType
public interface Agent {

    /** Does whatever work is ready without blocking; returns how much (0 means nothing was ready). */
    int doWork();

    /** A short name for thread names and statistics, e.g. {@code "shm-worker-0"}. */
    String roleName();

    /**
     * Sleeps until work may be ready or at most {@code maxNanos}, for the last phase of an idle strategy. The default
     * parks the thread; an agent whose work arrives through futex words overrides it to sleep on them, so that a
     * submission wakes it at once. Returning early is always allowed.
     */
    default void sleep(long maxNanos) {
        LockSupport.parkNanos(maxNanos);
    }

    /** Ends a {@link #sleep} early, from any thread (e.g. when the agent's set of work sources changed). */
    default void wakeUp() {}

    /** Called once on the driving thread after the last {@code doWork()}. */
    default void onClose() {}
}
