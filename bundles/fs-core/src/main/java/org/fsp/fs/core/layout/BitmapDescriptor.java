package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;

/**
 * An allocation bitmap block (inode bitmap or block bitmap): bit {@code i} of the map set means item {@code i} is in
 * use, bit 0 of byte 0 first.
 * <pre>
 *  0                                                          4088      4092      4096
 * +----------------------------------------------------------+---------+---------+
 * |  bits: 32704 items, LSB first                            |  Magic  | CRC32C  |
 * +----------------------------------------------------------+---------+---------+
 * </pre>
 * Bits past the end of the map (beyond the device or the inode count) are kept set so they are never allocated.
 */
public final class BitmapDescriptor {

    /** "BMAP". */
    public static final int MAGIC = 0x50414d42;
    /** Bytes of bits per block. */
    public static final int MAP_BYTES = Layout.BLOCK_SIZE - 8;
    /** Items one bitmap block covers. */
    public static final int BITS_PER_BLOCK = MAP_BYTES * 8;

    public static final int MAGIC_OFFSET = MAP_BYTES;
    public static final int CHECKSUM_OFFSET = MAP_BYTES + 4;

    private BitmapDescriptor() {}

    public static boolean get(MemorySegment block, int bit) {
        return (block.get(Layout.BYTE, bit >>> 3) & (1 << (bit & 7))) != 0;
    }

    public static void set(MemorySegment block, int bit, boolean value) {
        byte b = block.get(Layout.BYTE, bit >>> 3);
        b = value ? (byte) (b | (1 << (bit & 7))) : (byte) (b & ~(1 << (bit & 7)));
        block.set(Layout.BYTE, bit >>> 3, b);
    }

    /** Stores the magic and seals the block's checksum. */
    public static void seal(MemorySegment block) {
        block.set(Layout.INT, MAGIC_OFFSET, MAGIC);
        Checksums.sealTail(block);
    }

    /** Null if the block is a sound bitmap block, else what is wrong. */
    public static String validate(MemorySegment block) {
        if (block.get(Layout.INT, MAGIC_OFFSET) != MAGIC) {
            return "bad bitmap magic";
        }
        return Checksums.tailValid(block) ? null : "bitmap checksum mismatch";
    }
}
