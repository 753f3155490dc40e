package org.fsp.sched;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.sched.Agent;

/**
 * A test double agent: does one unit of work per pending ticket, and records anything that breaks the thread model's
 * promises (two threads in {@code doWork()} at once, a call after {@code onClose()}).
 */
final class CountingAgentDouble implements Agent {

    final String name;
    final AtomicLong pending = new AtomicLong();
    final AtomicLong done = new AtomicLong();
    final AtomicInteger violations = new AtomicInteger();
    final AtomicInteger sleeps = new AtomicInteger();
    final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean inside = new AtomicBoolean();
    private volatile Thread sleeper;

    CountingAgentDouble(String name) {
        this.name = name;
    }

    @Override
    public int doWork() {
        if (!inside.compareAndSet(false, true) || closed.get()) {
            violations.incrementAndGet();
        }
        try {
            if (pending.get() > 0) {
                pending.decrementAndGet();
                done.incrementAndGet();
                return 1;
            }
            return 0;
        } finally {
            inside.set(false);
        }
    }

    @Override
    public String roleName() {
        return name;
    }

    @Override
    public void sleep(long maxNanos) {
        sleeps.incrementAndGet();
        sleeper = Thread.currentThread();
        if (pending.get() == 0) {
            LockSupport.parkNanos(maxNanos);
        }
        sleeper = null;
    }

    @Override
    public void wakeUp() {
        Thread t = sleeper;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public void onClose() {
        closed.set(true);
    }

    /** Adds work and rings this agent, as a client posting to a sleeping lane does. */
    void post(long units) {
        pending.addAndGet(units);
        wakeUp();
    }
}
