package org.fsp.fs.core;

import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.fsp.testing.AbstractBlockSchedulerContractTest;

/** The scheduler contract on fs-core's gate, the scheduler the file system itself calls, bound to a direct one. */
class SchedulerGateContractTest extends AbstractBlockSchedulerContractTest {

    @Override
    protected BlockDevice createDevice(int blocks, int queueDepth) {
        return new HeapBlockDeviceTestDouble(blocks);
    }

    @Override
    protected BlockScheduler createScheduler(BlockDevice device, int maxQueued) {
        SchedulerGate gate = new SchedulerGate(pause -> {});
        gate.bind(new DirectBlockScheduler(device));
        return gate;
    }
}
