package org.fsp.block.nvme.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The register, queue entry and VFIO layouts against the offsets of NVMe 1.4 and linux/vfio.h. */
class DescriptorsTest {

    @Test
    void shouldPlaceControllerRegistersAtTheSpecOffsets() {
        assertEquals(0x00, ControllerRegisterDescriptor.CAP_OFFSET);
        assertEquals(0x14, ControllerRegisterDescriptor.CC_OFFSET);
        assertEquals(0x1C, ControllerRegisterDescriptor.CSTS_OFFSET);
        assertEquals(0x24, ControllerRegisterDescriptor.AQA_OFFSET);
        assertEquals(0x28, ControllerRegisterDescriptor.ASQ_OFFSET);
        assertEquals(0x30, ControllerRegisterDescriptor.ACQ_OFFSET);
        assertEquals(0x1000, ControllerRegisterDescriptor.submissionTailDoorbell(0, 4));
        assertEquals(0x1004, ControllerRegisterDescriptor.completionHeadDoorbell(0, 4));
        assertEquals(0x1008, ControllerRegisterDescriptor.submissionTailDoorbell(1, 4));
        assertEquals(0x1000 + 3 * 16, ControllerRegisterDescriptor.completionHeadDoorbell(1, 16));
    }

    @Test
    void shouldDecodeTheCapabilityFields() {
        long cap = 2047L | (1L << 16) | (20L << 24) | (2L << 32) | (1L << 37) | (1L << 48) | (4L << 52);
        assertEquals(2048, ControllerRegisterDescriptor.maxQueueEntries(cap));
        assertTrue(ControllerRegisterDescriptor.contiguousQueuesRequired(cap));
        assertEquals(10_000, ControllerRegisterDescriptor.readyTimeoutMillis(cap));
        assertEquals(16, ControllerRegisterDescriptor.doorbellStrideBytes(cap));
        assertTrue(ControllerRegisterDescriptor.supportsNvmCommandSet(cap));
        assertEquals(8192, ControllerRegisterDescriptor.minPageSizeBytes(cap));
        assertEquals(65536, ControllerRegisterDescriptor.maxPageSizeBytes(cap));
    }

    @Test
    void shouldLayOutTheSubmissionEntryAsFigure105() {
        assertEquals(64, NvmeCommandDescriptor.LENGTH);
        assertEquals(1 << NvmeCommandDescriptor.LENGTH_SHIFT, NvmeCommandDescriptor.LENGTH);
        assertEquals(0, NvmeCommandDescriptor.OPCODE_OFFSET);
        assertEquals(2, NvmeCommandDescriptor.CID_OFFSET);
        assertEquals(4, NvmeCommandDescriptor.NSID_OFFSET);
        assertEquals(16, NvmeCommandDescriptor.MPTR_OFFSET);
        assertEquals(24, NvmeCommandDescriptor.PRP1_OFFSET);
        assertEquals(32, NvmeCommandDescriptor.PRP2_OFFSET);
        assertEquals(40, NvmeCommandDescriptor.CDW10_OFFSET);
        assertEquals(48, NvmeCommandDescriptor.CDW12_OFFSET);
        assertEquals(60, NvmeCommandDescriptor.CDW15_OFFSET);
    }

    @Test
    void shouldLayOutTheCompletionEntryAsFigure121() {
        assertEquals(16, NvmeCompletionDescriptor.LENGTH);
        assertEquals(1 << NvmeCompletionDescriptor.LENGTH_SHIFT, NvmeCompletionDescriptor.LENGTH);
        assertEquals(0, NvmeCompletionDescriptor.RESULT_OFFSET);
        assertEquals(8, NvmeCompletionDescriptor.SQ_HEAD_OFFSET);
        assertEquals(10, NvmeCompletionDescriptor.SQ_ID_OFFSET);
        assertEquals(12, NvmeCompletionDescriptor.CID_OFFSET);
        assertEquals(14, NvmeCompletionDescriptor.STATUS_OFFSET);
        int status = (1 << 9) | (0x80 << 1) | 1; // SCT 1, SC 0x80, phase 1
        assertEquals(0x80, NvmeCompletionDescriptor.statusCode(status));
        assertEquals(1, NvmeCompletionDescriptor.statusCodeType(status));
    }

    @Test
    void shouldNumberTheVfioIoctlsAsLinuxDoes() {
        assertEquals(0x3B64, VfioDescriptor.GET_API_VERSION);
        assertEquals(0x3B65, VfioDescriptor.CHECK_EXTENSION);
        assertEquals(0x3B66, VfioDescriptor.SET_IOMMU);
        assertEquals(0x3B67, VfioDescriptor.GROUP_GET_STATUS);
        assertEquals(0x3B68, VfioDescriptor.GROUP_SET_CONTAINER);
        assertEquals(0x3B6A, VfioDescriptor.GROUP_GET_DEVICE_FD);
        assertEquals(0x3B6C, VfioDescriptor.DEVICE_GET_REGION_INFO);
        assertEquals(0x3B71, VfioDescriptor.IOMMU_MAP_DMA);
        assertEquals(0x3B72, VfioDescriptor.IOMMU_UNMAP_DMA);
    }

    @Test
    void shouldEncodeTheNvmeUringCommandAsLinuxDoes() {
        assertEquals(0xC0484E80, NvmeUringCommandDescriptor.NVME_URING_CMD_IO);
        assertEquals(40, NvmeUringCommandDescriptor.CDW10_OFFSET);
        assertEquals(72, NvmeUringCommandDescriptor.LENGTH);
    }
}
