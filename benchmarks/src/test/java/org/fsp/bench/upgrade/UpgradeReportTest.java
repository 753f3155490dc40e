package org.fsp.bench.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class UpgradeReportTest {

    @Test
    void shouldTakeTheNearestRankPercentile() {
        List<Double> sorted = List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0);

        assertEquals(5.0, UpgradeReport.pct(sorted, 50));
        assertEquals(10.0, UpgradeReport.pct(sorted, 99));
        assertEquals(10.0, UpgradeReport.pct(sorted, 100));
        assertEquals(1.0, UpgradeReport.pct(List.of(1.0), 99));
    }

    @Test
    void shouldJudgeTheP99AgainstTheTargetAndFailOnFailedRequests() {
        List<Double> pauses = List.of(0.5, 0.6, 0.9);

        assertEquals("PASS", UpgradeReport.verdict(1.0, pauses, false));
        assertEquals("MISS", UpgradeReport.verdict(0.8, pauses, false));
        assertEquals("-", UpgradeReport.verdict(null, pauses, false));
        assertEquals("FAIL", UpgradeReport.verdict(1.0, pauses, true));
    }
}
