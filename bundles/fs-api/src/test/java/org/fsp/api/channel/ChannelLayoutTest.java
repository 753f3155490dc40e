package org.fsp.api.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class ChannelLayoutTest {

    @Test
    void shouldPlaceSlotsAndDataWithoutOverlapAndPageAligned() {
        ChannelLayout l = ChannelLayout.of(3, 64, 8192);
        long previousEnd = ChannelHeaderDescriptor.HEADER_BYTES;
        for (int lane = 0; lane < 3; lane++) {
            assertEquals(0, l.laneOffset(lane) % 4096);
            assertTrue(l.laneOffset(lane) >= previousEnd);
            long headersEnd = l.slotOffset(lane, 63) + SlotDescriptor.SLOT_HEADER_BYTES;
            assertTrue(l.slotOffset(lane, 0) >= l.laneOffset(lane) + LaneDescriptor.LANE_HEADER_BYTES);
            assertTrue(l.dataOffset(lane, 0) >= headersEnd);
            assertEquals(0, l.dataOffset(lane, 0) % 4096);
            previousEnd = l.dataOffset(lane, 63) + 8192;
        }
        assertEquals(previousEnd, l.segmentBytes());
        assertTrue(SlotDescriptor.RESULT_OFFSET >= SlotDescriptor.REQUEST_BYTES);
        assertTrue(SlotDescriptor.PAYLOAD_LENGTH_OFFSET + 4 <= SlotDescriptor.SLOT_HEADER_BYTES);
    }

    @Test
    void shouldRejectGeometryOutOfBounds() {
        assertThrows(IllegalArgumentException.class, () -> ChannelLayout.of(0, 64, 8192));
        assertThrows(IllegalArgumentException.class, () -> ChannelLayout.of(1, 63, 8192));
        assertThrows(IllegalArgumentException.class, () -> ChannelLayout.of(1, 32, 8192));
        assertThrows(IllegalArgumentException.class, () -> ChannelLayout.of(1, 64, 4096));
        assertThrows(IllegalArgumentException.class, () -> ChannelLayout.of(1, 64, 10000));
        assertThrows(IllegalArgumentException.class, () -> ChannelLayout.of(64, 4096, 1 << 20));
    }

    @Test
    void shouldRefuseUnknownMajorVersionSayingSo() {
        ChannelLayout l = ChannelLayout.of(1, 64, 8192);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(l.segmentBytes(), 4096);
            ChannelHeaderDescriptor.write(seg, l, 7, 1);
            assertEquals(l, ChannelHeaderDescriptor.check(seg));
            seg.set(
                    ValueLayout.JAVA_INT,
                    ChannelHeaderDescriptor.VERSION_OFFSET,
                    ChannelHeaderDescriptor.version(2, 3));
            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> ChannelHeaderDescriptor.check(seg));
            assertTrue(e.getMessage().contains("version 2.3 is not supported"), e.getMessage());
            seg.set(ValueLayout.JAVA_LONG, 0, 42L);
            assertThrows(IllegalStateException.class, () -> ChannelHeaderDescriptor.check(seg));
        }
    }

    @Test
    void shouldPlaceTheBulkAreaAfterTheLanesAndCheckRangesAgainstItOnly() {
        ChannelLayout l = ChannelLayout.of(2, 64, 8192, 2 * ChannelLayout.BULK_IO_BYTES);
        assertEquals(ChannelLayout.of(2, 64, 8192).segmentBytes(), l.bulkOffset());
        assertEquals(0, l.bulkOffset() % 4096);
        assertEquals(l.bulkOffset() + 2L * ChannelLayout.BULK_IO_BYTES, l.segmentBytes());
        assertTrue(l.bulkRangeValid(0, ChannelLayout.BULK_IO_BYTES));
        assertTrue(l.bulkRangeValid(ChannelLayout.BULK_IO_BYTES, ChannelLayout.BULK_IO_BYTES));
        assertTrue(l.bulkRangeValid(l.bulkBytes(), 0));
        assertFalse(l.bulkRangeValid(l.bulkBytes() - 4096, 4097), "past the end");
        assertFalse(l.bulkRangeValid(0, ChannelLayout.BULK_IO_BYTES + 1), "more than one bulk request moves");
        assertFalse(l.bulkRangeValid(-1, 1));
        assertFalse(l.bulkRangeValid(1, -1));
        assertFalse(l.bulkRangeValid(Long.MAX_VALUE, 4096), "an offset that overflows with its length");
        assertFalse(ChannelLayout.of(1, 64, 8192).bulkRangeValid(0, 1), "no bulk area, no range");
        assertThrows(IllegalArgumentException.class, () -> ChannelLayout.of(1, 64, 8192, 100));
        assertThrows(
                IllegalArgumentException.class,
                () -> ChannelLayout.of(1, 64, 8192, ChannelLayout.MAX_BULK_BYTES + 4096));
    }

    @Test
    void shouldCarryTheBulkAreaInTheHeaderAndReadAMinorZeroHeaderAsHavingNone() {
        ChannelLayout l = ChannelLayout.of(1, 64, 8192, ChannelLayout.BULK_IO_BYTES);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(l.segmentBytes(), 4096);
            ChannelHeaderDescriptor.write(seg, l, 7, 1);
            assertEquals(l, ChannelHeaderDescriptor.check(seg));
            ChannelLayout old = ChannelLayout.of(1, 64, 8192);
            MemorySegment before = arena.allocate(old.segmentBytes(), 4096);
            ChannelHeaderDescriptor.write(before, old, 7, 1);
            before.set(
                    ValueLayout.JAVA_INT,
                    ChannelHeaderDescriptor.VERSION_OFFSET,
                    ChannelHeaderDescriptor.version(1, 0));
            assertEquals(old, ChannelHeaderDescriptor.check(before), "a minor-0 header: zero padding, no bulk area");
        }
    }
}
