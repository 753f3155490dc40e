package org.fsp.sched;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;

/** Never leaves the CPU: a spin-wait hint after each empty {@code doWork()}. The lowest latency a worker can offer. */
final class BusySpinIdleStrategy implements IdleStrategy {

    @Override
    public void idle(Agent agent, int workCount) {
        if (workCount == 0) {
            Thread.onSpinWait();
        }
    }

    @Override
    public void reset() {}
}
