package org.fsp.block.nvme.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PrpListTest {

    private final IdentityDmaMappingTestDouble mapping = new IdentityDmaMappingTestDouble(1 << 22);
    private final DmaAllocator dma = new DmaAllocator(mapping);

    @AfterEach
    void free() {
        mapping.close();
    }

    @Test
    void shouldUsePrp1AloneForOnePage() {
        DmaAllocator.DmaBuffer data = dma.allocate(4096);
        PrpList.Pointers p = PrpList.build(data, 0, 4096, dma.allocate(4096));
        assertEquals(data.ioAddress(0), p.prp1());
        assertEquals(0, p.prp2());
    }

    @Test
    void shouldPutTheSecondPageInPrp2ForTwoPages() {
        DmaAllocator.DmaBuffer data = dma.allocate(3 * 4096);
        PrpList.Pointers p = PrpList.build(data, 4096, 8192, dma.allocate(4096));
        assertEquals(data.ioAddress(4096), p.prp1());
        assertEquals(data.ioAddress(8192), p.prp2());
    }

    @Test
    void shouldPointPrp2AtAListOfEveryFurtherPage() {
        DmaAllocator.DmaBuffer data = dma.allocate(5 * 4096);
        DmaAllocator.DmaBuffer list = dma.allocate(4096);
        PrpList.Pointers p = PrpList.build(data, 0, 5 * 4096, list);
        assertEquals(data.ioAddress(0), p.prp1());
        assertEquals(list.ioAddress(0), p.prp2());
        for (int i = 1; i < 5; i++) {
            assertEquals(data.ioAddress(i * 4096L), list.segment().get(ValueLayout.JAVA_LONG, (i - 1) * 8L));
        }
    }

    @Test
    void shouldRejectTransfersTheSingleListPageCannotDescribe() {
        DmaAllocator.DmaBuffer data = dma.allocate(PrpList.MAX_TRANSFER_BYTES + 4096);
        DmaAllocator.DmaBuffer list = dma.allocate(4096);
        assertThrows(
                IllegalArgumentException.class, () -> PrpList.build(data, 0, PrpList.MAX_TRANSFER_BYTES + 4096, list));
        assertThrows(IllegalArgumentException.class, () -> PrpList.build(data, 512, 4096, list));
        PrpList.build(data, 0, PrpList.MAX_TRANSFER_BYTES, list); // the largest that fits
    }

    @Test
    void shouldFreeAndReuseDmaPagesFirstFit() {
        DmaAllocator.DmaBuffer a = dma.allocate(4096);
        DmaAllocator.DmaBuffer b = dma.allocate(8192);
        assertEquals(3, dma.usedPages());
        dma.free(a);
        DmaAllocator.DmaBuffer c = dma.allocate(4096);
        assertEquals(a.regionOffset(), c.regionOffset());
        dma.free(c);
        assertThrows(IllegalStateException.class, () -> dma.free(c), "a double free is caught");
        dma.free(b);
        assertEquals(0, dma.usedPages());
        assertEquals(null, dma.allocate(1L << 23), "more than the pool");
    }
}
