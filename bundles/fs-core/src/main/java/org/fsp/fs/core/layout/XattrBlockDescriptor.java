package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * An extended attribute block: every extended attribute of one inode (its owner), as ext4's xattr block keeps them
 * when they do not fit in the inode. The whole set must fit in the block, so a value is at most {@link #CAPACITY}
 * bytes less its entry header and name, as in ext4 without large-value inodes.
 * <pre>
 *  0         4         8                16        20        24
 * +---------+---------+----------------+---------+---------+---------------------------------+------+
 * |  Magic  |  Count  | Owner inode    | Used    | Reserved| Count x entry, sorted by name    | CRC  |
 * |  "XATR" |         |                | (bytes) |  (0)    |                                  | 4092 |
 * +---------+---------+----------------+---------+---------+---------------------------------+------+
 *
 *  entry:  0             1        2                4
 *         +-------------+--------+----------------+------------------+-------------------+---------+
 *         | name length | 0      | value length   | name (UTF-8,     | value             | zeros to|
 *         | (1..255)    |        | (u16, bytes)   |  no NUL)         |                   | 4 bytes |
 *         +-------------+--------+----------------+------------------+-------------------+---------+
 * </pre>
 * {@code Used} is the bytes of the entries, from {@link #ENTRIES_OFFSET}; the rest up to the checksum is zero.
 */
public final class XattrBlockDescriptor {

    /** "XATR". */
    public static final int MAGIC = 0x52544158;

    public static final int MAGIC_OFFSET;
    public static final int COUNT_OFFSET;
    public static final int OWNER_OFFSET;
    /** bytes of entries after {@link #ENTRIES_OFFSET}. */
    public static final int USED_OFFSET;

    public static final int ENTRIES_OFFSET;
    /** Bytes available to entries. */
    public static final int CAPACITY;
    /** Bytes of an entry before its name. */
    public static final int ENTRY_HEADER = 4;

    static {
        int offset = 0;
        MAGIC_OFFSET = offset;
        offset += 4;
        COUNT_OFFSET = offset;
        offset += 4;
        OWNER_OFFSET = offset;
        offset += 8;
        USED_OFFSET = offset;
        offset += 4;
        offset += 4; // reserved
        ENTRIES_OFFSET = offset;
        CAPACITY = Layout.BLOCK_SIZE - 4 - offset;
    }

    private XattrBlockDescriptor() {}

    /** Bytes one entry takes in the block. */
    public static int entrySize(int nameBytes, int valueBytes) {
        return (ENTRY_HEADER + nameBytes + valueBytes + 3) & ~3;
    }

    /** Bytes the whole set takes; more than {@link #CAPACITY} does not fit. */
    public static long bytesFor(Map<String, byte[]> attributes) {
        long total = 0;
        for (Map.Entry<String, byte[]> e : attributes.entrySet()) {
            total += entrySize(e.getKey().getBytes(StandardCharsets.UTF_8).length, e.getValue().length);
        }
        return total;
    }

    /** Writes {@code attributes} (which fit: see {@link #bytesFor}) as {@code owner}'s block and seals it. */
    public static void write(MemorySegment block, long owner, Map<String, byte[]> attributes) {
        block.fill((byte) 0);
        block.set(Layout.INT, MAGIC_OFFSET, MAGIC);
        block.set(Layout.INT, COUNT_OFFSET, attributes.size());
        block.set(Layout.LONG, OWNER_OFFSET, owner);
        int at = ENTRIES_OFFSET;
        for (Map.Entry<String, byte[]> e : new TreeMap<>(attributes).entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] value = e.getValue();
            int size = entrySize(name.length, value.length);
            if (at + size > ENTRIES_OFFSET + CAPACITY) {
                throw new IllegalArgumentException("extended attributes do not fit one block");
            }
            block.set(Layout.BYTE, at, (byte) name.length);
            block.set(Layout.SHORT, at + 2, (short) value.length);
            MemorySegment.copy(name, 0, block, Layout.BYTE, at + ENTRY_HEADER, name.length);
            MemorySegment.copy(value, 0, block, Layout.BYTE, at + ENTRY_HEADER + name.length, value.length);
            at += size;
        }
        block.set(Layout.INT, USED_OFFSET, at - ENTRIES_OFFSET);
        Checksums.sealTail(block);
    }

    /** Null if the block is a sound attribute block of {@code owner}, else what is wrong. */
    public static String validate(MemorySegment block, long owner) {
        if (block.get(Layout.INT, MAGIC_OFFSET) != MAGIC) {
            return "bad extended attribute block magic";
        }
        if (!Checksums.tailValid(block)) {
            return "extended attribute block checksum mismatch";
        }
        if (block.get(Layout.LONG, OWNER_OFFSET) != owner) {
            return "extended attribute block belongs to inode " + block.get(Layout.LONG, OWNER_OFFSET);
        }
        try {
            parse(block);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** The attributes of a block that {@link #validate} found sound, by name. */
    public static Map<String, byte[]> read(MemorySegment block) {
        return parse(block);
    }

    private static Map<String, byte[]> parse(MemorySegment block) {
        int count = block.get(Layout.INT, COUNT_OFFSET);
        int used = block.get(Layout.INT, USED_OFFSET);
        if (count < 0 || used < 0 || used > CAPACITY) {
            throw new IllegalArgumentException("extended attribute block count " + count + " used " + used);
        }
        Map<String, byte[]> all = new TreeMap<>();
        int at = ENTRIES_OFFSET;
        int end = ENTRIES_OFFSET + used;
        for (int k = 0; k < count; k++) {
            if (at + ENTRY_HEADER > end) {
                throw new IllegalArgumentException("extended attribute entry " + k + " lies past the used bytes");
            }
            int nameLength = Byte.toUnsignedInt(block.get(Layout.BYTE, at));
            int valueLength = Short.toUnsignedInt(block.get(Layout.SHORT, at + 2));
            int size = entrySize(nameLength, valueLength);
            if (nameLength == 0 || at + size > end) {
                throw new IllegalArgumentException("extended attribute entry " + k + " has a bad length");
            }
            byte[] nameBytes = new byte[nameLength];
            MemorySegment.copy(block, Layout.BYTE, at + ENTRY_HEADER, nameBytes, 0, nameLength);
            String name;
            try {
                name = StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(nameBytes))
                        .toString();
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("extended attribute entry " + k + " name is not UTF-8");
            }
            byte[] value = new byte[valueLength];
            MemorySegment.copy(block, Layout.BYTE, at + ENTRY_HEADER + nameLength, value, 0, valueLength);
            if (all.put(name, value) != null) {
                throw new IllegalArgumentException("extended attribute " + name + " appears twice");
            }
            at += size;
        }
        if (at != end) {
            throw new IllegalArgumentException(
                    "extended attribute block uses " + used + " bytes, entries " + (at - ENTRIES_OFFSET));
        }
        return all;
    }
}
