package org.fsp.fs.core;

import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.fsp.testing.AbstractBlockSchedulerContractTest;

/** The scheduler contract on the direct scheduler that mkfs, fsck and the tests use. */
class DirectBlockSchedulerContractTest extends AbstractBlockSchedulerContractTest {

    @Override
    protected BlockDevice createDevice(int blocks, int queueDepth) {
        return new HeapBlockDeviceTestDouble(blocks);
    }

    @Override
    protected BlockScheduler createScheduler(BlockDevice device, int maxQueued) {
        return new DirectBlockScheduler(device);
    }
}
