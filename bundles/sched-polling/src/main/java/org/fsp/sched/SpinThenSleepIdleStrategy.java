package org.fsp.sched;

import java.util.function.LongSupplier;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategy;

/**
 * The paper's two-phase wait: spin, then yield, then {@link Agent#sleep} for up to {@code maxSleepNanos}. An agent
 * whose work arrives through futex words (a lane worker and its lanes' doorbells) sleeps on them, so the client that
 * posts to a sleeping lane wakes the worker at once and an idle worker costs next to no CPU. Only work starts it
 * over: a sleep that ends without work (time-out, or a wake-up for a change) is followed by another sleep.
 *
 * <p>The spin phase adapts to what idling taught, as a competitive spinner does (Karlin et al.; Shenango's workers):
 * it lasts between {@code spins / 64} and {@code spins} rounds, halved when work came long after the worker had gone
 * to sleep (spinning was wasted: on a machine without spare cores it only took the core a client needed to send
 * that work), doubled when work came just after (a little more spin would have caught it), and grown by 1/16 when the
 * spin caught it. The clock is read only when the worker turns idle, goes to sleep, and finds work after sleeping.
 */
final class SpinThenSleepIdleStrategy implements IdleStrategy {

    /**
     * What a futex wake-up and the scheduler add before a slept worker sees work, about: work that came within this of
     * the spin's end counts as "just after", so that a short spin grows back where clients sleep too.
     */
    static final long WAKE_NANOS = 50_000;

    private final int maxSpins;
    private final int minSpins;
    private final int yields;
    private final long maxSleepNanos;
    private final LongSupplier clock;
    /** The spin phase now, rounds, between {@link #minSpins} and {@link #maxSpins}. */
    private int spins;

    private int count;
    /** Clock when the worker turned idle (its first round without work), 0 while it works. */
    private long idleSince;
    /** How long the spin and yield phases lasted before the last sleep, ns; 0 if it has not slept since it idled. */
    private long spunNanos;

    SpinThenSleepIdleStrategy(int spins, int yields, long maxSleepNanos) {
        this(spins, yields, maxSleepNanos, System::nanoTime);
    }

    SpinThenSleepIdleStrategy(int spins, int yields, long maxSleepNanos, LongSupplier clock) {
        this.maxSpins = spins;
        this.minSpins = Math.min(spins, Math.max(1, spins / 64));
        this.spins = spins;
        this.yields = yields;
        this.maxSleepNanos = maxSleepNanos;
        this.clock = clock;
    }

    @Override
    public void idle(Agent agent, int workCount) {
        if (workCount > 0) {
            if (idleSince != 0) {
                learn();
            }
            count = 0;
        } else if (count < spins) {
            if (count == 0) {
                idleSince = clock.getAsLong();
                spunNanos = 0;
            }
            count++;
            Thread.onSpinWait();
        } else if (count < spins + yields) {
            count++;
            Thread.yield();
        } else {
            if (spunNanos == 0) {
                spunNanos = Math.max(1, clock.getAsLong() - idleSince);
            }
            // No reset after a sleep that ended without work: spinning again every maxSleepNanos would cost an idle
            // worker a spin phase per sleep; a doorbell wakes it anyway.
            AgentDispatch.sleep(agent, maxSleepNanos);
        }
    }

    /** Work came after an idle spell that began at {@link #idleSince}: adapts the spin phase to it. */
    private void learn() {
        long next;
        if (spunNanos == 0) {
            next = spins + Math.max(1, spins >> 4);
        } else if (clock.getAsLong() - idleSince < 2 * spunNanos + WAKE_NANOS) {
            next = 2L * spins;
        } else {
            next = spins / 2;
        }
        spins = (int) Math.max(minSpins, Math.min(maxSpins, next));
        idleSince = 0;
        spunNanos = 0;
    }

    /** The spin phase now, rounds (for tests). */
    int spins() {
        return spins;
    }

    @Override
    public void reset() {
        count = 0;
        idleSince = 0;
        spunNanos = 0;
    }
}
