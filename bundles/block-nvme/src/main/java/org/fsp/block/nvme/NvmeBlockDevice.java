package org.fsp.block.nvme;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.fsp.api.fs.Errno;
import org.fsp.block.nvme.pci.ControllerRegisters;
import org.fsp.block.nvme.pci.DmaAllocator;
import org.fsp.block.nvme.pci.DmaMapping;
import org.fsp.block.nvme.pci.NvmeController;
import org.fsp.block.nvme.pci.PrpList;
import org.fsp.block.nvme.pci.VfioPciDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user-space NVMe driver as a {@link BlockDevice}: a PCI function bound to vfio-pci, driven from this process
 * through polled I/O queue pairs, with no kernel on the I/O path.
 *
 * <p>Each I/O queue pair is a <em>lane</em> ({@link NvmeLane}) with its own lock, request slots and command
 * identifiers; a thread submits on the lane it was given at its first request (round robin over the lanes), so that
 * polling workers each drive a queue pair of their own and no device-wide lock sits on the I/O path. {@link #poll} reaps every lane it
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

    private final NvmeLane[] lanes;
    private final AtomicInteger nextLane = new AtomicInteger();
    private final ThreadLocal<NvmeLane> laneOfThread;
    private final ReentrantLock resetLock = new ReentrantLock();
    private final AtomicInteger resets = new AtomicInteger();
    private volatile boolean closed;
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
        this.lanes = new NvmeLane[pairs];
        for (int i = 0; i < pairs; i++) {
            lanes[i] = new NvmeLane(
                    i,
                    controller.createIoQueuePair(i + 1, entries),
                    name,
                    dma,
                    controller,
                    namespace,
                    queueDepth,
                    maxCommandBytes,
                    timeoutNanos,
                    outstanding,
                    stats);
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
        NvmeLane lane = laneOfThread.get();
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
        NvmeLane own = laneOfThread.get();
        int n = 0;
        for (NvmeLane lane : lanes) {
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
            NvmeLane lane = lanes[(start + i) % lanes.length];
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
                for (NvmeLane lane : lanes) {
                    failed[lane.index] = issuedSlots(lane);
                    lane.freeAllCids();
                    controller.freeQueuePair(lane.queue);
                }
                try {
                    controller.reset();
                    controller.requestQueuePairs(lanes.length);
                    for (NvmeLane lane : lanes) {
                        lane.queue = controller.createIoQueuePair(lane.index + 1, lane.queue.entries());
                    }
                } catch (RuntimeException e) {
                    LOG.error("{}: controller reset failed; the device is unusable", name, e);
                    closed = true;
                    for (NvmeLane lane : lanes) {
                        lane.gone = true;
                    }
                }
                for (NvmeLane lane : lanes) {
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
    private boolean[] issuedSlots(NvmeLane lane) {
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
    private static void failIssued(NvmeLane lane, int slot) {
        RequestSlots s = lane.slots;
        if (s.nextHandedOver() == slot) {
            s.retireHandedOver();
        }
        // The commands never issued count as failed too.
        s.commandsDone[slot] = s.commandsTotal[slot] - 1;
        lane.commandDone(slot, -Errno.EIO.code());
    }

    /** Runs {@code action} holding every lane's lock, taken in index order. */
    private void withAllLanes(Consumer<NvmeLane[]> action) {
        int locked = 0;
        try {
            for (NvmeLane lane : lanes) {
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
                for (NvmeLane lane : all) {
                    lane.gone = true;
                }
            });
            for (NvmeLane lane : lanes) {
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
        for (NvmeLane lane : lanes) {
            lane.slots.handOver();
            lane.pending = 0;
        }
        long deadline = System.nanoTime() + timeoutNanos;
        boolean busy = true;
        while (busy && System.nanoTime() < deadline) {
            busy = false;
            for (NvmeLane lane : lanes) {
                lane.issue();
                lane.queue.reap(lane.sink, lane.queue.entries());
                busy |= lane.slots.handedOverCount() > 0 || lane.cidsInUse() > 0;
            }
            Thread.onSpinWait();
        }
        try {
            for (NvmeLane lane : lanes) {
                controller.deleteIoQueuePair(lane.queue);
            }
            controller.shutdown();
        } catch (RuntimeException e) {
            LOG.warn("{}: orderly shutdown failed: {}", name, e.getMessage());
        }
    }
}
