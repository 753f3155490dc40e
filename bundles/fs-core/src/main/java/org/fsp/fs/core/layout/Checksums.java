package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** CRC32C over regions of a block: the checksum every metadata block, the superblock and journal records carry. */
public final class Checksums {

    private Checksums() {}

    /** CRC32C of {@code length} bytes of {@code segment} starting at {@code offset}. */
    public static int crc32c(MemorySegment segment, long offset, long length) {
        CRC32C crc = new CRC32C();
        ByteBuffer view = segment.asSlice(offset, length).asByteBuffer();
        crc.update(view);
        return (int) crc.getValue();
    }

    /** Stores the CRC32C of bytes [0, blockSize - 4) in the block's last four bytes. */
    public static void sealTail(MemorySegment block) {
        long at = block.byteSize() - 4;
        block.set(Layout.INT, at, crc32c(block, 0, at));
    }

    /** True if the block's last four bytes hold the CRC32C of the bytes before them. */
    public static boolean tailValid(MemorySegment block) {
        long at = block.byteSize() - 4;
        return block.get(Layout.INT, at) == crc32c(block, 0, at);
    }
}
