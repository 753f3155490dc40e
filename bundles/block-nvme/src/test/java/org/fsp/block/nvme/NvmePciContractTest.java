package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.fsp.api.block.BlockDevice;
import org.fsp.testing.AbstractBlockDeviceContractTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * The device contract on the NVMe driver over a real (or QEMU-emulated) controller bound to vfio-pci, named by
 * {@code -Dfsp.nvme.pci=0000:00:04.0}. Skipped (by assumption) without it; {@code itests-nvme/run} sets it inside its
 * guest. The test writes over the namespace's first blocks.
 */
class NvmePciContractTest extends AbstractBlockDeviceContractTest {

    private static final String PCI = System.getProperty("fsp.nvme.pci");

    @BeforeAll
    static void needsADevice() {
        assumeTrue(PCI != null && !PCI.isBlank(), "no NVMe controller named: set -Dfsp.nvme.pci=<PCI address>");
    }

    @Override
    protected BlockDevice createDevice(int queueDepth) {
        return NvmeBlockDevice.open(NvmeBlockDevice.Options.of(PCI, queueDepth));
    }

    @Override
    protected BlockDevice reopenDevice() {
        return createDevice(32);
    }
}
