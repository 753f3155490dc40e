package org.fsp.sched;

import org.fsp.api.sched.IdleStrategy;
import org.fsp.api.sched.IdleStrategyKind;

/**
 * The tuning shared by the idle strategies, and the factory that makes one strategy instance per worker thread.
 *
 * @param spins busy-spin rounds before a backing-off strategy yields
 * @param yields yields before it parks or sleeps
 * @param maxSleepNanos the longest park ({@code backoff}) or futex sleep ({@code futex}), nanoseconds
 */
record IdleSettings(int spins, int yields, long maxSleepNanos) {

    /** The defaults: 20 000 spins, 50 yields, 1 ms parks for {@code backoff} and 100 ms sleeps for {@code futex}. */
    static final IdleSettings DEFAULTS = new IdleSettings(20_000, 50, 100_000_000L);

    /** Backoff parks at most this long, whatever {@link #maxSleepNanos}: nothing wakes a parked backoff worker. */
    static final long BACKOFF_MAX_PARK_NANOS = 1_000_000L;

    IdleSettings {
        if (spins < 0 || yields < 0 || maxSleepNanos < 1_000) {
            throw new IllegalArgumentException("spins and yields must be >= 0, the sleep >= 1 us: " + this);
        }
    }

    /** Spins and yields of a stand-in at most, whatever the settings. */
    static final int STAND_IN_SPINS = 100;

    static final int STAND_IN_YIELDS = 5;

    /**
     * The settings of a worker's stand-in: a short spin before it sleeps. It runs beside a worker that waits on the
     * device and the kernel threads that complete the request; on few cores a full spin phase per lending took the CPU
     * they need.
     */
    IdleSettings forStandIn() {
        return new IdleSettings(Math.min(spins, STAND_IN_SPINS), Math.min(yields, STAND_IN_YIELDS), maxSleepNanos);
    }

    /** A fresh strategy of {@code kind} for one thread. */
    IdleStrategy create(IdleStrategyKind kind) {
        return switch (kind) {
            case SPIN -> new BusySpinIdleStrategy();
            case BACKOFF -> new BackoffIdleStrategy(spins, yields, Math.min(maxSleepNanos, BACKOFF_MAX_PARK_NANOS));
            case FUTEX -> new SpinThenSleepIdleStrategy(spins, yields, maxSleepNanos);
        };
    }
}
