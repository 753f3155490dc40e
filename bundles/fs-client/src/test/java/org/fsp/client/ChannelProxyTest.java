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
    void shouldJudgeASleptWaitByWhenTheServerAnsweredNotByTheWakeUp() {
        long start = 1_000_000_000L;
        // The answer came 20 us into the wait; the wake-up took another 180 us, as on a VM.
        long waited = ChannelProxy.answeredAfter(start + 20_000, true, start, start + 200_000);
        assertEquals(20_000, waited);
        assertEquals(2 * 10_000, ChannelProxy.nextSpinNanos(10_000, 10_000, true, waited), "a longer spin catches it");
        // Judged by the wake-up the same wait looked too long for spinning.
        assertEquals(10_000 / 2, ChannelProxy.nextSpinNanos(10_000, 10_000, true, 200_000 + ChannelProxy.WAKE_NANOS));
    }

    @Test
    void shouldJudgeByTheWakeUpWhenTheServerGaveNoTimeOrOneOutsideTheWait() {
        long start = 1_000_000_000L;
        long now = start + 200_000;
        assertEquals(200_000, ChannelProxy.answeredAfter(0, true, start, now), "an older server writes 0");
        assertEquals(200_000, ChannelProxy.answeredAfter(start - 5, true, start, now), "before the wait began");
        assertEquals(200_000, ChannelProxy.answeredAfter(now + 5, true, start, now), "after this thread saw it");
        assertEquals(200_000, ChannelProxy.answeredAfter(start + 20_000, false, start, now), "a spin saw it itself");
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
