package org.fsp.ipc.shm;

import org.fsp.api.sched.Agent;

/**
 * A test double's stand-in for sched-polling's AgentCalls: wraps an agent so that a runner thread that outlives it
 * calls it from interpreted code only (this module's test JVM excludes this class from compilation, see its pom).
 * Without it, the runner of one server generation is compiled with a type profile that names the previous
 * generation's agent class, and that compiled frame, on the stack for the runner's life, keeps the previous
 * generation's class loader alive.
 */
final class InterpretedAgentCallsDouble implements Agent {

    private final Agent agent;

    InterpretedAgentCallsDouble(Agent agent) {
        this.agent = agent;
    }

    @Override
    public int doWork() {
        return agent.doWork();
    }

    @Override
    public String roleName() {
        return agent.roleName();
    }

    @Override
    public void sleep(long maxNanos) {
        agent.sleep(maxNanos);
    }

    @Override
    public void wakeUp() {
        agent.wakeUp();
    }

    @Override
    public void onClose() {
        agent.onClose();
    }
}
