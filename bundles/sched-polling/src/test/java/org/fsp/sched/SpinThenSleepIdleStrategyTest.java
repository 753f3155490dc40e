package org.fsp.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.fsp.api.sched.Agent;
import org.junit.jupiter.api.Test;

/** The idle strategy's spin phase, driven by a clock of the test's own so that every case is exact. */
class SpinThenSleepIdleStrategyTest {

    private static final int SPINS = 6_400;
    private static final int YIELDS = 2;

    private long now = 1_000;
    private final AtomicInteger sleeps = new AtomicInteger();
    private final Agent agent = new Agent() {
        @Override
        public int doWork() {
            return 0;
        }

        @Override
        public String roleName() {
            return "test";
        }

        @Override
        public void sleep(long maxNanos) {
            sleeps.incrementAndGet();
        }
    };
    private final SpinThenSleepIdleStrategy idle = new SpinThenSleepIdleStrategy(SPINS, YIELDS, 1_000_000, () -> now);

    /** Idles until the strategy sleeps once (the spin and yield phases take {@code spinNanos} of clock). */
    private void idleUntilAsleep(long spinNanos) {
        int before = sleeps.get();
        idle.idle(agent, 0);
        now += spinNanos;
        while (sleeps.get() == before) {
            idle.idle(agent, 0);
        }
    }

    @Test
    void shouldSpinLessWhenWorkComesLongAfterTheWorkerWentToSleep() {
        for (int i = 0; i < 6; i++) {
            idleUntilAsleep(100_000);
            now += 5_000_000; // the next request comes 5 ms later: the spin only took a core
            idle.idle(agent, 1);
        }
        assertEquals(SPINS / 64, idle.spins(), "down to the floor");
    }

    @Test
    void shouldSpinMoreWhenWorkComesJustAfterTheSleepOrDuringTheSpin() {
        for (int i = 0; i < 6; i++) {
            idleUntilAsleep(100_000);
            now += 1_000_000;
            idle.idle(agent, 1);
        }
        int low = idle.spins();
        idleUntilAsleep(100_000);
        now += 10_000; // just after: a little more spin would have caught it
        idle.idle(agent, 1);
        assertEquals(2 * low, idle.spins());
        for (int i = 0; i < 200; i++) {
            idle.idle(agent, 0);
            now += 1_000;
            idle.idle(agent, 1); // caught while spinning
        }
        assertEquals(SPINS, idle.spins(), "back to the ceiling, never above");
        assertTrue(sleeps.get() >= 7);
    }
}
