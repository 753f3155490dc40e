package org.fsp.api.channel;

/**
 * The geometry of one channel segment and the offsets derived from it. Both sides compute offsets from here and from
 * nothing the other side wrote later; the server in particular never trusts an offset read from shared memory.
 *
 * <pre>
 *  segment: [ header, 4096 bytes ][ lane 0 ][ lane 1 ] ... [ lane L-1 ]
 *  lane:    [ lane header, 128 bytes ][ slot header 0 .. N-1, 128 bytes each ][ pad to 4096 ]
 *           [ data 0 .. N-1, slotDataBytes each, page-aligned ]
 * </pre>
 *
 * @param laneCount lanes in the segment, 1 to {@link #MAX_LANES}
 * @param slotsPerLane slots in each lane's ring, a power of two from {@link #MIN_SLOTS_PER_LANE} to
 *     {@link #MAX_SLOTS_PER_LANE}
 * @param slotDataBytes bytes of each slot's data buffer, a multiple of 4096 from {@link #MIN_SLOT_DATA_BYTES} to
 *     {@link #MAX_SLOT_DATA_BYTES}
 */
public record ChannelLayout(int laneCount, int slotsPerLane, int slotDataBytes) {

    public static final int CACHE_LINE_BYTES = 64;
    public static final int PAGE_BYTES = 4096;
    public static final int MAX_LANES = 64;
    public static final int MIN_SLOTS_PER_LANE = 64;
    public static final int MAX_SLOTS_PER_LANE = 4096;
    /** Two full paths (rename, link) must fit: 2 x 4096. */
    public static final int MIN_SLOT_DATA_BYTES = 8192;

    public static final int MAX_SLOT_DATA_BYTES = 1 << 20;
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
        long bytes = ChannelHeaderDescriptor.HEADER_BYTES + (long) laneCount * laneStride(slotsPerLane, slotDataBytes);
        if (bytes > MAX_SEGMENT_BYTES) {
            throw new IllegalArgumentException("segment of " + bytes + " bytes exceeds " + MAX_SEGMENT_BYTES);
        }
    }

    /** Validating factory, same as the constructor. */
    public static ChannelLayout of(int laneCount, int slotsPerLane, int slotDataBytes) {
        return new ChannelLayout(laneCount, slotsPerLane, slotDataBytes);
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
        return ChannelHeaderDescriptor.HEADER_BYTES + (long) laneCount * laneStride();
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
