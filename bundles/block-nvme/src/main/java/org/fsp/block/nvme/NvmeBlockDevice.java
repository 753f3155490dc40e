package org.fsp.block.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
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
 * through polled I/O queue pairs, with no kernel on the I/O path.
 *
 * <p>Each I/O queue pair is a <em>lane</em> with its own lock, request slots and command identifiers; a thread
 * submits on the lane it was given at its first request (round robin over the lanes), so that polling workers each
 * drive a queue pair of their own and no device-wide lock sits on the I/O path. {@link #poll} reaps every lane it
 * can lock at once, its own first; {@link #submit()} hands over the caller's lane and any other lane with queued
 * requests that is free at that moment. The DMA pool's allocator is the one structure the lanes share (a short
 * synchronized first fit per transfer).
 *
 * <p>A request goes through four states: <em>queued</em> by {@code submit*}; <em>handed over</em> by
 * {@link #submit()}; <em>issued</em> once a bounce buffer in DMA memory and command identifiers are free (a write is
 * copied in here; a transfer larger than the controller's limit becomes several commands); and <em>done</em> when
 * the last of its commands completes (a read is copied out here), to be reported by {@link #poll}. Bounce buffers
 * keep the caller's buffers out of the IOMMU, so any native buffer of the contract works.
 *
 * <p>A command that does not complete within {@link Options#timeoutNanos()} (or CSTS.CFS) makes the driver reset the
 * controller: the requests it had issued on any lane complete with {@code -EIO} (the file system turns read-only, as
 * for any device error), the queue pairs are recreated, and handed-over requests not yet issued go on.
 *
 * <p>Thread safety: any thread may submit and poll. Locks: one per lane for its queue pair and submission side,
 * one per lane for reporting its completions (so that a completion handler may submit again, on any lane, without
 * a lock order), and a reset lock under which a reset takes every lane's lock in index order.
 */
public final class NvmeBlockDevice implements ObservableBlockDevice {

    private static final Logger LOG = LoggerFactory.getLogger(NvmeBlockDevice.class);

    /** Buffer alignment the contract asks of callers, bytes. */
    public static final int ALIGNMENT = 4096;

    /**
     * How to open the device.
     *
     * @param ioQueues I/O queue pairs to ask the controller for (it may grant fewer)
     */
    public record Options(
            String pciAddress, int queueDepth, int nsid, long dmaPoolBytes, long timeoutNanos, int ioQueues) {

        /** The first active namespace, a 64 MiB DMA pool, a 30 s command timeout, {@link #defaultIoQueues()}. */
        public static Options of(String pciAddress, int queueDepth) {
            return new Options(pciAddress, queueDepth, 0, 64L << 20, TimeUnit.SECONDS.toNanos(30), defaultIoQueues());
        }

        /** One queue pair per core, at most 4: FSP's polling workers are at most one per core. */
        public static int defaultIoQueues() {
            return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
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
    private final AtomicInteger outstanding = new AtomicInteger();

    private final Lane[] lanes;
    private final AtomicInteger nextLane = new AtomicInteger();
    private final ThreadLocal<Lane> laneOfThread;
    private final ReentrantLock resetLock = new ReentrantLock();
    private final AtomicInteger resets = new AtomicInteger();
    private volatile boolean closed;
    private boolean released;

    /** One I/O queue pair with the requests on it. */
    private final class Lane {
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
        /** Requests queued and not handed over, for other threads' {@link #submit()}; written under lock. */
        volatile int pending;

        Lane(int index, NvmeQueuePair queue) {
            this.index = index;
            this.queue = queue;
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
                MemorySegment.copy(
                        RequestChecks.ALL_MEMORY, slots.addresses[slot], b.segment(), 0, slots.lengths[slot]);
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
                    long lba = block + offset / blockSize();
                    e = queue.claim(kind == RequestSlots.READ ? NvmeOpcodes.NVM_READ : NvmeOpcodes.NVM_WRITE, cid);
                    PrpList.Pointers prp = PrpList.build(bounce[slot], offset, bytes, prpLists[cid]);
                    queue.putLong(e, NvmeCommandDescriptor.PRP1_OFFSET, prp.prp1());
                    queue.putLong(e, NvmeCommandDescriptor.PRP2_OFFSET, prp.prp2());
                    putRange(e, lba, bytes / blockSize());
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
                        bounce[slot].segment(),
                        0,
                        RequestChecks.ALL_MEMORY,
                        slots.addresses[slot],
                        slots.lengths[slot]);
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
     * Brings the controller up, identifies its namespace and shuts it down again: what {@code fspd} checks before it
     * starts, so that a namespace the driver cannot use ends with a message rather than a failed bundle.
     *
     * @return the device's one-line description
     * @throws org.fsp.block.nvme.pci.NvmeSetupException what is wrong, e.g. {@code UNSUPPORTED_LBA_SIZE}
     */
    public static String probe(String pciAddress) {
        try (NvmeBlockDevice device = open(new Options(pciAddress, 1, 0, 1L << 20, TimeUnit.SECONDS.toNanos(5), 1))) {
            return device.describe();
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
        if (options.ioQueues() < 1 || options.ioQueues() > 64) {
            throw new IllegalArgumentException("I/O queue count " + options.ioQueues() + " outside 1..64");
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
        this.queueDepth = options.queueDepth();
        this.maxCommandBytes = (int) Math.min(info.maxTransferBytes(), PrpList.MAX_TRANSFER_BYTES);
        this.timeoutNanos = options.timeoutNanos();
        int pairs = Math.min(options.ioQueues(), controller.requestQueuePairs(options.ioQueues()));
        int entries = Math.min(1024, Math.max(64, queueDepth * 2));
        this.lanes = new Lane[pairs];
        for (int i = 0; i < pairs; i++) {
            lanes[i] = new Lane(i, controller.createIoQueuePair(i + 1, entries));
        }
        this.laneOfThread = ThreadLocal.withInitial(() -> lanes[nextLane.getAndIncrement() % lanes.length]);
        LOG.info(
                "{}: {} {} fw {}, namespace {}: {} x {} bytes, max transfer {} bytes, ONCS 0x{}, {} I/O queue pair(s)"
                        + " of {} entries",
                name,
                info.model(),
                info.serial(),
                info.firmware(),
                namespace.nsid(),
                namespace.blocks(),
                namespace.blockSize(),
                maxCommandBytes,
                Integer.toHexString(info.oncs()),
                lanes.length,
                lanes[0].queue.entries());
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
        return resets.get();
    }

    /** I/O queue pairs in use. */
    public int ioQueues() {
        return lanes.length;
    }

    @Override
    public boolean submitRead(long block, MemorySegment buffer, long tag) {
        int length = checkTransfer(block, buffer);
        return queue(RequestSlots.READ, block, buffer.address(), length, tag);
    }

    @Override
    public boolean submitWrite(long block, MemorySegment buffer, long tag) {
        int length = checkTransfer(block, buffer);
        return queue(RequestSlots.WRITE, block, buffer.address(), length, tag);
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
        return queue(RequestSlots.FLUSH, 0, 0, 0, tag);
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
        return queue(RequestSlots.WRITE_ZEROES, block, 0, count, tag);
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
        return queue(RequestSlots.DEALLOCATE, block, 0, count, tag);
    }

    private void checkRange(long block, int count) {
        if (count < 1 || count > 65536 || block < 0 || block > blockCount() - count) {
            throw new IllegalArgumentException("blocks [" + block + ", " + (block + count) + ") lie outside the "
                    + "device's " + blockCount() + " blocks or exceed 65536 per command");
        }
    }

    private boolean queue(byte kind, long block, long address, int length, long tag) {
        int commands = kind == RequestSlots.READ || kind == RequestSlots.WRITE
                ? (length + maxCommandBytes - 1) / maxCommandBytes
                : 1;
        Lane lane = laneOfThread.get();
        lane.lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException(name + " is closed");
            }
            if (lane.slots.take(kind, block, address, length, tag, commands, queueDepth) < 0) {
                return false;
            }
            lane.pending = lane.slots.queuedCount();
            return true;
        } finally {
            lane.lock.unlock();
        }
    }

    /**
     * Hands over the requests this thread queued, and those of other lanes that are free at this moment, and issues
     * as many commands as the queue pairs and the DMA pool allow.
     */
    @Override
    public int submit() {
        Lane own = laneOfThread.get();
        int n = 0;
        for (Lane lane : lanes) {
            if (lane == own) {
                lane.lock.lock();
            } else if (lane.pending == 0 || !lane.lock.tryLock()) {
                continue;
            }
            try {
                n += lane.slots.handOver();
                lane.pending = 0;
                lane.issue();
            } finally {
                lane.lock.unlock();
            }
        }
        return n;
    }

    @Override
    public int poll(CompletionHandler handler, int max) {
        int start = laneOfThread.get().index;
        int reported = 0;
        String resetReason = null;
        for (int i = 0; i < lanes.length && reported < max; i++) {
            Lane lane = lanes[(start + i) % lanes.length];
            if (lane.lock.tryLock()) {
                try {
                    String why = lane.reapAndCheck();
                    if (why != null) {
                        resetReason = why;
                    }
                } finally {
                    lane.lock.unlock();
                }
            }
            if (lane.reportLock.tryLock()) {
                try {
                    reported += lane.slots.report(handler, max - reported);
                } finally {
                    lane.reportLock.unlock();
                }
            }
        }
        if (resetReason != null) {
            resetController(resetReason);
        }
        return reported;
    }

    /**
     * Resets the controller: every request with an issued command, on any lane, completes with -EIO, the I/O queue
     * pairs are recreated, and requests not yet issued go on. Takes the reset lock, then every lane's lock.
     */
    private void resetController(String why) {
        if (!resetLock.tryLock()) {
            return; // another thread is resetting
        }
        try {
            withAllLanes(ignored -> {
                if (closed) {
                    return;
                }
                resets.incrementAndGet();
                LOG.error("{}: resetting the controller: {}", name, why);
                boolean[][] failed = new boolean[lanes.length][];
                for (Lane lane : lanes) {
                    failed[lane.index] = issuedSlots(lane);
                    lane.freeAllCids();
                    controller.freeQueuePair(lane.queue);
                }
                try {
                    controller.reset();
                    controller.requestQueuePairs(lanes.length);
                    for (Lane lane : lanes) {
                        lane.queue = controller.createIoQueuePair(lane.index + 1, lane.queue.entries());
                    }
                } catch (RuntimeException e) {
                    LOG.error("{}: controller reset failed; the device is unusable", name, e);
                    closed = true;
                    for (Lane lane : lanes) {
                        lane.gone = true;
                    }
                }
                for (Lane lane : lanes) {
                    for (int slot = 0; slot < queueDepth; slot++) {
                        if (failed[lane.index][slot]) {
                            failIssued(lane, slot);
                        }
                    }
                    lane.lastProgressNanos = 0;
                    if (lane.gone) {
                        // No queue pair to carry them: what waits fails too, so that no caller waits forever.
                        lane.slots.handOver();
                        lane.pending = 0;
                        int slot;
                        while ((slot = lane.slots.nextHandedOver()) >= 0) {
                            failIssued(lane, slot);
                        }
                    } else {
                        lane.issue();
                    }
                }
            });
        } finally {
            resetLock.unlock();
        }
    }

    /** The slots with a command on the device. */
    private boolean[] issuedSlots(Lane lane) {
        boolean[] free = new boolean[lane.cidSlot.length];
        for (int i = 0; i < lane.freeCidCount; i++) {
            free[lane.freeCids[i]] = true;
        }
        boolean[] issued = new boolean[queueDepth];
        for (int cid = 0; cid < free.length; cid++) {
            if (!free[cid]) {
                issued[lane.cidSlot[cid]] = true;
            }
        }
        return issued;
    }

    /** A request whose commands the reset aborted ends with -EIO, also leaving the FIFO if partly issued. */
    private static void failIssued(Lane lane, int slot) {
        RequestSlots s = lane.slots;
        if (s.nextHandedOver() == slot) {
            s.retireHandedOver();
        }
        // The commands never issued count as failed too.
        s.commandsDone[slot] = s.commandsTotal[slot] - 1;
        lane.commandDone(slot, -Errno.EIO.code());
    }

    /** Runs {@code action} holding every lane's lock, taken in index order. */
    private void withAllLanes(Consumer<Lane[]> action) {
        int locked = 0;
        try {
            for (Lane lane : lanes) {
                lane.lock.lock();
                locked++;
            }
            action.accept(lanes);
        } finally {
            for (int i = locked - 1; i >= 0; i--) {
                lanes[i].lock.unlock();
            }
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
                + " qd=" + queueDepth + " queues=" + lanes.length + "x" + lanes[0].queue.entries() + " oncs=0x"
                + Integer.toHexString(info.oncs());
    }

    /**
     * Issues what was queued, waits for every command (up to the timeout), drops completions nobody polled, deletes
     * the I/O queues, shuts the controller down (its write cache is written back), and releases the device.
     */
    @Override
    public void close() {
        resetLock.lock();
        try {
            if (released) {
                return;
            }
            boolean wasOpen = !closed;
            closed = true;
            withAllLanes(all -> {
                if (wasOpen) {
                    drainAndShutDown();
                }
                for (Lane lane : all) {
                    lane.gone = true;
                }
            });
            for (Lane lane : lanes) {
                lane.reportLock.lock();
                try {
                    lane.slots.dropDone();
                } finally {
                    lane.reportLock.unlock();
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
            resetLock.unlock();
        }
    }

    /** Under every lane's lock. */
    private void drainAndShutDown() {
        for (Lane lane : lanes) {
            lane.slots.handOver();
            lane.pending = 0;
        }
        long deadline = System.nanoTime() + timeoutNanos;
        boolean busy = true;
        while (busy && System.nanoTime() < deadline) {
            busy = false;
            for (Lane lane : lanes) {
                lane.issue();
                lane.queue.reap(lane.sink, lane.queue.entries());
                busy |= lane.slots.handedOverCount() > 0 || lane.cidsInUse() > 0;
            }
            Thread.onSpinWait();
        }
        try {
            for (Lane lane : lanes) {
                controller.deleteIoQueuePair(lane.queue);
            }
            controller.shutdown();
        } catch (RuntimeException e) {
            LOG.warn("{}: orderly shutdown failed: {}", name, e.getMessage());
        }
    }
}
