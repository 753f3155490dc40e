package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;

/**
 * The journal's on-disk format: a redo log of whole metadata blocks, written from the journal's first block and
 * emptied by checkpoints.
 *
 * <p>One transaction occupies consecutive journal blocks:
 * <pre>
 * +--------------+-----+--------------+-------------+-----+-------------+--------------+
 * | descriptor 1 | ... | descriptor d | image of    | ... | image of    | commit block |
 * | (home blocks)|     |              | home block 1|     | home block n|              |
 * +--------------+-----+--------------+-------------+-----+-------------+--------------+
 * </pre>
 * Descriptor and commit blocks share a header:
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                        Magic "FSPJ"                           |  0
 * |                 Type (1 = descriptor, 2 = commit)             |  4
 * |                   Sequence number (64 bits)                   |  8
 * |      Count: home blocks in this descriptor / images in tx     | 16
 * |    Descriptor: 1 if another descriptor follows. Commit: CRC32  | 20
 * |  (IEEE) of every descriptor and image of the transaction, in |
 * |  order (not CRC32C: most images end in their own CRC32C)     |
 * |   Descriptor: home block numbers, 64 bits each (up to 508)    | 24
 * |                             ...                               |
 * |                CRC32C of bytes 0..4091 of this block          | 4092
 * +---------------------------------------------------------------+
 * </pre>
 * Recovery starts at the first journal block expecting the superblock's {@code journalSeq}, and replays transaction
 * after transaction while each is complete: descriptors with the expected sequence and sound checksums, and a commit
 * block with the same sequence whose CRC matches the descriptors and images. The first gap ends the log, so a torn
 * transaction (any block missing or stale) is ignored as a whole. Stale transactions from before the last checkpoint
 * carry smaller sequence numbers and so never match.
 */
public final class JournalDescriptor {

    /** "FSPJ". */
    public static final int MAGIC = 0x4a505346;

    public static final int TYPE_DESCRIPTOR = 1;
    public static final int TYPE_COMMIT = 2;

    public static final int MAGIC_OFFSET;
    public static final int TYPE_OFFSET;
    public static final int SEQ_OFFSET;
    public static final int COUNT_OFFSET;
    /** descriptor: more-follows flag; commit: CRC32 of the transaction's other blocks. */
    public static final int AUX_OFFSET;

    public static final int HOMES_OFFSET;
    /** Home block numbers per descriptor. */
    public static final int HOMES_PER_DESCRIPTOR;

    static {
        int offset = 0;
        MAGIC_OFFSET = offset;
        offset += 4;
        TYPE_OFFSET = offset;
        offset += 4;
        SEQ_OFFSET = offset;
        offset += 8;
        COUNT_OFFSET = offset;
        offset += 4;
        AUX_OFFSET = offset;
        offset += 4;
        HOMES_OFFSET = offset;
        HOMES_PER_DESCRIPTOR = (Layout.BLOCK_SIZE - 4 - offset) / 8;
    }

    private JournalDescriptor() {}

    /** Journal blocks a transaction of {@code images} images takes, commit included. */
    public static long blocksFor(int images) {
        return descriptorsFor(images) + images + 1L;
    }

    public static int descriptorsFor(int images) {
        return Math.max(1, (images + HOMES_PER_DESCRIPTOR - 1) / HOMES_PER_DESCRIPTOR);
    }

    public static void header(MemorySegment block, int type, long seq, int count, int aux) {
        block.fill((byte) 0);
        block.set(Layout.INT, MAGIC_OFFSET, MAGIC);
        block.set(Layout.INT, TYPE_OFFSET, type);
        block.set(Layout.LONG, SEQ_OFFSET, seq);
        block.set(Layout.INT, COUNT_OFFSET, count);
        block.set(Layout.INT, AUX_OFFSET, aux);
    }

    /** True if the block is a sealed journal block of {@code type} with sequence {@code seq}. */
    public static boolean is(MemorySegment block, int type, long seq) {
        return block.get(Layout.INT, MAGIC_OFFSET) == MAGIC
                && block.get(Layout.INT, TYPE_OFFSET) == type
                && block.get(Layout.LONG, SEQ_OFFSET) == seq
                && Checksums.tailValid(block);
    }
}
