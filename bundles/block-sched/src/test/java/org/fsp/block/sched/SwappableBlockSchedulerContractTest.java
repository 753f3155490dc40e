package org.fsp.block.sched;

import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.testing.AbstractBlockSchedulerContractTest;

/** The scheduler contract on the swappable front the block-sched component publishes, with a batching scheduler in. */
class SwappableBlockSchedulerContractTest extends AbstractBlockSchedulerContractTest {

    @Override
    protected BlockDevice createDevice(int blocks, int queueDepth) {
        return new RecordingBlockDevice(blocks, queueDepth);
    }

    @Override
    protected BlockScheduler createScheduler(BlockDevice device, int maxQueued) {
        SwappableBlockScheduler s =
                new SwappableBlockScheduler(BatchingBlockScheduler.POLICY, TimeUnit.SECONDS.toNanos(5));
        s.install(new BatchingBlockScheduler(device, maxQueued));
        return s;
    }

    @Override
    protected void closeScheduler(BlockScheduler s) {
        ((SwappableBlockScheduler) s).close();
    }
}
