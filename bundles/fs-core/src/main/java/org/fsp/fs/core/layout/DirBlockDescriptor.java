package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * A directory data block: variable-length records that tile bytes [0, 4088), then a magic and a checksum.
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                     Inode number (64 bits, 0 = free)          |  0
 * +-------------------------------+---------------+---------------+
 * |     Record length (bytes)     |  Name length  |  Type (DT_*)  |  8
 * +-------------------------------+---------------+---------------+
 * |              Name (UTF-8, not terminated) ... padding to 8    | 12
 * +---------------------------------------------------------------+
 * </pre>
 * Records never move once written, so a record's offset in the directory ({@code block * 4096 + offset}) is a stable
 * readdir cookie. A record's length may exceed what its name needs; a new entry takes the slack (the record is
 * split) and a removed entry's bytes are merged into the record before it, as ext2 does. The first record of a block
 * may be free (inode 0). "." and ".." are not stored: a directory's parent is in its inode.
 */
public final class DirBlockDescriptor {

    /** "DIRB". */
    public static final int MAGIC = 0x42524944;
    /** Bytes of records per block. */
    public static final int RECORDS_END = Layout.BLOCK_SIZE - 8;

    public static final int MAGIC_OFFSET = RECORDS_END;
    public static final int INO_OFFSET;
    /** bytes, multiple of 8. */
    public static final int REC_LEN_OFFSET;

    public static final int NAME_LEN_OFFSET;
    public static final int TYPE_OFFSET;
    public static final int NAME_OFFSET;

    static {
        int offset = 0;
        INO_OFFSET = offset;
        offset += 8;
        REC_LEN_OFFSET = offset;
        offset += 2;
        NAME_LEN_OFFSET = offset;
        offset += 1;
        TYPE_OFFSET = offset;
        offset += 1;
        NAME_OFFSET = offset;
    }

    private DirBlockDescriptor() {}

    /** Bytes a record for a name of {@code nameLen} bytes needs. */
    public static int recordSize(int nameLen) {
        return (NAME_OFFSET + nameLen + 7) & ~7;
    }

    /** Formats an empty block: one free record spanning all record bytes. */
    public static void format(MemorySegment block) {
        block.fill((byte) 0);
        block.set(Layout.SHORT, REC_LEN_OFFSET, (short) RECORDS_END);
        seal(block);
    }

    public static void seal(MemorySegment block) {
        block.set(Layout.INT, MAGIC_OFFSET, MAGIC);
        Checksums.sealTail(block);
    }

    public static long ino(MemorySegment block, int rec) {
        return block.get(Layout.LONG, rec + INO_OFFSET);
    }

    public static int recLen(MemorySegment block, int rec) {
        return Short.toUnsignedInt(block.get(Layout.SHORT, rec + REC_LEN_OFFSET));
    }

    public static int nameLen(MemorySegment block, int rec) {
        return Byte.toUnsignedInt(block.get(Layout.BYTE, rec + NAME_LEN_OFFSET));
    }

    public static int type(MemorySegment block, int rec) {
        return Byte.toUnsignedInt(block.get(Layout.BYTE, rec + TYPE_OFFSET));
    }

    public static String name(MemorySegment block, int rec) {
        byte[] b = new byte[nameLen(block, rec)];
        MemorySegment.copy(block, Layout.BYTE, rec + NAME_OFFSET, b, 0, b.length);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Writes a record header and name at {@code rec}. */
    public static void put(MemorySegment block, int rec, long ino, int recLen, byte[] name, int type) {
        block.set(Layout.LONG, rec + INO_OFFSET, ino);
        block.set(Layout.SHORT, rec + REC_LEN_OFFSET, (short) recLen);
        block.set(Layout.BYTE, rec + NAME_LEN_OFFSET, (byte) name.length);
        block.set(Layout.BYTE, rec + TYPE_OFFSET, (byte) type);
        MemorySegment.copy(name, 0, block, Layout.BYTE, rec + NAME_OFFSET, name.length);
    }

    /** Null if the block's magic, checksum and record chain are sound, else what is wrong. */
    public static String validate(MemorySegment block) {
        if (block.get(Layout.INT, MAGIC_OFFSET) != MAGIC) {
            return "bad directory block magic";
        }
        if (!Checksums.tailValid(block)) {
            return "directory block checksum mismatch";
        }
        int rec = 0;
        while (rec < RECORDS_END) {
            int len = recLen(block, rec);
            if (len < NAME_OFFSET || (len & 7) != 0 || rec + len > RECORDS_END) {
                return "directory record at " + rec + " has bad length " + len;
            }
            if (ino(block, rec) != 0 && recordSize(nameLen(block, rec)) > len) {
                return "directory record at " + rec + " has a name longer than its record";
            }
            rec += len;
        }
        return null;
    }
}
