package org.fsp.sched;

import java.util.concurrent.locks.LockSupport;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;

/**
 * Spin, then yield, then park the thread for doubling times from {@value #MIN_PARK_NANOS} ns up to
 * {@code maxParkNanos} (Agrona's {@code BackoffIdleStrategy}). Nothing a client does wakes a parked worker: the first
 * request after a quiet spell waits up to {@code maxParkNanos}. Work starts it over.
 */
final class BackoffIdleStrategy implements IdleStrategy {

    static final long MIN_PARK_NANOS = 1_000;

    private final int spins;
    private final int yields;
    private final long maxParkNanos;
    private int count;
    private long parkNanos = MIN_PARK_NANOS;

    BackoffIdleStrategy(int spins, int yields, long maxParkNanos) {
        this.spins = spins;
        this.yields = yields;
        this.maxParkNanos = Math.max(MIN_PARK_NANOS, maxParkNanos);
    }

    @Override
    public void idle(Agent agent, int workCount) {
        if (workCount > 0) {
            reset();
        } else if (count < spins) {
            count++;
            Thread.onSpinWait();
        } else if (count < spins + yields) {
            count++;
            Thread.yield();
        } else {
            LockSupport.parkNanos(parkNanos);
            parkNanos = Math.min(parkNanos * 2, maxParkNanos);
        }
    }

    @Override
    public void reset() {
        count = 0;
        parkNanos = MIN_PARK_NANOS;
    }
}
