package org.fsp.sched;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;

/**
 * The paper's two-phase wait: spin, then yield, then {@link Agent#sleep} for up to {@code maxSleepNanos}. An agent
 * whose work arrives through futex words (a lane worker and its lanes' doorbells) sleeps on them, so the client that
 * posts to a sleeping lane wakes the worker at once and an idle worker costs next to no CPU. Work starts it over.
 */
final class SpinThenSleepIdleStrategy implements IdleStrategy {

    private final int spins;
    private final int yields;
    private final long maxSleepNanos;
    private int count;

    SpinThenSleepIdleStrategy(int spins, int yields, long maxSleepNanos) {
        this.spins = spins;
        this.yields = yields;
        this.maxSleepNanos = maxSleepNanos;
    }

    @Override
    public void idle(Agent agent, int workCount) {
        if (workCount > 0) {
            count = 0;
        } else if (count < spins) {
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
