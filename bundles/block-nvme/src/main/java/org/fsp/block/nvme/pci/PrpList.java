package org.fsp.block.nvme.pci;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Builds the data pointer of a command as Physical Region Page entries (NVMe 1.4, section 4.3): PRP1 names the first
 * page (with the buffer's offset into it); a transfer that ends in the next page puts that page in PRP2; a longer one
 * puts in PRP2 the address of a PRP list, one 8-byte entry per further page.
 *
 * <p>The driver gives every command one list page of {@link DmaAllocator#PAGE_BYTES} bytes and caps a command's
 * transfer at {@link #MAX_TRANSFER_BYTES} (513 pages would fill it exactly; 512 keeps the cap a power of two), so a
 * list never chains to a second list page.
 */
public final class PrpList {

    /** Entries in one list page. */
    public static final int ENTRIES_PER_PAGE = DmaAllocator.PAGE_BYTES / Long.BYTES;
    /** The largest transfer one command may carry with a single list page, bytes. */
    public static final int MAX_TRANSFER_BYTES = ENTRIES_PER_PAGE * DmaAllocator.PAGE_BYTES;

    private PrpList() {}

    /** PRP1 and PRP2 of one command. */
    public record Pointers(long prp1, long prp2) {}

    /**
     * Describes {@code lengthBytes} bytes of {@code data} from {@code dataOffset} (page aligned), writing list entries
     * into {@code listPage} when they are needed.
     *
     * @param listPage a zeroable page in DMA memory, owned by the command until it completes
     * @throws IllegalArgumentException if the transfer is empty, unaligned or longer than {@link #MAX_TRANSFER_BYTES}
     */
    public static Pointers build(
            DmaAllocator.DmaBuffer data, long dataOffset, int lengthBytes, DmaAllocator.DmaBuffer listPage) {
        if (lengthBytes <= 0 || lengthBytes > MAX_TRANSFER_BYTES) {
            throw new IllegalArgumentException(
                    "PRP transfer of " + lengthBytes + " bytes outside 1.." + MAX_TRANSFER_BYTES);
        }
        if (dataOffset % DmaAllocator.PAGE_BYTES != 0) {
            throw new IllegalArgumentException("PRP transfer offset " + dataOffset + " is not page aligned");
        }
        int pages = (lengthBytes + DmaAllocator.PAGE_BYTES - 1) / DmaAllocator.PAGE_BYTES;
        long prp1 = data.ioAddress(dataOffset);
        if (pages == 1) {
            return new Pointers(prp1, 0);
        }
        if (pages == 2) {
            return new Pointers(prp1, data.ioAddress(dataOffset + DmaAllocator.PAGE_BYTES));
        }
        MemorySegment list = listPage.segment();
        for (int i = 1; i < pages; i++) {
            list.set(
                    ValueLayout.JAVA_LONG,
                    (long) (i - 1) * Long.BYTES,
                    data.ioAddress(dataOffset + (long) i * DmaAllocator.PAGE_BYTES));
        }
        return new Pointers(prp1, listPage.ioAddress(0));
    }
}
