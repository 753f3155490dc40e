package org.fsp.sched;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.ManagedBlocking;

/**
 * A test double agent whose next {@code doWork()} after {@link #arm()} blocks as an fsync does in the block scheduler:
 * it announces the wait through {@link ManagedBlocking}, waits until {@link #completeDeviceWait()}, and ends it.
 */
final class BlockingAgentDouble implements Agent {

    final String name;
    final CountDownLatch blocked = new CountDownLatch(1);
    final AtomicInteger requestsDone = new AtomicInteger();
    private final CountDownLatch device = new CountDownLatch(1);
    private volatile boolean armed;

    BlockingAgentDouble(String name) {
        this.name = name;
    }

    /** The next doWork() waits on the device. */
    void arm() {
        armed = true;
    }

    void completeDeviceWait() {
        device.countDown();
    }

    @Override
    public int doWork() {
        if (!armed) {
            return 0;
        }
        armed = false;
        ManagedBlocking.begin();
        try {
            blocked.countDown();
            if (!device.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the device wait was never completed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            ManagedBlocking.end();
        }
        requestsDone.incrementAndGet();
        return 1;
    }

    @Override
    public String roleName() {
        return name;
    }
}
