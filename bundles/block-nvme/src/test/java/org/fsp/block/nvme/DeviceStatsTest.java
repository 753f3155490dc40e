package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeviceStatsTest {

    @Test
    void shouldCountCompletionsByKindAndErrorsApart() {
        DeviceStats stats = new DeviceStats(() -> 7L);
        stats.recordCompletion(DeviceStats.Kind.READ, 4096, 10_000);
        stats.recordCompletion(DeviceStats.Kind.WRITE, 8192, 20_000);
        stats.recordCompletion(DeviceStats.Kind.FLUSH, 0, 30_000);
        stats.recordCompletion(DeviceStats.Kind.WRITE, -5, 40_000);
        stats.recordQueueFull();
        Map<String, Object> m = stats.toMap();
        assertEquals(1L, m.get("reads"));
        assertEquals(1L, m.get("writes"));
        assertEquals(1L, m.get("flushes"));
        assertEquals(1L, m.get("errors"));
        assertEquals(8192L, m.get("bytesWritten"));
        assertEquals(1L, m.get("rejectedQueueFull"));
        assertEquals(7L, m.get("systemCalls"));
        assertEquals(4L, m.get("latencyCount"));
        assertEquals(25.0, (double) m.get("latencyMeanMicros"), 0.1);
    }

    @Test
    void shouldKeepTheHistogramCumulativeAcrossSnapshots() {
        DeviceStats stats = new DeviceStats(() -> 0L);
        stats.recordCompletion(DeviceStats.Kind.READ, 4096, 3_000);
        assertEquals(1, stats.snapshot().getTotalCount());
        stats.recordCompletion(DeviceStats.Kind.READ, 4096, 900_000);
        assertEquals(2, stats.snapshot().getTotalCount(), "a snapshot must not reset what the next one shows");
        String text = stats.latencyHistogramText();
        List<String> rows = text.lines().toList();
        assertEquals(2, rows.size(), text);
        assertTrue(rows.get(0).contains("2..4") || rows.get(0).contains("2.."), text);
        assertTrue(rows.get(1).contains("512..1024"), text);
    }

    @Test
    void shouldSaySoWhenNothingCompletedYet() {
        assertTrue(new DeviceStats(() -> 0L).latencyHistogramText().contains("no completions"));
    }
}
