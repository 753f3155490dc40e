package org.fsp.block.nvme.pci;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * Hands out page-granular pieces of one pinned, device-mapped region ({@link DmaMapping}): queues, PRP list pages,
 * Identify buffers and the bounce buffers that carry each transfer. First fit over a bitmap of 4 KiB pages; callers
 * free what they took.
 *
 * <p>A typical sequence is: {@code DmaBuffer b = allocator.allocate(bytes)} (null when the pool is exhausted),
 * {@link DmaBuffer#ioAddress(long)} for the device, {@link DmaBuffer#segment()} for the CPU, then {@link #free}.
 *
 * <p>Thread safety: all methods are synchronized; the driver allocates on its submission path and frees on its
 * completion path.
 */
public final class DmaAllocator {

    /** Granule of allocation and the NVMe memory page size the driver configures (CC.MPS = 0), bytes. */
    public static final int PAGE_BYTES = 4096;

    private final DmaMapping mapping;
    private final int pages;
    /** Set bits are pages in use. */
    private final BitSet used;

    private int usedPages;

    public DmaAllocator(DmaMapping mapping) {
        long bytes = mapping.region().byteSize();
        if (bytes <= 0 || bytes % PAGE_BYTES != 0 || mapping.region().address() % PAGE_BYTES != 0) {
            throw new IllegalArgumentException(
                    "DMA region must be a non-empty, page-aligned multiple of " + PAGE_BYTES + " bytes, got " + bytes
                            + " bytes at 0x" + Long.toHexString(mapping.region().address()));
        }
        this.mapping = mapping;
        this.pages = (int) (bytes / PAGE_BYTES);
        this.used = new BitSet(pages);
    }

    /** A piece of the region: its CPU view and, through the mapping, its device addresses. */
    public record DmaBuffer(DmaAllocator owner, MemorySegment segment, long regionOffset) {

        /** The device address of byte {@code offsetBytes} of this buffer. */
        public long ioAddress(long offsetBytes) {
            return owner.mapping.ioAddress(regionOffset + offsetBytes);
        }
    }

    /**
     * Takes {@code bytes} rounded up to whole pages, zeroed.
     *
     * @return the buffer, or null if no run of free pages is long enough
     */
    public synchronized DmaBuffer allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("DMA allocation of " + bytes + " bytes");
        }
        int n = (int) ((bytes + PAGE_BYTES - 1) / PAGE_BYTES);
        int start = used.nextClearBit(0);
        while (start + n <= pages) {
            int nextUsed = used.nextSetBit(start);
            if (nextUsed < 0 || nextUsed >= start + n) {
                used.set(start, start + n);
                usedPages += n;
                long offset = (long) start * PAGE_BYTES;
                MemorySegment segment = mapping.region().asSlice(offset, (long) n * PAGE_BYTES);
                segment.fill((byte) 0);
                return new DmaBuffer(this, segment, offset);
            }
            start = used.nextClearBit(nextUsed);
        }
        return null;
    }

    /** Takes {@code bytes} or throws: for the driver's fixed structures, allocated once at bring-up. */
    public DmaBuffer allocateOrThrow(long bytes, String what) {
        DmaBuffer b = allocate(bytes);
        if (b == null) {
            throw new IllegalStateException("DMA pool of " + (long) pages * PAGE_BYTES + " bytes has no room for "
                    + what + " (" + bytes + " bytes)");
        }
        return b;
    }

    /** Returns a buffer's pages to the pool. */
    public synchronized void free(DmaBuffer buffer) {
        if (buffer.owner != this) {
            throw new IllegalArgumentException("buffer belongs to another allocator");
        }
        int start = (int) (buffer.regionOffset / PAGE_BYTES);
        int n = (int) (buffer.segment.byteSize() / PAGE_BYTES);
        if (used.nextClearBit(start) < start + n) {
            throw new IllegalStateException("DMA pages " + start + ".." + (start + n) + " freed twice");
        }
        used.clear(start, start + n);
        usedPages -= n;
    }

    /** Pages in use. */
    public synchronized int usedPages() {
        return usedPages;
    }

    /** Pages in the pool. */
    public int totalPages() {
        return pages;
    }

    /** Whether the mapping gives consecutive pages consecutive device addresses. */
    public boolean contiguous() {
        return mapping.contiguous();
    }
}
