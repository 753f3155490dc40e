package org.fsp.block.nvme.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The bring-up sequence of section 7.6.1 against {@link NvmeControllerTestDouble}'s register file. */
class NvmeControllerTest {

    private final NvmeControllerTestDouble registers = new NvmeControllerTestDouble(1 << 20, 12);
    private final IdentityDmaMappingTestDouble mapping = new IdentityDmaMappingTestDouble(1 << 20);
    private final DmaAllocator dma = new DmaAllocator(mapping);

    @AfterEach
    void free() {
        mapping.close();
        registers.close();
    }

    @Test
    void shouldProgramTheAdminQueueThenEnableWithEntrySizes() {
        NvmeController.enable(registers, dma);
        assertEquals(
                List.of(
                        "AQA=0x1f001f",
                        "ASQ.lo",
                        "ASQ.hi",
                        "ACQ.lo",
                        "ACQ.hi",
                        "CC=0x460000",
                        "INTMS=0xffffffff",
                        "CC=0x460001"),
                registers.writes,
                "AQA/ASQ/ACQ, CC with IOSQES=6 IOCQES=4 and EN=0, then EN=1");
    }

    @Test
    void shouldDisableAnEnabledControllerFirst() {
        NvmeController.enable(registers, dma);
        registers.writes.clear();
        NvmeController.enable(registers, new DmaAllocator(new IdentityDmaMappingTestDouble(1 << 16)));
        assertEquals("CC=0x460000", registers.writes.get(0), "CC.EN cleared before anything else");
        assertEquals("CC=0x460001", registers.writes.get(registers.writes.size() - 1));
    }

    @Test
    void shouldFailClearlyWhenTheControllerNeverBecomesReady() {
        registers.neverReady = true;
        NvmeSetupException e = assertThrows(NvmeSetupException.class, () -> NvmeController.enable(registers, dma));
        assertEquals(NvmeSetupException.Reason.CONTROLLER, e.reason());
        assertTrue(e.getMessage().contains("did not become ready"), e.getMessage());
    }

    @Test
    void shouldIdentifyTheControllerAndNamespaceAndCreateAQueuePair() {
        NvmeController c = NvmeController.enable(registers, dma);
        NvmeController.ControllerInfo info = c.identifyController();
        assertEquals("test double", info.model());
        assertEquals(4096L << 2, info.maxTransferBytes(), "MDTS 2 in units of MPSMIN");
        assertTrue(info.hasWriteZeroes());
        NvmeController.NamespaceInfo ns = c.identifyNamespace(c.firstActiveNamespace());
        assertEquals(4096, ns.blockSize());
        assertEquals(256, ns.blocks());
        assertEquals(1, c.requestQueuePairs(1));
        NvmeQueuePair pair = c.createIoQueuePair(1, 16);
        assertEquals(16, pair.entries());
        c.deleteIoQueuePair(pair);
        c.shutdown();
    }

    @Test
    void shouldLimitQueuesToOnePageWithoutAnIommu() {
        NvmeController c =
                NvmeController.enable(registers, new DmaAllocator(new IdentityDmaMappingTestDouble(1 << 20, false)));
        assertEquals(64, c.createIoQueuePair(1, 1024).entries());
    }
}
