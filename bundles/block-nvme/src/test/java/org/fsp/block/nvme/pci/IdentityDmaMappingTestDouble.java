package org.fsp.block.nvme.pci;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Test double of a {@link DmaMapping}: ordinary process memory whose "device address" is its virtual address, so
 * that {@link NvmeControllerTestDouble} can follow the pointers the driver gives it.
 */
public final class IdentityDmaMappingTestDouble implements DmaMapping {

    private final Arena arena = Arena.ofShared();
    private final MemorySegment region;
    private final boolean contiguous;

    public IdentityDmaMappingTestDouble(long bytes) {
        this(bytes, true);
    }

    public IdentityDmaMappingTestDouble(long bytes, boolean contiguous) {
        this.region = arena.allocate(bytes, DmaAllocator.PAGE_BYTES);
        this.contiguous = contiguous;
    }

    @Override
    public MemorySegment region() {
        return region;
    }

    @Override
    public long ioAddress(long offsetBytes) {
        return region.address() + offsetBytes;
    }

    @Override
    public boolean contiguous() {
        return contiguous;
    }

    @Override
    public void close() {
        arena.close();
    }
}
