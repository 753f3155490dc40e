package org.fsp.block.nvme;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fsp.api.fs.Errno;
import org.fsp.block.nvme.pci.NvmeOpcodes;
import org.fsp.block.nvme.pci.NvmeSetupException;
import org.fsp.block.nvme.pci.NvmeUringCommandDescriptor;
import org.fsp.linux.IoUring;
import org.fsp.linux.IoUringRing;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeCall;
import org.fsp.linux.NativeException;

/**
 * NVMe commands through the kernel's NVMe driver without its block layer: {@code IORING_OP_URING_CMD} with
 * {@code NVME_URING_CMD_IO} on a namespace's generic character device {@code /dev/ngXnY} (Linux 5.19+), on a ring
 * set up with 128-byte SQEs and 32-byte CQEs. The middle path between io_uring on the block device and the
 * user-space driver: the kernel still owns the controller, but no bio, request merging or I/O scheduler runs.
 *
 * <p>A request larger than the controller's limit ({@code max_hw_sectors_kb}) becomes several commands; it
 * completes when the last one does. A command's result is 0 on success, an NVMe status (&gt; 0), reported as
 * {@code -EIO}, or a negated errno. The caller's buffers are used directly (the kernel maps them per command).
 *
 * <p>Thread safety: one lock guards all state; {@link #poll} only tries it.
 */
public final class NvmePassthroughBlockDevice implements ObservableBlockDevice {

    /** Buffer alignment the contract asks of callers, bytes. */
    public static final int ALIGNMENT = 4096;

    private static final Pattern GENERIC = Pattern.compile("ng(\\d+)n(\\d+)");
    /** NVME_IOCTL_ID = _IO('N', 0x40): the namespace id of the file. */
    private static final long NVME_IOCTL_ID = ('N' << 8) | 0x40;

    private static final MethodHandle IOCTL =
            NativeCall.bindVariadic("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);

    private final Path path;
    private final int fd;
    private final int nsid;
    private final int blockSize;
    private final long blockCount;
    private final int maxCommandBytes;
    private final int queueDepth;
    private final IoUringRing ring;
    private final DeviceStats stats;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment command;

    /** Guarded by lock, submission and completion side alike. */
    private final RequestSlots slots;

    private int commandsInFlight;

    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger outstanding = new AtomicInteger();
    private boolean closed;

    private NvmePassthroughBlockDevice(
            Path path,
            int fd,
            int nsid,
            int blockSize,
            long blockCount,
            int maxCommandBytes,
            int queueDepth,
            IoUringRing ring) {
        this.path = path;
        this.fd = fd;
        this.nsid = nsid;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.maxCommandBytes = maxCommandBytes;
        this.queueDepth = queueDepth;
        this.ring = ring;
        this.stats = new DeviceStats(ring::enterCalls);
        this.command = arena.allocate(NvmeUringCommandDescriptor.LENGTH, 8);
        this.slots = new RequestSlots(queueDepth, outstanding, stats);
    }

    /**
     * Opens {@code /dev/ngXnY}: its geometry from the matching block device's sysfs entry, its namespace id by
     * NVME_IOCTL_ID, and a ring with SQE128 | CQE32.
     *
     * @throws NvmeSetupException if the path is not an NVMe generic device, cannot be opened, or has an unsupported
     *     block size
     */
    public static NvmePassthroughBlockDevice open(Path device, int queueDepth) {
        if (queueDepth < 1 || queueDepth > IoUringBlockDevice.MAX_QUEUE_DEPTH) {
            throw new IllegalArgumentException(
                    "queue depth " + queueDepth + " outside 1.." + IoUringBlockDevice.MAX_QUEUE_DEPTH);
        }
        Matcher m = GENERIC.matcher(device.getFileName().toString());
        if (!m.matches()) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NO_DEVICE,
                    device + " is not an NVMe generic character device (/dev/ngXnY)");
        }
        Path sysfs = Path.of("/sys/class/block", "nvme" + m.group(1) + "n" + m.group(2));
        int blockSize;
        long blockCount;
        int maxCommandBytes;
        try {
            blockSize = Integer.parseInt(
                    Files.readString(sysfs.resolve("queue/logical_block_size")).trim());
            blockCount = Long.parseLong(Files.readString(sysfs.resolve("size")).trim()) * 512 / blockSize;
            long maxKb = Long.parseLong(
                    Files.readString(sysfs.resolve("queue/max_hw_sectors_kb")).trim());
            maxCommandBytes = (int) Math.min(maxKb * 1024, 1 << 20);
        } catch (IOException | NumberFormatException e) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NO_DEVICE,
                    "cannot read the geometry of " + device + " from " + sysfs + ": " + e.getMessage(),
                    e);
        }
        if (blockSize != 512 && blockSize != 4096) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.UNSUPPORTED_LBA_SIZE,
                    device + " has " + blockSize + "-byte blocks; the driver needs 512 or 4096");
        }
        int fd;
        try {
            fd = Libc.open(device.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        } catch (NativeException e) {
            throw new NvmeSetupException(
                    e.errno() == 13 || e.errno() == 1
                            ? NvmeSetupException.Reason.NO_PERMISSION
                            : NvmeSetupException.Reason.NO_DEVICE,
                    "cannot open " + device + ": " + e.getMessage(),
                    e);
        }
        try {
            int nsid = NativeCall.check(
                    (int) IOCTL.invokeExact(NativeCall.errnoSegment(), fd, NVME_IOCTL_ID, 0L), "ioctl(NVME_IOCTL_ID)");
            int entries = Integer.highestOneBit(Math.max(8, Math.min(1024, queueDepth * 2)) * 2 - 1);
            IoUringRing ring = IoUringRing.setup(entries, IoUring.IORING_SETUP_SQE128 | IoUring.IORING_SETUP_CQE32, 0);
            return new NvmePassthroughBlockDevice(
                    device, fd, nsid, blockSize, blockCount, maxCommandBytes, queueDepth, ring);
        } catch (NativeException e) {
            Libc.close(fd);
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NO_DEVICE,
                    "cannot set up NVMe passthrough on " + device + ": " + e.getMessage(),
                    e);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        } catch (Throwable t) {
            Libc.close(fd);
            throw new AssertionError(t);
        }
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public long blockCount() {
        return blockCount;
    }

    @Override
    public int bufferAlignment() {
        return ALIGNMENT;
    }

    @Override
    public int queueDepth() {
        return queueDepth;
    }

    @Override
    public boolean submitRead(long block, MemorySegment buffer, long tag) {
        int length = RequestChecks.checkTransfer(block, buffer, blockSize, blockCount, ALIGNMENT);
        return queue(RequestSlots.READ, block, buffer.address(), length, tag);
    }

    @Override
    public boolean submitWrite(long block, MemorySegment buffer, long tag) {
        int length = RequestChecks.checkTransfer(block, buffer, blockSize, blockCount, ALIGNMENT);
        return queue(RequestSlots.WRITE, block, buffer.address(), length, tag);
    }

    @Override
    public boolean submitFlush(long tag) {
        return queue(RequestSlots.FLUSH, 0, 0, 0, tag);
    }

    private boolean queue(byte kind, long block, long address, int length, long tag) {
        int commands = kind == RequestSlots.FLUSH ? 1 : (length + maxCommandBytes - 1) / maxCommandBytes;
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("NVMe passthrough device " + path + " is closed");
            }
            return slots.take(kind, block, address, length, tag, commands, queueDepth) >= 0;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int submit() {
        lock.lock();
        try {
            int n = slots.handOver();
            issue();
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Prepares commands for handed-over requests while the SQ has room and the CQ cannot overflow. */
    private void issue() {
        boolean any = false;
        int slot;
        while ((slot = slots.nextHandedOver()) >= 0) {
            while (slots.commandsIssued[slot] < slots.commandsTotal[slot]
                    && ring.sqSpace() > 0
                    && commandsInFlight < ring.cqEntries()) {
                prepare(slot, slots.commandsIssued[slot]++);
                commandsInFlight++;
                any = true;
            }
            if (slots.commandsIssued[slot] < slots.commandsTotal[slot]) {
                break;
            }
            slots.retireHandedOver();
        }
        if (any) {
            int r = ring.submit();
            if (r < 0 && r != -Libc.EAGAIN) {
                throw new IllegalStateException("io_uring_enter failed on " + path + ": errno " + -r);
            }
        }
    }

    private void prepare(int slot, int index) {
        command.fill((byte) 0);
        byte kind = slots.kinds[slot];
        command.set(JAVA_INT, NvmeUringCommandDescriptor.NSID_OFFSET, nsid);
        if (kind == RequestSlots.FLUSH) {
            command.set(JAVA_BYTE, NvmeUringCommandDescriptor.OPCODE_OFFSET, NvmeOpcodes.NVM_FLUSH);
        } else {
            int offset = index * maxCommandBytes;
            int bytes = Math.min(maxCommandBytes, slots.lengths[slot] - offset);
            long lba = slots.blocks[slot] + offset / blockSize;
            command.set(
                    JAVA_BYTE,
                    NvmeUringCommandDescriptor.OPCODE_OFFSET,
                    kind == RequestSlots.READ ? NvmeOpcodes.NVM_READ : NvmeOpcodes.NVM_WRITE);
            command.set(JAVA_LONG, NvmeUringCommandDescriptor.ADDR_OFFSET, slots.addresses[slot] + offset);
            command.set(JAVA_INT, NvmeUringCommandDescriptor.DATA_LEN_OFFSET, bytes);
            command.set(JAVA_INT, NvmeUringCommandDescriptor.CDW10_OFFSET, (int) lba);
            command.set(JAVA_INT, NvmeUringCommandDescriptor.CDW11_OFFSET, (int) (lba >>> 32));
            command.set(JAVA_INT, NvmeUringCommandDescriptor.CDW12_OFFSET, bytes / blockSize - 1);
        }
        ring.prepareUringCmd(fd, NvmeUringCommandDescriptor.NVME_URING_CMD_IO, command, slot);
    }

    @Override
    public int poll(CompletionHandler handler, int max) {
        if (!lock.tryLock()) {
            return 0;
        }
        try {
            int ready = ring.completionsReady();
            if (ready == 0 && ring.cqOverflowPending()) {
                ring.getEvents(0);
                ready = ring.completionsReady();
            }
            for (int i = 0; i < ready; i++) {
                int slot = (int) ring.completionUserData(i);
                int res = ring.completionResult(i);
                commandsInFlight--;
                // An NVMe status (> 0) is a device error: EIO, as the block layer would report it.
                slots.commandDone(slot, res == 0 ? 0 : res < 0 ? res : -Errno.EIO.code(), slots.successResult(slot));
            }
            if (ready > 0) {
                ring.advanceCompletions(ready);
                issue();
            }
            return slots.report(handler, max);
        } finally {
            lock.unlock();
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
        return "passthru";
    }

    @Override
    public DeviceStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "nvme " + path + " mode=passthru (IORING_OP_URING_CMD) ns=" + nsid + " blocks=" + blockCount + "x"
                + blockSize + " qd=" + queueDepth + " max-command=" + maxCommandBytes;
    }

    /** Issues what was queued, waits for every command, drops unpolled completions, closes ring and file. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            slots.handOver();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while ((slots.handedOverCount() > 0 || commandsInFlight > 0) && System.nanoTime() < deadline) {
                issue();
                int ready = ring.completionsReady();
                if (ready > 0) {
                    commandsInFlight -= ready;
                    ring.advanceCompletions(ready);
                } else {
                    ring.getEvents(0);
                }
            }
            slots.dropDone();
            outstanding.set(0);
            ring.close();
            Libc.close(fd);
            arena.close();
        } finally {
            lock.unlock();
        }
    }
}
