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
    private final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger violations = new AtomicInteger();
    private final CountDownLatch device = new CountDownLatch(1);
    private volatile boolean armed;
    /** Waits that end by themselves after this many microseconds (0: only {@link #completeDeviceWait()} ends one). */
    private volatile long selfCompletingMicros;

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

    /** Every doWork() from now on waits {@code micros} on the device, as an fsync-heavy client makes it. */
    void blockEveryCall(long micros) {
        selfCompletingMicros = micros;
    }

    @Override
    public int doWork() {
        if (inside.incrementAndGet() != 1) {
            violations.incrementAndGet();
        }
        try {
            long micros = selfCompletingMicros;
            if (!armed && micros == 0) {
                return 0;
            }
            armed = false;
            ManagedBlocking.begin();
            try {
                blocked.countDown();
                if (micros > 0) {
                    Thread.sleep(0, (int) Math.min(999_999, micros * 1_000));
                } else if (!device.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the device wait was never completed");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                ManagedBlocking.end();
            }
            requestsDone.incrementAndGet();
            return 1;
        } finally {
            inside.decrementAndGet();
        }
    }

    @Override
    public String roleName() {
        return name;
    }
}
