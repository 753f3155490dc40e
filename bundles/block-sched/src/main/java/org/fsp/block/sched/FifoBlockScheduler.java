package org.fsp.block.sched;

import java.util.ArrayDeque;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;

/**
 * The simplest policy: requests go to the device one by one, in arrival order, whatever their priority. The baseline
 * that the batching policy is measured against, and the choice when the device or a layer above already orders I/O.
 */
public final class FifoBlockScheduler extends AbstractBlockScheduler {

    /** Name of this policy, as in {@link org.fsp.api.block.BlockScheduler#PROP_POLICY}. */
    public static final String POLICY = "fifo";

    private final ArrayDeque<BlockRequest> queue = new ArrayDeque<>();

    /** @param maxQueuedRequests the bounded queue depth */
    public FifoBlockScheduler(BlockDevice device, int maxQueuedRequests) {
        super(device, maxQueuedRequests, device.bufferAlignment(), 1);
    }

    @Override
    protected void add(BlockRequest request) {
        queue.addLast(request);
    }

    @Override
    protected int takeGroup(BlockRequest[] out, long maxBytes) {
        BlockRequest next = queue.pollFirst();
        if (next == null) {
            return 0;
        }
        out[0] = next;
        return 1;
    }

    @Override
    protected void returnGroup(BlockRequest[] group, int count) {
        for (int i = count - 1; i >= 0; i--) {
            queue.addFirst(group[i]);
        }
    }

    @Override
    public String policy() {
        return POLICY;
    }
}
