package org.fsp.block.sched;

import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.testing.AbstractBlockSchedulerContractTest;

/** The scheduler contract on the FIFO policy. */
class FifoBlockSchedulerContractTest extends AbstractBlockSchedulerContractTest {

    @Override
    protected BlockDevice createDevice(int blocks, int queueDepth) {
        return new RecordingBlockDevice(blocks, queueDepth);
    }

    @Override
    protected BlockScheduler createScheduler(BlockDevice device, int maxQueued) {
        return new FifoBlockScheduler(device, maxQueued);
    }
}
