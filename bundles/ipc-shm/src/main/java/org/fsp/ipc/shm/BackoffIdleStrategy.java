package org.fsp.ipc.shm;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;

/**
 * Spin, then yield, then let the agent sleep (on its futex words): the two-phase wait of the paper, with a short
 * middle phase. Only work resets it to spinning; a sleep that ends without work is followed by another sleep.
 */
final class BackoffIdleStrategy implements IdleStrategy {

    private final int spins;
    private final int yields;
    private final long maxSleepNanos;
    private int count;

    BackoffIdleStrategy(int spins, int yields, long maxSleepNanos) {
        this.spins = spins;
        this.yields = yields;
        this.maxSleepNanos = maxSleepNanos;
    }

    @Override
    public void idle(Agent agent, int workCount) {
        if (workCount > 0) {
            count = 0;
            return;
        }
        if (count < spins) {
            count++;
            Thread.onSpinWait();
        } else if (count < spins + yields) {
            count++;
            Thread.yield();
        } else {
            // No reset after a sleep that ended without work: a spin phase per time-out would be most of an idle
            // worker's CPU; a doorbell wakes it anyway.
            agent.sleep(maxSleepNanos);
        }
    }

    @Override
    public void reset() {
        count = 0;
    }
}
