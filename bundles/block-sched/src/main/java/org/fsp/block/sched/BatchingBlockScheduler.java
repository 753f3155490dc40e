package org.fsp.block.sched;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;

/**
 * The batching policy: one queue per {@link BlockRequest.Priority} class, drained strictly in class order (journal,
 * then metadata, then data), so that journal commits and flushes overtake bulk data; within a class, arrival order.
 * Each issue phase hands everything it can to the device and makes one {@code submit()} for the batch.
 *
 * <p>Overtaking is bounded so that bulk data cannot starve: after {@value #MAX_OVERTAKES} groups in a row taken from a
 * higher class while a lower class waited, the next group comes from the lowest waiting class.
 *
 * <p>Merging: a request joins the group at the head of its class if it is the same op, starts at the block where the
 * group ends, and the group stays within the merge limits; consecutive flushes are answered by one device flush. Only
 * requests adjacent in the queue merge, so two writes to the same block of one class are never reordered.
 *
 * <p>Ordering across classes is not kept: a caller that needs a data write durable before a journal commit awaits the
 * write first. A flush covers writes that completed before it was enqueued, as {@link BlockDevice#submitFlush} does.
 */
public final class BatchingBlockScheduler extends AbstractBlockScheduler {

    /** Name of this policy, as in {@link org.fsp.api.block.BlockScheduler#PROP_POLICY}. */
    public static final String POLICY = "batching";

    /**
     * Default merge limit, bytes: a 1 MiB run of dirty blocks leaves in two device requests (the drivers split what
     * their device cannot take in one command). The bounce buffer behind a merged request is this large and allocated
     * only for the tags that carry one.
     */
    public static final int DEFAULT_MAX_MERGE_BYTES = 512 * 1024;

    /** Default most requests per merge: the 4 KiB blocks of {@link #DEFAULT_MAX_MERGE_BYTES}. */
    public static final int DEFAULT_MAX_MERGE_REQUESTS = DEFAULT_MAX_MERGE_BYTES / 4096;

    /** Groups that may overtake a waiting lower class in a row before that class gets one turn. */
    public static final int MAX_OVERTAKES = 16;

    /** One queue per priority class, indexed by ordinal. */
    private final List<ArrayDeque<BlockRequest>> queues = new ArrayList<>();
    /** Groups issued in a row from a higher class while a lower class waited; guarded by the base class's lock. */
    private int overtakes;

    /**
     * @param maxQueuedRequests the bounded queue depth
     * @param maxMergeBytes the largest merged transfer, bytes
     * @param maxMergeRequests the most requests merged into one device request
     */
    public BatchingBlockScheduler(BlockDevice device, int maxQueuedRequests, int maxMergeBytes, int maxMergeRequests) {
        super(device, maxQueuedRequests, maxMergeBytes, maxMergeRequests);
        for (int i = 0; i < BlockRequest.Priority.values().length; i++) {
            queues.add(new ArrayDeque<>());
        }
    }

    /** With the default merge limits ({@value #DEFAULT_MAX_MERGE_BYTES} bytes, 4 KiB blocks of it). */
    public BatchingBlockScheduler(BlockDevice device, int maxQueuedRequests) {
        this(device, maxQueuedRequests, DEFAULT_MAX_MERGE_BYTES, DEFAULT_MAX_MERGE_REQUESTS);
    }

    @Override
    protected void add(BlockRequest request) {
        queues.get(request.priority().ordinal()).addLast(request);
    }

    @Override
    protected int takeGroup(BlockRequest[] out, long maxBytes) {
        int first = -1;
        int last = -1;
        for (int c = 0; c < queues.size(); c++) {
            if (!queues.get(c).isEmpty()) {
                if (first < 0) {
                    first = c;
                }
                last = c;
            }
        }
        if (first < 0) {
            return 0;
        }
        int chosen = first;
        if (last != first) {
            if (++overtakes > MAX_OVERTAKES) {
                chosen = last;
                overtakes = 0;
            }
        } else {
            overtakes = 0;
        }
        return takeGroupFrom(queues.get(chosen), out, maxBytes);
    }

    private int takeGroupFrom(ArrayDeque<BlockRequest> queue, BlockRequest[] out, long maxBytes) {
        BlockRequest head = queue.pollFirst();
        out[0] = head;
        int n = 1;
        if (head.op() == BlockRequest.Op.FLUSH) {
            while (n < out.length
                    && queue.peekFirst() != null
                    && queue.peekFirst().op() == BlockRequest.Op.FLUSH) {
                out[n++] = queue.pollFirst();
            }
            return n;
        }
        int blockSize = device.blockSize();
        long bytes = head.buffer().byteSize();
        long nextBlock = head.block() + bytes / blockSize;
        while (n < out.length) {
            BlockRequest next = queue.peekFirst();
            if (next == null
                    || next.op() != head.op()
                    || next.block() != nextBlock
                    || bytes + next.buffer().byteSize() > maxBytes) {
                break;
            }
            queue.pollFirst();
            out[n++] = next;
            bytes += next.buffer().byteSize();
            nextBlock += next.buffer().byteSize() / blockSize;
        }
        return n;
    }

    @Override
    protected void returnGroup(BlockRequest[] group, int count) {
        ArrayDeque<BlockRequest> queue = queues.get(group[0].priority().ordinal());
        for (int i = count - 1; i >= 0; i--) {
            queue.addFirst(group[i]);
        }
    }

    @Override
    public String policy() {
        return POLICY;
    }
}
