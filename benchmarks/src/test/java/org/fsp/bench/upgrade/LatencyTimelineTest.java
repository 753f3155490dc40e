package org.fsp.bench.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LatencyTimelineTest {

    private static final long MS = 1_000_000;

    @Test
    void shouldFindTheLongestOperationThatStartedInsideTheWindow() {
        LatencyTimeline t = new LatencyTimeline();
        t.record(1_000 * MS, 20_000);
        t.record(1_500 * MS, 7 * MS);
        t.record(1_500 * MS + 10, 3 * MS);
        t.record(3_000 * MS, 90 * MS); // after the window

        assertEquals(7 * MS, t.longestOverlapping(1_200 * MS, 2_000 * MS));
    }

    @Test
    void shouldCountAnOperationThatStartedBeforeTheWindowAndEndedInsideIt() {
        LatencyTimeline t = new LatencyTimeline();
        t.record(1_000 * MS, 250 * MS); // a stall that began before the window and ends 50 ms into it
        t.record(1_210 * MS, 1 * MS);

        assertEquals(250 * MS, t.longestOverlapping(1_200 * MS, 1_300 * MS));
    }

    @Test
    void shouldNotCountOperationsThatEndedWellBeforeOrStartedAfterTheWindow() {
        LatencyTimeline t = new LatencyTimeline();
        t.record(1_000 * MS, 50 * MS); // ends at 1050 ms
        t.record(1_400 * MS, 2 * MS);
        t.record(1_301 * MS, 80 * MS); // starts after the window

        assertEquals(0, t.longestOverlapping(1_200 * MS, 1_300 * MS));
        assertEquals(50 * MS, t.longestOverlapping(1_040 * MS, 1_300 * MS));
    }

    @Test
    void shouldAnswerTheSameAfterARoundTripThroughAFile(@TempDir Path dir) throws Exception {
        LatencyTimeline t = new LatencyTimeline();
        for (long ms = 0; ms < 5_000; ms++) {
            t.record(10_000 * MS + ms * MS + 17, ms == 4_321 ? 40 * MS : 10_000 + ms);
        }
        Path file = dir.resolve("timeline");
        t.writeTo(file);
        LatencyTimeline back = LatencyTimeline.readFrom(file);

        assertEquals(40 * MS, back.longestOverlapping(14_300 * MS, 14_330 * MS));
        assertEquals(t.longestOverlapping(10_100 * MS, 10_200 * MS), back.longestOverlapping(10_100 * MS, 10_200 * MS));
        assertEquals(10_000 + 200, back.longestOverlapping(10_100 * MS, 10_200 * MS));
    }

    @Test
    void shouldAnswerZeroWhenNothingWasRecorded() {
        assertEquals(0, new LatencyTimeline().longestOverlapping(0, Long.MAX_VALUE / 2));
    }
}
