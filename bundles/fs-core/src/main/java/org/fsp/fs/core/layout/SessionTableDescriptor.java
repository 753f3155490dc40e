package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;

/**
 * The session table: {@code sessionTableBlocks} blocks at {@code sessionTableStart} (superblock minor version 2), where
 * the journal keeps the exactly-once records of clients (see {@code docs/recovery.md}). Block 0 is the header; every
 * other block holds {@link #RECORDS_PER_BLOCK} records and a CRC32C in its last four bytes. Changed only inside
 * journal transactions, like every metadata block.
 *
 * <pre>
 * header block                               record (64 bytes; free when the token is zero)
 *  0  magic "FSPSESS1" (64 bits)              0  token high (64)       8  token low (64)
 *  8  version (32 bits)                      16  key (32)             20  uid (32)
 * 16  HMAC key (32 bytes, random at mkfs)    24  sequence (64)        32  result (64)
 * ... zero ...                               40  inode or position (64, bytes)
 * 4092 CRC32C                                48  generation (32)      52  open flags (32)
 *                                            56  recorded at (64, ms since the epoch)
 * </pre>
 */
public final class SessionTableDescriptor {

    /** "FSPSESS1" read as a little-endian long. */
    public static final long MAGIC = 0x3153_5345_5350_5346L;

    public static final int VERSION = 1;
    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int KEY_OFFSET = 16;
    public static final int KEY_BYTES = 32;

    public static final int RECORD_BYTES = 64;
    public static final int RECORDS_PER_BLOCK = (Layout.BLOCK_SIZE - 4) / RECORD_BYTES;

    public static final int TOKEN_HIGH_OFFSET;
    public static final int TOKEN_LOW_OFFSET;
    public static final int KEY_NUMBER_OFFSET;
    public static final int UID_OFFSET;
    public static final int SEQUENCE_OFFSET;
    public static final int RESULT_OFFSET;
    /** For an open the inode number; for a write the end of the data written, bytes. */
    public static final int INO_OR_POSITION_OFFSET;

    public static final int GENERATION_OFFSET;
    public static final int FLAGS_OFFSET;
    /** ms since the epoch. */
    public static final int RECORDED_AT_OFFSET;

    static {
        int offset = 0;
        TOKEN_HIGH_OFFSET = offset;
        offset += 8;
        TOKEN_LOW_OFFSET = offset;
        offset += 8;
        KEY_NUMBER_OFFSET = offset;
        offset += 4;
        UID_OFFSET = offset;
        offset += 4;
        SEQUENCE_OFFSET = offset;
        offset += 8;
        RESULT_OFFSET = offset;
        offset += 8;
        INO_OR_POSITION_OFFSET = offset;
        offset += 8;
        GENERATION_OFFSET = offset;
        offset += 4;
        FLAGS_OFFSET = offset;
        offset += 4;
        RECORDED_AT_OFFSET = offset;
    }

    private SessionTableDescriptor() {}

    /**
     * Blocks mkfs gives the table on a device with {@code dataBlocks} data blocks: a header and up to 64 record blocks
     * (4032 records), fewer on small devices.
     */
    public static int blocksFor(long dataBlocks) {
        return (int) Math.max(2, Math.min(65, dataBlocks / 256));
    }

    /** Writes a header with {@code key} into a zeroed block and seals it. */
    public static void writeHeader(MemorySegment block, byte[] key) {
        block.fill((byte) 0);
        block.set(Layout.LONG, MAGIC_OFFSET, MAGIC);
        block.set(Layout.INT, VERSION_OFFSET, VERSION);
        MemorySegment.copy(key, 0, block, Layout.BYTE, KEY_OFFSET, KEY_BYTES);
        Checksums.sealTail(block);
    }

    /** Null if the header block is sound, else what is wrong with it. */
    public static String validateHeader(MemorySegment block) {
        if (block.get(Layout.LONG, MAGIC_OFFSET) != MAGIC) {
            return "session table header has no magic";
        }
        if (!Checksums.tailValid(block)) {
            return "session table header checksum mismatch";
        }
        int version = block.get(Layout.INT, VERSION_OFFSET);
        if (version != VERSION) {
            return "session table version " + version + " is not supported (this build reads " + VERSION + ")";
        }
        return null;
    }

    /** Null if the record block is sound (sealed, or never written: all zero), else what is wrong with it. */
    public static String validateRecords(MemorySegment block) {
        if (Checksums.tailValid(block) || SuperblockDescriptor.isBlank(block)) {
            return null;
        }
        return "session record block checksum mismatch";
    }

    /** Byte offset of record {@code index} (0-based within its block). */
    public static int recordOffset(int index) {
        return index * RECORD_BYTES;
    }
}
