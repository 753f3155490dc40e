package org.fsp.block.nvme;

import java.lang.foreign.MemorySegment;

/** The argument checks every driver applies before it queues a request, with messages that say what was wrong. */
final class RequestChecks {

    /**
     * All of memory, so that copies go by a caller's buffer address as a disk's DMA would: the buffer's owner may be
     * a confined arena of another thread, and the copy may run on any thread.
     */
    static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private RequestChecks() {}

    /**
     * Checks that {@code buffer} is native, non-empty, aligned to {@code alignment} in address and length, and that
     * its blocks starting at {@code block} lie inside a device of {@code blockCount} blocks of {@code blockSize}
     * bytes.
     *
     * @return the buffer length in bytes
     * @throws IllegalArgumentException otherwise
     */
    static int checkTransfer(long block, MemorySegment buffer, int blockSize, long blockCount, int alignment) {
        if (buffer == null || !buffer.isNative()) {
            throw new IllegalArgumentException("buffer must be a native (off-heap) memory segment, got " + buffer);
        }
        long lengthBytes = buffer.byteSize();
        if (lengthBytes <= 0 || lengthBytes % blockSize != 0) {
            throw new IllegalArgumentException("buffer length " + lengthBytes
                    + " bytes is not a positive multiple of the block size " + blockSize);
        }
        if (lengthBytes > Integer.MAX_VALUE - alignment) {
            throw new IllegalArgumentException("buffer length " + lengthBytes + " bytes exceeds one request's limit");
        }
        if (buffer.address() % alignment != 0 || lengthBytes % alignment != 0) {
            throw new IllegalArgumentException("buffer at address 0x" + Long.toHexString(buffer.address())
                    + " of " + lengthBytes + " bytes is not aligned to " + alignment
                    + " bytes (allocate it with arena.allocate(bytes, " + alignment + "))");
        }
        long blocks = lengthBytes / blockSize;
        if (block < 0 || block > blockCount - blocks) {
            throw new IllegalArgumentException("blocks [" + block + ", " + (block + blocks)
                    + ") lie outside the device's " + blockCount + " blocks");
        }
        return (int) lengthBytes;
    }
}
