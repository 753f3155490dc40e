package org.fsp.sched;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;

/**
 * The paper's two-phase wait: spin, then yield, then {@link Agent#sleep} for up to {@code maxSleepNanos}. An agent
 * whose work arrives through futex words (a lane worker and its lanes' doorbells) sleeps on them, so the client that
 * posts to a sleeping lane wakes the worker at once and an idle worker costs next to no CPU. Only work starts it
 * over: a sleep that ends without work (time-out, or a wake-up for a change) is followed by another sleep.
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
            // No reset after a sleep that ended without work: spinning again every maxSleepNanos would cost an idle
            // worker a spin phase per sleep; a doorbell wakes it anyway.
            AgentCalls.sleep(agent, maxSleepNanos);
        }
    }

    @Override
    public void reset() {
        count = 0;
    }
}
