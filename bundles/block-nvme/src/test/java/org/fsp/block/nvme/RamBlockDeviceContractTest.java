package org.fsp.block.nvme;

import org.fsp.api.block.BlockDevice;

/** The device contract on the RAM device. */
class RamBlockDeviceContractTest extends AbstractBlockDeviceContractTest {

    @Override
    protected BlockDevice createDevice(int queueDepth) {
        return new RamBlockDevice(DEVICE_BYTES, queueDepth);
    }
}
