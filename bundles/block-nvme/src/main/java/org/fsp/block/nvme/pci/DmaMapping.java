package org.fsp.block.nvme.pci;

import java.lang.foreign.MemorySegment;

/**
 * How the device addresses a pinned region of this process's memory: the I/O virtual address (an IOMMU mapping,
 * VFIO type 1) or the physical address (VFIO no-IOMMU mode) of each of its bytes.
 */
public interface DmaMapping extends AutoCloseable {

    /** The region this mapping covers, page aligned. */
    MemorySegment region();

    /** The address the device uses for byte {@code offsetBytes} of {@link #region()}. */
    long ioAddress(long offsetBytes);

    /**
     * True if consecutive pages of the region have consecutive device addresses, so that a queue may span several
     * pages (a physically contiguous queue, as CAP.CQR may demand).
     */
    boolean contiguous();

    /** Removes the mapping (the region itself is freed by its owner). */
    @Override
    void close();
}
