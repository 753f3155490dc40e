package org.fsp.block.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.api.fs.Errno;
import org.fsp.block.nvme.pci.DmaAllocator;
import org.fsp.block.nvme.pci.NvmeCommandDescriptor;
import org.fsp.block.nvme.pci.NvmeController;
import org.fsp.block.nvme.pci.NvmeOpcodes;
import org.fsp.block.nvme.pci.NvmeQueuePair;
import org.fsp.block.nvme.pci.PrpList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One I/O queue pair of {@link NvmeBlockDevice} with the requests on it: its request slots, the bounce buffers of
 * their transfers in DMA memory, the command identifiers and PRP list pages, and the reaping that finds a stalled
 * queue. A typical sequence is: the device queues a request in {@link #slots} and hands it over, {@link #issue}
 * copies a write into its bounce buffer and rings the doorbell, {@link #reapAndCheck} reaps the completions (a read
 * is copied out once its last command completes) and issues what the freed resources allow.
 *
 * <p>Thread safety: the device calls everything under {@link #lock} (completions are reported under
 * {@link #reportLock}); {@link #pending} alone is read without it.
 */
final class NvmeLane {

    private static final Logger LOG = LoggerFactory.getLogger(NvmeLane.class);

    private final String name;
    private final DmaAllocator dma;
    private final NvmeController controller;
    private final NvmeController.NamespaceInfo namespace;
    private final int maxCommandBytes;
    private final long timeoutNanos;

    final int index;
    final ReentrantLock lock = new ReentrantLock();
    final ReentrantLock reportLock = new ReentrantLock();
    final RequestSlots slots;
    final DmaAllocator.DmaBuffer[] bounce;
    final int[] cidSlot;
    final DmaAllocator.DmaBuffer[] prpLists;
    final int[] freeCids;
    final NvmeQueuePair.CompletionSink sink = this::onCommandComplete;
    /** Guarded by lock. */
    NvmeQueuePair queue;

    int freeCidCount;
    long lastProgressNanos;
    /** The queue pair is deleted (close, failed reset): nothing is issued or reaped any more. */
    boolean gone;
    /**
     * Requests queued and not handed over, for other threads' {@link NvmeBlockDevice#submit()};
     * written under lock.
     */
    volatile int pending;

    NvmeLane(
            int index,
            NvmeQueuePair queue,
            String name,
            DmaAllocator dma,
            NvmeController controller,
            NvmeController.NamespaceInfo namespace,
            int queueDepth,
            int maxCommandBytes,
            long timeoutNanos,
            AtomicInteger outstanding,
            DeviceStats stats) {
        this.index = index;
        this.queue = queue;
        this.name = name;
        this.dma = dma;
        this.controller = controller;
        this.namespace = namespace;
        this.maxCommandBytes = maxCommandBytes;
        this.timeoutNanos = timeoutNanos;
        slots = new RequestSlots(queueDepth, outstanding, stats);
        bounce = new DmaAllocator.DmaBuffer[queueDepth];
        // One command per CQ entry but one keeps the CQ from ever overflowing.
        int cids = queue.entries() - 1;
        cidSlot = new int[cids];
        prpLists = new DmaAllocator.DmaBuffer[cids];
        freeCids = new int[cids];
        for (int i = 0; i < cids; i++) {
            prpLists[i] = dma.allocateOrThrow(DmaAllocator.PAGE_BYTES, "PRP lists");
        }
        freeAllCids();
    }

    void freeAllCids() {
        freeCidCount = 0;
        for (int i = cidSlot.length - 1; i >= 0; i--) {
            freeCids[freeCidCount++] = i;
        }
    }

    int cidsInUse() {
        return cidSlot.length - freeCidCount;
    }

    /** Issues commands for handed-over requests, in order, until something runs out. Under lock. */
    void issue() {
        if (gone) {
            return;
        }
        boolean any = false;
        int slot;
        while ((slot = slots.nextHandedOver()) >= 0) {
            if (slots.commandsIssued[slot] == 0 && !prepare(slot)) {
                break;
            }
            while (slots.commandsIssued[slot] < slots.commandsTotal[slot] && freeCidCount > 0 && queue.hasSpace()) {
                issueCommand(slot, slots.commandsIssued[slot]++);
                any = true;
            }
            if (slots.commandsIssued[slot] < slots.commandsTotal[slot]) {
                break;
            }
            slots.retireHandedOver();
        }
        if (any) {
            queue.ringDoorbell();
            if (lastProgressNanos == 0) {
                lastProgressNanos = System.nanoTime();
            }
        }
    }

    /** Takes the bounce buffer of a transfer and fills it for a write; false if the DMA pool is exhausted. */
    private boolean prepare(int slot) {
        byte kind = slots.kinds[slot];
        if (kind != RequestSlots.READ && kind != RequestSlots.WRITE) {
            return true;
        }
        DmaAllocator.DmaBuffer b = dma.allocate(slots.lengths[slot]);
        if (b == null) {
            return false;
        }
        bounce[slot] = b;
        if (kind == RequestSlots.WRITE) {
            MemorySegment.copy(RequestChecks.ALL_MEMORY, slots.addresses[slot], b.segment(), 0, slots.lengths[slot]);
        }
        return true;
    }

    private void issueCommand(int slot, int index) {
        int cid = freeCids[--freeCidCount];
        cidSlot[cid] = slot;
        byte kind = slots.kinds[slot];
        long block = slots.blocks[slot];
        long e;
        switch (kind) {
            case RequestSlots.READ, RequestSlots.WRITE -> {
                int offset = index * maxCommandBytes;
                int bytes = Math.min(maxCommandBytes, slots.lengths[slot] - offset);
                long lba = block + offset / namespace.blockSize();
                e = queue.claim(kind == RequestSlots.READ ? NvmeOpcodes.NVM_READ : NvmeOpcodes.NVM_WRITE, cid);
                PrpList.Pointers prp = PrpList.build(bounce[slot], offset, bytes, prpLists[cid]);
                queue.putLong(e, NvmeCommandDescriptor.PRP1_OFFSET, prp.prp1());
                queue.putLong(e, NvmeCommandDescriptor.PRP2_OFFSET, prp.prp2());
                putRange(e, lba, bytes / namespace.blockSize());
            }
            case RequestSlots.FLUSH -> e = queue.claim(NvmeOpcodes.NVM_FLUSH, cid);
            case RequestSlots.WRITE_ZEROES -> {
                e = queue.claim(NvmeOpcodes.NVM_WRITE_ZEROES, cid);
                putRange(e, block, slots.lengths[slot]);
            }
            default -> {
                // One range in the command's own PRP list page: attributes 0, NLB, SLBA.
                MemorySegment range = prpLists[cid].segment();
                range.set(ValueLayout.JAVA_INT, 0, 0);
                range.set(ValueLayout.JAVA_INT, 4, slots.lengths[slot]);
                range.set(ValueLayout.JAVA_LONG, 8, block);
                e = queue.claim(NvmeOpcodes.NVM_DATASET_MANAGEMENT, cid);
                queue.putLong(e, NvmeCommandDescriptor.PRP1_OFFSET, prpLists[cid].ioAddress(0));
                queue.putInt(e, NvmeCommandDescriptor.CDW10_OFFSET, 0);
                queue.putInt(e, NvmeCommandDescriptor.CDW11_OFFSET, NvmeOpcodes.DSM_ATTRIBUTE_DEALLOCATE);
            }
        }
        queue.putInt(e, NvmeCommandDescriptor.NSID_OFFSET, namespace.nsid());
    }

    /** SLBA in CDW10/11, the zero-based block count in CDW12. */
    private void putRange(long e, long lba, int count) {
        queue.putInt(e, NvmeCommandDescriptor.CDW10_OFFSET, (int) lba);
        queue.putInt(e, NvmeCommandDescriptor.CDW11_OFFSET, (int) (lba >>> 32));
        queue.putInt(e, NvmeCommandDescriptor.CDW12_OFFSET, count - 1);
    }

    private void onCommandComplete(int cid, int status, int result) {
        if (cid >= cidSlot.length) {
            LOG.warn("{}: completion for unknown command {} on queue {} ignored", name, cid, queue.qid());
            return;
        }
        int slot = cidSlot[cid];
        freeCids[freeCidCount++] = cid;
        if (status != 0 && slots.results[slot] == 0) {
            LOG.warn(
                    "{}: command for blocks from {} failed with status 0x{}",
                    name,
                    slots.blocks[slot],
                    Integer.toHexString(status));
        }
        commandDone(slot, status == 0 ? 0 : -Errno.EIO.code());
    }

    /** One command of the slot ended; after its last one a read is copied out and its bounce buffer freed. */
    void commandDone(int slot, int error) {
        int before = slots.commandsDone[slot];
        if (before + 1 == slots.commandsTotal[slot]
                && error == 0
                && slots.results[slot] == 0
                && slots.kinds[slot] == RequestSlots.READ) {
            MemorySegment.copy(
                    bounce[slot].segment(), 0, RequestChecks.ALL_MEMORY, slots.addresses[slot], slots.lengths[slot]);
        }
        DmaAllocator.DmaBuffer b = bounce[slot];
        if (slots.commandDone(slot, error, slots.successResult(slot)) && b != null) {
            dma.free(b);
            bounce[slot] = null;
        }
    }

    /**
     * Reaps the CQ and issues what the freed resources allow. Under lock.
     *
     * @return why the controller needs a reset, or null
     */
    String reapAndCheck() {
        if (gone) {
            return null;
        }
        int reaped = queue.reap(sink, queue.entries());
        int inUse = cidsInUse();
        long now = System.nanoTime();
        if (reaped > 0) {
            lastProgressNanos = inUse > 0 ? now : 0;
            issue();
        } else if (inUse > 0 && lastProgressNanos != 0 && now - lastProgressNanos > timeoutNanos) {
            return "no completion on queue " + queue.qid() + " for "
                    + TimeUnit.NANOSECONDS.toMillis(now - lastProgressNanos) + " ms";
        } else if (inUse > 0 && controller.fatalStatus()) {
            return "controller fatal status (CSTS.CFS)";
        }
        return null;
    }
}
