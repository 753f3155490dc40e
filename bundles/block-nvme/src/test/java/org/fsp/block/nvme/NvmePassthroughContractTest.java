package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.fsp.api.block.BlockDevice;
import org.fsp.testing.AbstractBlockDeviceContractTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * The device contract on io_uring NVMe passthrough over a namespace's generic device, named by
 * {@code -Dfsp.nvme.generic=/dev/ng0n1}. Skipped (by assumption) without it; {@code itests-nvme/run} sets it inside
 * its guest. The test writes over the namespace's first blocks.
 */
class NvmePassthroughContractTest extends AbstractBlockDeviceContractTest {

    private static final String DEVICE = System.getProperty("fsp.nvme.generic");

    @BeforeAll
    static void needsADevice() {
        assumeTrue(
                DEVICE != null && !DEVICE.isBlank(), "no NVMe generic device named: set -Dfsp.nvme.generic=/dev/ngXnY");
    }

    @Override
    protected BlockDevice createDevice(int queueDepth) {
        return NvmePassthroughBlockDevice.open(Path.of(DEVICE), queueDepth);
    }

    @Override
    protected BlockDevice reopenDevice() {
        return createDevice(32);
    }
}
