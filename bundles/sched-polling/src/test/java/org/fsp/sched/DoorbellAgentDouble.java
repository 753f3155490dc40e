package org.fsp.sched;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;
import org.fsp.linux.Futex;

/**
 * A test double futex agent with a doorbell word as a lane has: it sleeps with the doorbell rung in (1), and
 * {@link #post} wakes it through the doorbell only, as a client posting to a sleeping lane does.
 */
final class DoorbellAgentDouble implements FutexAgent {

    private static final VarHandle INT = JAVA_INT.varHandle();

    final String name;
    final MemorySegment doorbell = Arena.ofAuto().allocate(4, 4);
    final AtomicLong pending = new AtomicLong();
    final AtomicLong done = new AtomicLong();
    final AtomicInteger sleepsBegun = new AtomicInteger();
    private volatile boolean woken;

    DoorbellAgentDouble(String name) {
        this.name = name;
    }

    @Override
    public int doWork() {
        if (pending.get() > 0) {
            pending.decrementAndGet();
            done.incrementAndGet();
            return 1;
        }
        return 0;
    }

    @Override
    public String roleName() {
        return name;
    }

    @Override
    public boolean beginSleep(FutexWaitSet waitSet) {
        sleepsBegun.incrementAndGet();
        INT.setVolatile(doorbell, 0L, 1);
        VarHandle.fullFence();
        return !woken && pending.get() == 0 && waitSet.add(doorbell, 1, true);
    }

    @Override
    public void endSleep() {
        INT.setVolatile(doorbell, 0L, 0);
        woken = false;
    }

    @Override
    public void wakeUp() {
        woken = true;
        ring();
    }

    boolean sleeping() {
        return (int) INT.getVolatile(doorbell, 0L) == 1;
    }

    /** Adds work, then rings the doorbell if it is rung in (store, fence, load: the other half of the Dekker pair). */
    void post(long units) {
        pending.addAndGet(units);
        VarHandle.fullFence();
        ring();
    }

    /**
     * As a client does: flips the doorbell from rung-in to awake before the wake, so that a sleeper that has not yet
     * entered futex_waitv finds the word changed and does not sleep.
     */
    private void ring() {
        if ((int) INT.getVolatile(doorbell, 0L) == 1 && INT.compareAndSet(doorbell, 0L, 1, 0)) {
            Futex.wake(doorbell, 1, true);
        }
    }
}
