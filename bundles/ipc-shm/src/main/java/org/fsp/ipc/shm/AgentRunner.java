package org.fsp.ipc.shm;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one {@link Agent} on its own platform thread with an {@link IdleStrategy} until closed. A failure in one
 * {@code doWork()} or one idle step is logged and the loop goes on: one bad request must not stop a worker that serves
 * many clients.
 */
final class AgentRunner implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AgentRunner.class);

    private final Agent agent;
    private final IdleStrategy idle;
    private final Thread thread;
    private volatile boolean running = true;

    AgentRunner(Agent agent, IdleStrategy idle) {
        this.agent = agent;
        this.idle = idle;
        this.thread =
                Thread.ofPlatform().daemon().name("fsp-" + agent.roleName()).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    private void run() {
        while (running) {
            try {
                idle.idle(agent, agent.doWork());
            } catch (RuntimeException | Error e) {
                LOG.error("{} failed; continuing", agent.roleName(), e);
                idle.reset();
            }
        }
        agent.onClose();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        agent.wakeUp();
        thread.join(5_000);
    }
}
