package org.fsp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The waiters' two-phase wait: how the spin budget follows what waiting taught. */
class ChannelProxyTest {

    private static final long MAX = ChannelProxy.SPIN_NANOS;
    private static final long MIN = ChannelProxy.MIN_SPIN_NANOS;

    @Test
    void shouldStopSpinningAlmostAtOnceWhenAnswersComeLongAfterTheSpinGaveUp() {
        long budget = MAX;
        int waits = 0;
        // An oversubscribed machine: the worker is not running, every answer takes a millisecond.
        while (budget > MIN) {
            budget = ChannelProxy.nextSpinNanos(budget, budget, true, 1_000_000);
            waits++;
        }
        assertEquals(MIN, budget);
        assertTrue(waits <= 6, "down to the floor in " + waits + " waits");
        assertEquals(MIN, ChannelProxy.nextSpinNanos(MIN, MIN, true, 1_000_000), "never below the floor");
    }

    @Test
    void shouldSpinLongerAgainWhenAnswersComeJustAfterTheSpinOrWithinIt() {
        assertEquals(2 * MIN, ChannelProxy.nextSpinNanos(MIN, MIN, true, MIN + 500), "just missed: double");
        long budget = MIN;
        for (int i = 0; i < 200 && budget < MAX; i++) {
            budget = ChannelProxy.nextSpinNanos(budget, budget, false, 1_000);
        }
        assertEquals(MAX, budget, "answers caught by the spin grow it back to the ceiling");
        assertEquals(MAX, ChannelProxy.nextSpinNanos(MAX, MAX, false, 1_000), "never above the ceiling");
    }

    @Test
    void shouldGrowBackFromTheFloorWhenTheAnswerCameWithinAWakeUpOfTheSpin() {
        // The worker slept too: the answer took a wake-up (about 10 us) longer than the spin, not milliseconds.
        assertEquals(2 * MIN, ChannelProxy.nextSpinNanos(MIN, MIN, true, 12_000));
        assertEquals(MIN, ChannelProxy.nextSpinNanos(MIN, MIN, true, 2 * MIN + ChannelProxy.WAKE_NANOS + 1));
    }

    @Test
    void shouldLearnNothingFromAWaiterThatWasNotAllowedToSpin() {
        assertEquals(10_000, ChannelProxy.nextSpinNanos(10_000, 0, true, 5_000_000));
    }

    @Test
    void shouldLeaveACoreToTheServerWhenCountingSpinners() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(Math.max(1, cores - 1), ChannelProxy.MAX_SPINNERS);
    }
}
