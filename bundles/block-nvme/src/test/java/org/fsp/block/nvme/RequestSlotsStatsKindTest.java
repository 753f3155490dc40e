package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RequestSlotsStatsKindTest {

    @Test
    void readsAndWritesCountAsThemselvesEverythingElseAsAFlush() {
        assertEquals(DeviceStats.Kind.READ, RequestSlots.statsKind(RequestSlots.READ));
        assertEquals(DeviceStats.Kind.WRITE, RequestSlots.statsKind(RequestSlots.WRITE));
        assertEquals(DeviceStats.Kind.FLUSH, RequestSlots.statsKind(RequestSlots.FLUSH));
        assertEquals(DeviceStats.Kind.FLUSH, RequestSlots.statsKind(RequestSlots.WRITE_ZEROES));
        assertEquals(DeviceStats.Kind.FLUSH, RequestSlots.statsKind(RequestSlots.DEALLOCATE));
    }
}
