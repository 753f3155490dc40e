package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;

/**
 * An extent overflow block: extents of one inode beyond the 10 it holds inline, chained through {@code next}.
 * <pre>
 *  0         4         8                16               24                                 4088   4092
 * +---------+---------+----------------+----------------+----------------------------------+------+------+
 * |  Magic  |  Count  | Next block     | Owner inode    | Count x (logical u32, length u32, | pad  | CRC  |
 * |  "EXTB" |         | (0 = last)     |                |          physical u64)           |      |      |
 * +---------+---------+----------------+----------------+----------------------------------+------+------+
 * </pre>
 */
public final class ExtentBlockDescriptor {

    /** "EXTB". */
    public static final int MAGIC = 0x42545845;

    public static final int MAGIC_OFFSET;
    public static final int COUNT_OFFSET;
    public static final int NEXT_OFFSET;
    public static final int OWNER_OFFSET;
    public static final int EXTENTS_OFFSET;
    /** Extents per block. */
    public static final int CAPACITY;

    static {
        int offset = 0;
        MAGIC_OFFSET = offset;
        offset += 4;
        COUNT_OFFSET = offset;
        offset += 4;
        NEXT_OFFSET = offset;
        offset += 8;
        OWNER_OFFSET = offset;
        offset += 8;
        EXTENTS_OFFSET = offset;
        CAPACITY = (Layout.BLOCK_SIZE - 4 - offset) / InodeDescriptor.EXTENT_SIZE;
    }

    private ExtentBlockDescriptor() {}

    /** Null if the block is a sound extent block of {@code owner}, else what is wrong. */
    public static String validate(MemorySegment block, long owner) {
        if (block.get(Layout.INT, MAGIC_OFFSET) != MAGIC) {
            return "bad extent block magic";
        }
        if (!Checksums.tailValid(block)) {
            return "extent block checksum mismatch";
        }
        if (block.get(Layout.LONG, OWNER_OFFSET) != owner) {
            return "extent block belongs to inode " + block.get(Layout.LONG, OWNER_OFFSET);
        }
        int count = block.get(Layout.INT, COUNT_OFFSET);
        return count < 0 || count > CAPACITY ? "extent block count " + count + " out of range" : null;
    }
}
