package org.fsp.ipc.shm;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;

/**
 * Spin, then yield, then let the agent sleep (on its futex words): the two-phase wait of the paper, with a short
 * middle phase. Work resets it to spinning.
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
            agent.sleep(maxSleepNanos);
            count = 0;
        }
    }

    @Override
    public void reset() {
        count = 0;
    }
}
