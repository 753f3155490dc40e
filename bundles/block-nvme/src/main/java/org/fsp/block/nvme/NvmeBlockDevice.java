package org.fsp.block.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.api.fs.Errno;
import org.fsp.block.nvme.pci.ControllerRegisters;
import org.fsp.block.nvme.pci.DmaAllocator;
import org.fsp.block.nvme.pci.DmaMapping;
import org.fsp.block.nvme.pci.NvmeCommandDescriptor;
import org.fsp.block.nvme.pci.NvmeController;
import org.fsp.block.nvme.pci.NvmeOpcodes;
import org.fsp.block.nvme.pci.NvmeQueuePair;
import org.fsp.block.nvme.pci.PrpList;
import org.fsp.block.nvme.pci.VfioPciDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user-space NVMe driver as a {@link BlockDevice}: a PCI function bound to vfio-pci, driven from this process
 * through one polled I/O queue pair, with no kernel on the I/O path.
 *
 * <p>A request goes through four states: <em>queued</em> by {@code submit*}; <em>handed over</em> by
 * {@link #submit()}; <em>issued</em> once a bounce buffer in DMA memory and command identifiers are free (a write is
 * copied in here; a transfer larger than the controller's limit becomes several commands); and <em>done</em> when
 * the last of its commands completes (a read is copied out here), to be reported by {@link #poll}. Bounce buffers
 * keep the caller's buffers out of the IOMMU, so any native buffer of the contract works.
 *
 * <p>A command that does not complete within {@link Options#timeoutNanos()} (or CSTS.CFS) makes the driver reset the
 * controller: the requests it had issued complete with {@code -EIO}, the queue pair is recreated, and handed-over
 * requests not yet issued go on.
 *
 * <p>Thread safety: one lock guards all state; {@link #poll} only tries it, so a second poller returns at once.
 */
public final class NvmeBlockDevice implements ObservableBlockDevice {

    private static final Logger LOG = LoggerFactory.getLogger(NvmeBlockDevice.class);

    /** Buffer alignment the contract asks of callers, bytes. */
    public static final int ALIGNMENT = 4096;

    private static final byte KIND_READ = 0;
    private static final byte KIND_WRITE = 1;
    private static final byte KIND_FLUSH = 2;
    private static final byte KIND_WRITE_ZEROES = 3;
    private static final byte KIND_DEALLOCATE = 4;

    /** How to open the device. */
    public record Options(String pciAddress, int queueDepth, int nsid, long dmaPoolBytes, long timeoutNanos) {

        /** The first active namespace, a 64 MiB DMA pool, a 30 s command timeout. */
        public static Options of(String pciAddress, int queueDepth) {
            return new Options(pciAddress, queueDepth, 0, 64L << 20, TimeUnit.SECONDS.toNanos(30));
        }
    }

    private final String name;
    private final String mode;
    private final AutoCloseable resources;
    private final DmaMapping mapping;
    private final DmaAllocator dma;
    private final NvmeController controller;
    private final NvmeController.ControllerInfo info;
    private final NvmeController.NamespaceInfo namespace;
    private final int queueDepth;
    private final int maxCommandBytes;
    private final long timeoutNanos;
    private final DeviceStats stats = new DeviceStats(() -> 0L);

    private final ReentrantLock lock = new ReentrantLock();
    private NvmeQueuePair queue;

    // Per request slot.
    private final long[] tags;
    private final byte[] kinds;
    private final long[] blocks;
    private final long[] userAddresses;
    private final int[] lengths;
    private final long[] queuedNanos;
    private final DmaAllocator.DmaBuffer[] bounce;
    private final int[] commandsTotal;
    private final int[] commandsIssued;
    private final int[] commandsDone;
    private final int[] results;
    private final OneToOneIntQueue freeSlots;
    /** Queued, not yet handed over: in order. */
    private final int[] queued;

    private int queuedCount;
    /** Handed over, not fully issued: a FIFO ring. */
    private final int[] handedOver;

    private int handedOverHead;
    private int handedOverCount;
    /** Done, to be reported. */
    private final OneToOneIntQueue done;

    // Per command identifier.
    private final int[] cidSlot;
    private final DmaAllocator.DmaBuffer[] prpLists;
    private final int[] freeCids;
    private int freeCidCount;

    private final AtomicInteger outstanding = new AtomicInteger();
    private long lastProgressNanos;
    private int resets;
    private boolean closed;
    private boolean released;

    /** Opens the PCI function through VFIO and brings the controller up. */
    public static NvmeBlockDevice open(Options options) {
        VfioPciDevice pci = VfioPciDevice.open(options.pciAddress());
        DmaMapping mapping = null;
        try {
            mapping = pci.mapDma(options.dmaPoolBytes());
            return new NvmeBlockDevice(
                    "nvme " + pci.pciAddress(),
                    pci.noIommu() ? "vfio-noiommu" : "vfio",
                    pci.registers(),
                    mapping,
                    pci,
                    options);
        } catch (RuntimeException e) {
            if (mapping != null) {
                mapping.close();
            }
            pci.close();
            throw e;
        }
    }

    /**
     * A driver over any register file and DMA mapping (the VFIO ones, or a test's controller double).
     *
     * @param resources closed after the controller is shut down and the mapping removed
     */
    NvmeBlockDevice(
            String name,
            String mode,
            ControllerRegisters registers,
            DmaMapping mapping,
            AutoCloseable resources,
            Options options) {
        if (options.queueDepth() < 1 || options.queueDepth() > IoUringBlockDevice.MAX_QUEUE_DEPTH) {
            throw new IllegalArgumentException(
                    "queue depth " + options.queueDepth() + " outside 1.." + IoUringBlockDevice.MAX_QUEUE_DEPTH);
        }
        this.name = name;
        this.mode = mode;
        this.resources = resources;
        this.mapping = mapping;
        this.dma = new DmaAllocator(mapping);
        this.controller = NvmeController.enable(registers, dma);
        this.info = controller.identifyController();
        int nsid = options.nsid() > 0 ? options.nsid() : controller.firstActiveNamespace();
        this.namespace = controller.identifyNamespace(nsid);
        controller.requestQueuePairs(1);
        this.queue = controller.createIoQueuePair(1, Math.min(1024, Math.max(64, options.queueDepth() * 2)));
        this.queueDepth = options.queueDepth();
        this.maxCommandBytes = (int) Math.min(info.maxTransferBytes(), PrpList.MAX_TRANSFER_BYTES);
        this.timeoutNanos = options.timeoutNanos();

        tags = new long[queueDepth];
        kinds = new byte[queueDepth];
        blocks = new long[queueDepth];
        userAddresses = new long[queueDepth];
        lengths = new int[queueDepth];
        queuedNanos = new long[queueDepth];
        bounce = new DmaAllocator.DmaBuffer[queueDepth];
        commandsTotal = new int[queueDepth];
        commandsIssued = new int[queueDepth];
        commandsDone = new int[queueDepth];
        results = new int[queueDepth];
        freeSlots = new OneToOneIntQueue(queueDepth);
        done = new OneToOneIntQueue(queueDepth);
        queued = new int[queueDepth];
        handedOver = new int[queueDepth];
        for (int i = 0; i < queueDepth; i++) {
            freeSlots.offer(i);
        }
        // One command per CQ entry but one keeps the CQ from ever overflowing.
        int cids = queue.entries() - 1;
        cidSlot = new int[cids];
        prpLists = new DmaAllocator.DmaBuffer[cids];
        freeCids = new int[cids];
        for (int i = 0; i < cids; i++) {
            prpLists[i] = dma.allocateOrThrow(DmaAllocator.PAGE_BYTES, "PRP lists");
            freeCids[freeCidCount++] = cids - 1 - i;
        }
        LOG.info(
                "{}: {} {} fw {}, namespace {}: {} x {} bytes, max transfer {} bytes, ONCS 0x{}, {} I/O entries",
                name,
                info.model(),
                info.serial(),
                info.firmware(),
                namespace.nsid(),
                namespace.blocks(),
                namespace.blockSize(),
                maxCommandBytes,
                Integer.toHexString(info.oncs()),
                queue.entries());
    }

    @Override
    public int blockSize() {
        return namespace.blockSize();
    }

    @Override
    public long blockCount() {
        return namespace.blocks();
    }

    @Override
    public int bufferAlignment() {
        return ALIGNMENT;
    }

    @Override
    public int queueDepth() {
        return queueDepth;
    }

    /** The controller's Identify data. */
    public NvmeController.ControllerInfo controllerInfo() {
        return info;
    }

    /** Controller resets after a timeout or a fatal status. */
    public int resets() {
        return resets;
    }

    @Override
    public boolean submitRead(long block, MemorySegment buffer, long tag) {
        int length = checkTransfer(block, buffer);
        return queue(KIND_READ, block, buffer.address(), length, tag);
    }

    @Override
    public boolean submitWrite(long block, MemorySegment buffer, long tag) {
        int length = checkTransfer(block, buffer);
        return queue(KIND_WRITE, block, buffer.address(), length, tag);
    }

    private int checkTransfer(long block, MemorySegment buffer) {
        int length = RequestChecks.checkTransfer(block, buffer, blockSize(), blockCount(), ALIGNMENT);
        if (length > dma.totalPages() / 2L * DmaAllocator.PAGE_BYTES) {
            throw new IllegalArgumentException("transfer of " + length + " bytes exceeds half of the "
                    + (long) dma.totalPages() * DmaAllocator.PAGE_BYTES + "-byte DMA pool");
        }
        return length;
    }

    @Override
    public boolean submitFlush(long tag) {
        return queue(KIND_FLUSH, 0, 0, 0, tag);
    }

    /**
     * Queues a Write Zeroes of {@code count} blocks (at most 65536) from {@code block}; completes with 0.
     *
     * @throws UnsupportedOperationException if the controller lacks Write Zeroes (ONCS bit 3)
     */
    public boolean submitWriteZeroes(long block, int count, long tag) {
        if (!info.hasWriteZeroes()) {
            throw new UnsupportedOperationException(name + " has no Write Zeroes command (ONCS bit 3)");
        }
        checkRange(block, count);
        return queue(KIND_WRITE_ZEROES, block, 0, count, tag);
    }

    /**
     * Queues a Dataset Management deallocate (trim) of {@code count} blocks from {@code block}; completes with 0.
     *
     * @throws UnsupportedOperationException if the controller lacks Dataset Management (ONCS bit 2)
     */
    public boolean submitDeallocate(long block, int count, long tag) {
        if (!info.hasDatasetManagement()) {
            throw new UnsupportedOperationException(name + " has no Dataset Management command (ONCS bit 2)");
        }
        checkRange(block, count);
        return queue(KIND_DEALLOCATE, block, 0, count, tag);
    }

    private void checkRange(long block, int count) {
        if (count < 1 || count > 65536 || block < 0 || block > blockCount() - count) {
            throw new IllegalArgumentException("blocks [" + block + ", " + (block + count) + ") lie outside the "
                    + "device's " + blockCount() + " blocks or exceed 65536 per command");
        }
    }

    private boolean queue(byte kind, long block, long address, int length, long tag) {
        long now = System.nanoTime();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException(name + " is closed");
            }
            int slot = freeSlots.poll();
            if (slot < 0) {
                stats.recordQueueFull();
                return false;
            }
            outstanding.incrementAndGet();
            tags[slot] = tag;
            kinds[slot] = kind;
            blocks[slot] = block;
            userAddresses[slot] = address;
            lengths[slot] = length;
            queuedNanos[slot] = now;
            commandsTotal[slot] =
                    (kind == KIND_READ || kind == KIND_WRITE) ? (length + maxCommandBytes - 1) / maxCommandBytes : 1;
            commandsIssued[slot] = 0;
            commandsDone[slot] = 0;
            results[slot] = 0;
            queued[queuedCount++] = slot;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Hands over every queued request and issues as many commands as the queue pair and the DMA pool allow. */
    @Override
    public int submit() {
        lock.lock();
        try {
            int n = queuedCount;
            for (int i = 0; i < n; i++) {
                handedOver[(handedOverHead + handedOverCount++) % queueDepth] = queued[i];
            }
            queuedCount = 0;
            issue();
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Issues commands for handed-over requests, in order, until something runs out. Under the lock. */
    private void issue() {
        boolean any = false;
        while (handedOverCount > 0) {
            int slot = handedOver[handedOverHead];
            if (commandsIssued[slot] == 0 && !prepare(slot)) {
                break;
            }
            while (commandsIssued[slot] < commandsTotal[slot] && freeCidCount > 0 && queue.hasSpace()) {
                issueCommand(slot, commandsIssued[slot]++);
                any = true;
            }
            if (commandsIssued[slot] < commandsTotal[slot]) {
                break;
            }
            handedOverHead = (handedOverHead + 1) % queueDepth;
            handedOverCount--;
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
        if (kinds[slot] != KIND_READ && kinds[slot] != KIND_WRITE) {
            return true;
        }
        DmaAllocator.DmaBuffer b = dma.allocate(lengths[slot]);
        if (b == null) {
            return false;
        }
        bounce[slot] = b;
        if (kinds[slot] == KIND_WRITE) {
            MemorySegment.copy(RequestChecks.ALL_MEMORY, userAddresses[slot], b.segment(), 0, lengths[slot]);
        }
        return true;
    }

    private void issueCommand(int slot, int index) {
        int cid = freeCids[--freeCidCount];
        cidSlot[cid] = slot;
        byte kind = kinds[slot];
        int nsid = namespace.nsid();
        long e;
        switch (kind) {
            case KIND_READ, KIND_WRITE -> {
                int offset = index * maxCommandBytes;
                int bytes = Math.min(maxCommandBytes, lengths[slot] - offset);
                long lba = blocks[slot] + offset / blockSize();
                e = queue.claim(kind == KIND_READ ? NvmeOpcodes.NVM_READ : NvmeOpcodes.NVM_WRITE, cid);
                PrpList.Pointers prp = PrpList.build(bounce[slot], offset, bytes, prpLists[cid]);
                queue.putLong(e, NvmeCommandDescriptor.PRP1_OFFSET, prp.prp1());
                queue.putLong(e, NvmeCommandDescriptor.PRP2_OFFSET, prp.prp2());
                queue.putInt(e, NvmeCommandDescriptor.CDW10_OFFSET, (int) lba);
                queue.putInt(e, NvmeCommandDescriptor.CDW11_OFFSET, (int) (lba >>> 32));
                queue.putInt(e, NvmeCommandDescriptor.CDW12_OFFSET, bytes / blockSize() - 1);
            }
            case KIND_FLUSH -> e = queue.claim(NvmeOpcodes.NVM_FLUSH, cid);
            case KIND_WRITE_ZEROES -> {
                long lba = blocks[slot];
                e = queue.claim(NvmeOpcodes.NVM_WRITE_ZEROES, cid);
                queue.putInt(e, NvmeCommandDescriptor.CDW10_OFFSET, (int) lba);
                queue.putInt(e, NvmeCommandDescriptor.CDW11_OFFSET, (int) (lba >>> 32));
                queue.putInt(e, NvmeCommandDescriptor.CDW12_OFFSET, lengths[slot] - 1);
            }
            default -> {
                // One range in the command's own PRP list page: attributes 0, NLB, SLBA.
                MemorySegment range = prpLists[cid].segment();
                range.set(ValueLayout.JAVA_INT, 0, 0);
                range.set(ValueLayout.JAVA_INT, 4, lengths[slot]);
                range.set(ValueLayout.JAVA_LONG, 8, blocks[slot]);
                e = queue.claim(NvmeOpcodes.NVM_DATASET_MANAGEMENT, cid);
                queue.putLong(e, NvmeCommandDescriptor.PRP1_OFFSET, prpLists[cid].ioAddress(0));
                queue.putInt(e, NvmeCommandDescriptor.CDW10_OFFSET, 0);
                queue.putInt(e, NvmeCommandDescriptor.CDW11_OFFSET, NvmeOpcodes.DSM_ATTRIBUTE_DEALLOCATE);
            }
        }
        queue.putInt(e, NvmeCommandDescriptor.NSID_OFFSET, nsid);
    }

    private final NvmeQueuePair.CompletionSink sink = this::onCommandComplete;

    private void onCommandComplete(int cid, int status, int result) {
        if (cid >= cidSlot.length) {
            LOG.warn("{}: completion for unknown command {} ignored", name, cid);
            return;
        }
        int slot = cidSlot[cid];
        freeCids[freeCidCount++] = cid;
        if (status != 0 && results[slot] == 0) {
            LOG.warn(
                    "{}: command for blocks from {} failed with status 0x{}",
                    name,
                    blocks[slot],
                    Integer.toHexString(status));
            results[slot] = -Errno.EIO.code();
        }
        if (++commandsDone[slot] == commandsTotal[slot]) {
            finish(slot);
        }
    }

    /** A request's last command completed: copy a read out, free its bounce buffer, make it reportable. */
    private void finish(int slot) {
        byte kind = kinds[slot];
        if (results[slot] == 0) {
            if (kind == KIND_READ) {
                MemorySegment.copy(
                        bounce[slot].segment(), 0, RequestChecks.ALL_MEMORY, userAddresses[slot], lengths[slot]);
            }
            results[slot] = (kind == KIND_READ || kind == KIND_WRITE) ? lengths[slot] : 0;
        }
        if (bounce[slot] != null) {
            dma.free(bounce[slot]);
            bounce[slot] = null;
        }
        done.offer(slot);
    }

    @Override
    public int poll(CompletionHandler handler, int max) {
        if (!lock.tryLock()) {
            return 0;
        }
        try {
            if (!closed || outstanding.get() > 0) {
                reapAndCheck();
            }
            int reported = 0;
            int slot;
            while (reported < max && (slot = done.poll()) >= 0) {
                long tag = tags[slot];
                byte kind = kinds[slot];
                int result = results[slot];
                stats.recordCompletion(
                        kind == KIND_READ
                                ? DeviceStats.Kind.READ
                                : kind == KIND_WRITE ? DeviceStats.Kind.WRITE : DeviceStats.Kind.FLUSH,
                        result,
                        System.nanoTime() - queuedNanos[slot]);
                freeSlots.offer(slot);
                outstanding.decrementAndGet();
                handler.onComplete(tag, result);
                reported++;
            }
            return reported;
        } finally {
            lock.unlock();
        }
    }

    /** Reaps the CQ, issues what the freed resources allow, and resets a controller that stopped answering. */
    private void reapAndCheck() {
        int reaped = queue.reap(sink, queue.entries());
        int inUse = cidSlot.length - freeCidCount;
        long now = System.nanoTime();
        if (reaped > 0) {
            lastProgressNanos = inUse > 0 ? now : 0;
            issue();
        } else if (inUse > 0 && lastProgressNanos != 0 && now - lastProgressNanos > timeoutNanos) {
            resetController("no completion for " + TimeUnit.NANOSECONDS.toMillis(now - lastProgressNanos) + " ms");
        } else if (inUse > 0 && controller.fatalStatus()) {
            resetController("controller fatal status (CSTS.CFS)");
        }
    }

    /**
     * Resets the controller: every request with an issued command completes with -EIO, the I/O queue pair is
     * recreated, and requests not yet issued go on. Under the lock.
     */
    private void resetController(String why) {
        resets++;
        LOG.error("{}: resetting the controller: {}", name, why);
        boolean[] failed = new boolean[queueDepth];
        for (int cid = 0; cid < cidSlot.length; cid++) {
            boolean free = false;
            for (int i = 0; i < freeCidCount; i++) {
                if (freeCids[i] == cid) {
                    free = true;
                    break;
                }
            }
            if (!free) {
                failed[cidSlot[cid]] = true;
            }
        }
        freeCidCount = 0;
        for (int i = cidSlot.length - 1; i >= 0; i--) {
            freeCids[freeCidCount++] = i;
        }
        controller.freeQueuePair(queue);
        try {
            controller.reset();
            controller.requestQueuePairs(1);
            queue = controller.createIoQueuePair(1, queue.entries());
        } catch (RuntimeException e) {
            LOG.error("{}: controller reset failed; the device is unusable", name, e);
            closed = true;
        }
        for (int slot = 0; slot < queueDepth; slot++) {
            if (failed[slot]) {
                results[slot] = -Errno.EIO.code();
                commandsDone[slot] = commandsTotal[slot];
                // A partly issued request leaves the handed-over ring too.
                if (handedOverCount > 0 && handedOver[handedOverHead] == slot) {
                    handedOverHead = (handedOverHead + 1) % queueDepth;
                    handedOverCount--;
                }
                finish(slot);
            }
        }
        lastProgressNanos = 0;
        if (!closed) {
            issue();
        }
    }

    @Override
    public int inFlight() {
        return outstanding.get();
    }

    @Override
    public String driver() {
        return "nvme";
    }

    @Override
    public String mode() {
        return mode;
    }

    @Override
    public DeviceStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "nvme " + name.substring(name.indexOf(' ') + 1) + " mode=" + mode + " model=\"" + info.model()
                + "\" ns=" + namespace.nsid() + " blocks=" + namespace.blocks() + "x" + namespace.blockSize()
                + " qd=" + queueDepth + " sq=" + queue.entries() + " oncs=0x" + Integer.toHexString(info.oncs());
    }

    /**
     * Issues what was queued, waits for every command (up to the timeout), drops completions nobody polled, deletes
     * the I/O queues, shuts the controller down (its write cache is written back), and releases the device.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (released) {
                return;
            }
            if (!closed) {
                closed = true;
                for (int i = 0; i < queuedCount; i++) {
                    handedOver[(handedOverHead + handedOverCount++) % queueDepth] = queued[i];
                }
                queuedCount = 0;
                long deadline = System.nanoTime() + timeoutNanos;
                while ((handedOverCount > 0 || freeCidCount < cidSlot.length) && System.nanoTime() < deadline) {
                    issue();
                    queue.reap(sink, queue.entries());
                    Thread.onSpinWait();
                }
                while (done.poll() >= 0) {
                    outstanding.decrementAndGet();
                }
                try {
                    controller.deleteIoQueuePair(queue);
                    controller.shutdown();
                } catch (RuntimeException e) {
                    LOG.warn("{}: orderly shutdown failed: {}", name, e.getMessage());
                }
            }
            try {
                mapping.close();
                resources.close();
            } catch (Exception e) {
                LOG.warn("{}: releasing the device failed: {}", name, e.getMessage());
            }
            released = true;
        } finally {
            lock.unlock();
        }
    }
}
