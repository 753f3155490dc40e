package org.fsp.api.channel;

/**
 * The geometry of one channel segment and the offsets derived from it. Both sides compute offsets from here and from
 * nothing the other side wrote later; the server in particular never trusts an offset read from shared memory.
 *
 * <pre>
 *  segment: [ header, 4096 bytes ][ lane 0 ][ lane 1 ] ... [ lane L-1 ][ bulk area, bulkBytes ]
 *  lane:    [ lane header, 128 bytes ][ slot header 0 .. N-1, 128 bytes each ][ pad to 4096 ]
 *           [ data 0 .. N-1, slotDataBytes each, page-aligned ]
 * </pre>
 *
 * <p>The bulk area carries the data of large reads and writes ({@link ChannelOpcodes#PREAD_BULK} and the like): the
 * request names a range of it (offset from {@link #bulkOffset()}, length) instead of using its slot's data buffer, so
 * that up to {@link #BULK_IO_BYTES} move in one round trip. FS Lib carves it into buffers of {@link #BULK_IO_BYTES}
 * that one thread at a time uses; the server only checks that each range lies inside the area.
 *
 * @param laneCount lanes in the segment, 1 to {@link #MAX_LANES}
 * @param slotsPerLane slots in each lane's ring, a power of two from {@link #MIN_SLOTS_PER_LANE} to
 *     {@link #MAX_SLOTS_PER_LANE}
 * @param slotDataBytes bytes of each slot's data buffer, a multiple of 4096 from {@link #MIN_SLOT_DATA_BYTES} to
 *     {@link #MAX_SLOT_DATA_BYTES}
 * @param bulkBytes bytes of the bulk area, a multiple of 4096 from 0 (none: a server of minor version 0) to
 *     {@link #MAX_BULK_BYTES}
 */
public record ChannelLayout(int laneCount, int slotsPerLane, int slotDataBytes, int bulkBytes) {

    public static final int CACHE_LINE_BYTES = 64;
    public static final int PAGE_BYTES = 4096;
    public static final int MAX_LANES = 64;
    public static final int MIN_SLOTS_PER_LANE = 64;
    public static final int MAX_SLOTS_PER_LANE = 4096;
    /** Two full paths (rename, link) must fit: 2 x 4096. */
    public static final int MIN_SLOT_DATA_BYTES = 8192;

    public static final int MAX_SLOT_DATA_BYTES = 1 << 20;
    /** The most one bulk request moves, bytes: a 1 MiB read or write is one round trip. */
    public static final int BULK_IO_BYTES = 1 << 20;
    /** Largest bulk area either side accepts, bytes: one {@link #BULK_IO_BYTES} buffer per lane at most. */
    public static final int MAX_BULK_BYTES = MAX_LANES * BULK_IO_BYTES;
    /** Largest segment either side accepts, bytes. */
    public static final long MAX_SEGMENT_BYTES = 1L << 31;

    public ChannelLayout {
        if (laneCount < 1 || laneCount > MAX_LANES) {
            throw new IllegalArgumentException("lane count " + laneCount + " not in 1.." + MAX_LANES);
        }
        if (slotsPerLane < MIN_SLOTS_PER_LANE
                || slotsPerLane > MAX_SLOTS_PER_LANE
                || Integer.bitCount(slotsPerLane) != 1) {
            throw new IllegalArgumentException("slots per lane " + slotsPerLane + " not a power of two in "
                    + MIN_SLOTS_PER_LANE + ".." + MAX_SLOTS_PER_LANE);
        }
        if (slotDataBytes < MIN_SLOT_DATA_BYTES
                || slotDataBytes > MAX_SLOT_DATA_BYTES
                || slotDataBytes % PAGE_BYTES != 0) {
            throw new IllegalArgumentException("slot data bytes " + slotDataBytes + " not a multiple of 4096 in "
                    + MIN_SLOT_DATA_BYTES + ".." + MAX_SLOT_DATA_BYTES);
        }
        if (bulkBytes < 0 || bulkBytes > MAX_BULK_BYTES || bulkBytes % PAGE_BYTES != 0) {
            throw new IllegalArgumentException(
                    "bulk bytes " + bulkBytes + " not a multiple of 4096 in 0.." + MAX_BULK_BYTES);
        }
        long bytes = ChannelHeaderDescriptor.HEADER_BYTES
                + (long) laneCount * laneStride(slotsPerLane, slotDataBytes)
                + bulkBytes;
        if (bytes > MAX_SEGMENT_BYTES) {
            throw new IllegalArgumentException("segment of " + bytes + " bytes exceeds " + MAX_SEGMENT_BYTES);
        }
    }

    /** A layout without a bulk area (what a server of minor version 0 makes). */
    public ChannelLayout(int laneCount, int slotsPerLane, int slotDataBytes) {
        this(laneCount, slotsPerLane, slotDataBytes, 0);
    }

    /** Validating factory, same as the constructor; no bulk area. */
    public static ChannelLayout of(int laneCount, int slotsPerLane, int slotDataBytes) {
        return new ChannelLayout(laneCount, slotsPerLane, slotDataBytes, 0);
    }

    /** Validating factory, same as the constructor. */
    public static ChannelLayout of(int laneCount, int slotsPerLane, int slotDataBytes, int bulkBytes) {
        return new ChannelLayout(laneCount, slotsPerLane, slotDataBytes, bulkBytes);
    }

    /** This layout with a bulk area of {@code bytes}. */
    public ChannelLayout withBulkBytes(int bytes) {
        return new ChannelLayout(laneCount, slotsPerLane, slotDataBytes, bytes);
    }

    private static long laneStride(int slots, int dataBytes) {
        return slotHeadersEnd(slots) + (long) slots * dataBytes;
    }

    private static long slotHeadersEnd(int slots) {
        long end = LaneDescriptor.LANE_HEADER_BYTES + (long) slots * SlotDescriptor.SLOT_HEADER_BYTES;
        return (end + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES;
    }

    /** Bytes from one lane's start to the next's. */
    public long laneStride() {
        return laneStride(slotsPerLane, slotDataBytes);
    }

    /** Total bytes of the segment. */
    public long segmentBytes() {
        return bulkOffset() + bulkBytes;
    }

    /** Offset of the bulk area, after the last lane; page-aligned. */
    public long bulkOffset() {
        return ChannelHeaderDescriptor.HEADER_BYTES + (long) laneCount * laneStride();
    }

    /**
     * Whether {@code length} bytes from {@code offset} (bytes from {@link #bulkOffset()}) lie inside the bulk area and
     * are at most {@link #BULK_IO_BYTES}: the server's whole check of a bulk request's range, overflow included.
     */
    public boolean bulkRangeValid(long offset, long length) {
        return offset >= 0 && length >= 0 && length <= BULK_IO_BYTES && offset <= bulkBytes - length;
    }

    /** Offset of lane {@code lane}'s header (its doorbell word). */
    public long laneOffset(int lane) {
        return ChannelHeaderDescriptor.HEADER_BYTES + (long) lane * laneStride();
    }

    /** Offset of the header (state word, request, response) of slot {@code slot} in lane {@code lane}. */
    public long slotOffset(int lane, int slot) {
        return laneOffset(lane) + LaneDescriptor.LANE_HEADER_BYTES + (long) slot * SlotDescriptor.SLOT_HEADER_BYTES;
    }

    /** Offset of the data buffer of slot {@code slot} in lane {@code lane}: {@link #slotDataBytes} long. */
    public long dataOffset(int lane, int slot) {
        return laneOffset(lane) + slotHeadersEnd(slotsPerLane) + (long) slot * slotDataBytes;
    }
}
