package org.fsp.block.nvme;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.fs.Errno;
import org.fsp.linux.IoUring;
import org.fsp.linux.IoUringRing;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link BlockDevice} on a regular file (an image) or a block device, driven through one io_uring with
 * {@code O_DIRECT}.
 *
 * <p>A typical sequence is: {@link #open(Options)}; {@code submitRead/submitWrite/submitFlush} from any thread;
 * {@link #submit()} (one {@code io_uring_enter} for the batch, none with an awake SQPOLL thread); {@link #poll} until
 * every tag has been reported; {@link #close()}.
 *
 * <p>Design:
 *
 * <ul>
 *   <li>Each request occupies one of {@link #queueDepth()} slots from queueing until its completion is reported; the
 *       slot number is the SQE's user_data. A full slot table is the back-pressure: submissions return false. The
 *       rings are sized so that they can never overflow: SQ entries &ge; slots, CQ entries = 2 &times; SQ entries.
 *   <li>The SQ side is serialized by one lock (submitters), the CQ side by another (pollers; a second concurrent
 *       poller returns 0 at once instead of blocking). Freed slots travel from the CQ side back to the SQ side through
 *       a {@link OneToOneIntQueue}. A slot's fields, written by the submitter before its SQE is published (a release
 *       store of the SQ tail, or the io_uring_enter call), are read by the poller only after an acquire load of the CQ
 *       tail shows the completion, so the kernel's own ordering between the two rings carries them across.
 *   <li>The file is a registered (fixed) file. If {@link Options#registeredBufferBytes()} is positive, the driver
 *       allocates that much 4 KiB-aligned memory, registers it with the kernel, and offers it as
 *       {@link #registeredBuffers()}: transfers whose buffer lies inside it use READ_FIXED / WRITE_FIXED.
 *   <li>A short completion is resubmitted for the remainder, EAGAIN and EINTR results are retried a few times, and the
 *       handler sees one result per request: its full length, or a negated errno.
 *   <li>A flush is {@code IORING_OP_FSYNC} with {@code IORING_FSYNC_DATASYNC}. In IOPOLL mode, where the kernel
 *       refuses non-pollable opcodes, it is an {@code fdatasync(2)} made at {@link #submit()}.
 *   <li>SQPOLL and IOPOLL are tried when asked for; if the kernel or the target refuses, the driver falls back (to
 *       plain last) and says so in {@link #mode()} and the log.
 * </ul>
 *
 * <p>Its length (about 650 lines): the slot table, the SQ side and the CQ side are one protocol: a slot's fields are
 * written under the SQ lock, read under the CQ lock, and carried across by the rings' own ordering (above), with short
 * completions, retries, the IOPOLL flushes and the close all moving slots between the two sides; kept in one class,
 * that hand-over is checked in one place. Setting up the ring and its fall-backs is {@link IoUringSetup}'s, the
 * argument checks {@link RequestChecks}', the counters {@link DeviceStats}', a standby's ring made in advance
 * {@link PreparedDevice}'s.
 */
public final class IoUringBlockDevice implements ObservableBlockDevice {

    /** Block size and buffer alignment, bytes. */
    public static final int BLOCK_SIZE = 4096;

    /** Largest queue depth accepted. */
    public static final int MAX_QUEUE_DEPTH = 4096;

    private static final Logger LOG = LoggerFactory.getLogger(IoUringBlockDevice.class);

    // The kinds of RequestSlots, so that RequestSlots.statsKind counts them.
    private static final byte KIND_READ = RequestSlots.READ;
    private static final byte KIND_WRITE = RequestSlots.WRITE;
    private static final byte KIND_FLUSH = RequestSlots.FLUSH;
    private static final int MAX_RETRIES = 16;
    private static final long CLOSE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    /**
     * How to open the device.
     *
     * @param path an existing regular file or block device
     * @param queueDepth the most requests outstanding at once, 1..{@value #MAX_QUEUE_DEPTH}
     * @param sqPoll ask for a kernel SQ polling thread (no system call to submit)
     * @param ioPoll ask for polled completions (needs a target with poll queues)
     * @param registeredBufferBytes bytes of driver-owned memory to register as a fixed buffer; 0 for none
     * @param sqThreadIdleMillis idle time before the SQPOLL thread sleeps
     */
    public record Options(
            Path path,
            int queueDepth,
            boolean sqPoll,
            boolean ioPoll,
            long registeredBufferBytes,
            int sqThreadIdleMillis) {

        /** Plain mode, no registered buffers. */
        public static Options plain(Path path, int queueDepth) {
            return new Options(path, queueDepth, false, false, 0, 0);
        }
    }

    private final Path path;
    private final int fileFd;
    private final long blockCount;
    private final int queueDepth;
    private final IoUringRing ring;
    private final String mode;
    private final String fallbackNote;
    /** The fd or registered-file index to put in SQEs, and the SQE flag that says which. */
    private final int sqeFd;

    private final byte sqeFlags;
    private final Arena arena;
    private final MemorySegment registeredBuffers;
    /** Argument memory for timed waits; used under cqLock only. */
    private final MemorySegment waitScratch;

    private final DeviceStats stats;

    // Slot table: one entry per outstanding request, indexed by user_data.
    private final long[] tags;
    private final byte[] kinds;
    private final long[] offsetBytes;
    private final long[] addresses;
    private final int[] lengthBytes;
    private final int[] doneBytes;
    private final boolean[] fixedBuffer;
    private final long[] queuedNanos;
    private final int[] retries;

    private final ReentrantLock sqLock = new ReentrantLock();
    private final ReentrantLock cqLock = new ReentrantLock();
    private final OneToOneIntQueue freeSlots;
    /** IOPOLL only: flush slots queued for the next submit (SQ side), then completed ones (SQ to CQ side). */
    private final int[] deferredFlushes;

    private int deferredFlushCount;
    private final OneToOneIntQueue softCompletions;
    private final AtomicInteger outstanding = new AtomicInteger();
    /** Set when the kernel consumed fewer SQEs than offered (EAGAIN/EBUSY); the next poll retries. */
    private volatile boolean submitBacklog;
    /** Guarded by sqLock: no new requests. */
    private boolean closed;
    /** Set under both locks once the rings are unmapped. */
    private volatile boolean released;

    private IoUringBlockDevice(
            Options options,
            int fileFd,
            long blockCount,
            IoUringRing ring,
            String fallbackNote,
            Arena arena,
            MemorySegment registeredBuffers,
            boolean fixedFile) {
        this.path = options.path();
        this.fileFd = fileFd;
        this.blockCount = blockCount;
        this.queueDepth = options.queueDepth();
        this.ring = ring;
        this.fallbackNote = fallbackNote;
        this.mode = ring.isSqPoll() && ring.isIoPoll()
                ? "SQPOLL+IOPOLL"
                : ring.isSqPoll() ? "SQPOLL" : ring.isIoPoll() ? "IOPOLL" : "plain";
        this.sqeFd = fixedFile ? 0 : fileFd;
        this.sqeFlags = fixedFile ? IoUring.IOSQE_FIXED_FILE : 0;
        this.arena = arena;
        this.registeredBuffers = registeredBuffers;
        this.waitScratch = arena.allocate(IoUring.GETEVENTS_ARG_BYTES, Long.BYTES);
        this.stats = new DeviceStats(ring::enterCalls);
        this.tags = new long[queueDepth];
        this.kinds = new byte[queueDepth];
        this.offsetBytes = new long[queueDepth];
        this.addresses = new long[queueDepth];
        this.lengthBytes = new int[queueDepth];
        this.doneBytes = new int[queueDepth];
        this.fixedBuffer = new boolean[queueDepth];
        this.queuedNanos = new long[queueDepth];
        this.retries = new int[queueDepth];
        this.freeSlots = new OneToOneIntQueue(queueDepth);
        for (int i = 0; i < queueDepth; i++) {
            freeSlots.offer(i);
        }
        this.deferredFlushes = new int[queueDepth];
        this.softCompletions = new OneToOneIntQueue(queueDepth);
    }

    /**
     * Opens {@code options.path()} with {@code O_DIRECT}, sets up the ring (SQPOLL / IOPOLL if asked and possible),
     * and registers the file and the buffers.
     *
     * @throws IllegalArgumentException if the options are out of range or the target is smaller than one block
     * @throws NativeException if the target cannot be opened or no ring can be set up at all
     */
    public static IoUringBlockDevice open(Options options) {
        if (options.queueDepth() < 1 || options.queueDepth() > MAX_QUEUE_DEPTH) {
            throw new IllegalArgumentException(
                    "queue depth " + options.queueDepth() + " outside 1.." + MAX_QUEUE_DEPTH);
        }
        if (options.registeredBufferBytes() < 0 || options.registeredBufferBytes() % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("registered buffer size " + options.registeredBufferBytes()
                    + " bytes is not a non-negative multiple of " + BLOCK_SIZE);
        }
        int fd = Libc.open(options.path().toString(), Libc.O_RDWR | Libc.O_DIRECT | Libc.O_CLOEXEC, 0);
        Arena arena = Arena.ofShared();
        IoUringRing ring = null;
        try {
            long sizeBytes = Libc.lseek(fd, 0, Libc.SEEK_END);
            long blockCount = sizeBytes / BLOCK_SIZE;
            if (blockCount < 1) {
                throw new IllegalArgumentException(
                        options.path() + " has " + sizeBytes + " bytes, less than one block of " + BLOCK_SIZE);
            }
            StringBuilder note = new StringBuilder();
            ring = IoUringSetup.ring(options, fd, arena, note);
            boolean fixedFile = IoUringSetup.registerFile(ring, fd);
            MemorySegment registered = IoUringSetup.registerBuffers(ring, arena, options.registeredBufferBytes());
            IoUringBlockDevice device = new IoUringBlockDevice(
                    options, fd, blockCount, ring, note.toString(), arena, registered, fixedFile);
            LOG.info("opened {}", device.describe());
            return device;
        } catch (RuntimeException e) {
            if (ring != null) {
                ring.close();
            }
            arena.close();
            Libc.close(fd);
            throw e;
        }
    }

    @Override
    public int blockSize() {
        return BLOCK_SIZE;
    }

    @Override
    public long blockCount() {
        return blockCount;
    }

    @Override
    public int bufferAlignment() {
        return BLOCK_SIZE;
    }

    @Override
    public int queueDepth() {
        return queueDepth;
    }

    /**
     * The driver-owned memory registered with the kernel as fixed buffer 0 ({@link MemorySegment#NULL} if none):
     * slice it into aligned buffers; transfers inside it skip the per-I/O page pinning.
     */
    public MemorySegment registeredBuffers() {
        return registeredBuffers;
    }

    @Override
    public boolean submitRead(long block, MemorySegment buffer, long tag) {
        return queueTransfer(KIND_READ, block, buffer, tag);
    }

    @Override
    public boolean submitWrite(long block, MemorySegment buffer, long tag) {
        return queueTransfer(KIND_WRITE, block, buffer, tag);
    }

    private boolean queueTransfer(byte kind, long block, MemorySegment buffer, long tag) {
        int length = RequestChecks.checkTransfer(block, buffer, BLOCK_SIZE, blockCount, BLOCK_SIZE);
        long now = System.nanoTime();
        sqLock.lock();
        try {
            int slot = takeSlot(kind, tag, now);
            if (slot < 0) {
                return false;
            }
            long address = buffer.address();
            offsetBytes[slot] = block * BLOCK_SIZE;
            addresses[slot] = address;
            lengthBytes[slot] = length;
            doneBytes[slot] = 0;
            fixedBuffer[slot] = registeredBuffers.byteSize() > 0
                    && address >= registeredBuffers.address()
                    && address + length <= registeredBuffers.address() + registeredBuffers.byteSize();
            prepareTransfer(slot);
            return true;
        } finally {
            sqLock.unlock();
        }
    }

    @Override
    public boolean submitFlush(long tag) {
        long now = System.nanoTime();
        sqLock.lock();
        try {
            int slot = takeSlot(KIND_FLUSH, tag, now);
            if (slot < 0) {
                return false;
            }
            if (ring.isIoPoll()) {
                deferredFlushes[deferredFlushCount++] = slot;
            } else {
                ring.prepareFsync(sqeFd, sqeFlags, IoUring.IORING_FSYNC_DATASYNC, slot);
            }
            return true;
        } finally {
            sqLock.unlock();
        }
    }

    /**
     * Under sqLock: a free slot holding a request of {@code kind} with {@code tag}, queued at {@code queuedAt}
     * (nanoTime) and not yet retried, or -1 if the queue is full; the caller fills in the rest of the request.
     */
    private int takeSlot(byte kind, long tag, long queuedAt) {
        if (closed) {
            throw new IllegalStateException("device " + path + " is closed");
        }
        int slot = freeSlots.poll();
        if (slot < 0) {
            stats.recordQueueFull();
            return -1;
        }
        outstanding.incrementAndGet();
        tags[slot] = tag;
        kinds[slot] = kind;
        queuedNanos[slot] = queuedAt;
        retries[slot] = 0;
        return slot;
    }

    /** Under sqLock: writes the SQE for the untransferred remainder of {@code slot}. */
    private void prepareTransfer(int slot) {
        if (ring.sqSpace() <= 0) {
            // Cannot happen while each slot has at most one SQE and the SQ has at least one entry per slot.
            throw new IllegalStateException("io_uring SQ full with " + outstanding.get() + " requests outstanding");
        }
        int done = doneBytes[slot];
        boolean read = kinds[slot] == KIND_READ;
        byte opcode = fixedBuffer[slot]
                ? (read ? IoUring.IORING_OP_READ_FIXED : IoUring.IORING_OP_WRITE_FIXED)
                : (read ? IoUring.IORING_OP_READ : IoUring.IORING_OP_WRITE);
        ring.prepareReadWrite(
                opcode,
                sqeFd,
                sqeFlags,
                addresses[slot] + done,
                lengthBytes[slot] - done,
                offsetBytes[slot] + done,
                0,
                slot);
    }

    @Override
    public int submit() {
        sqLock.lock();
        try {
            if (released) {
                return 0;
            }
            int handed = runDeferredFlushes();
            if (ring.unsubmitted() == 0) {
                return handed;
            }
            int r = ring.submit();
            noteBacklog(r);
            return handed + Math.max(r, 0);
        } finally {
            sqLock.unlock();
        }
    }

    /** Under sqLock, IOPOLL only: flushes as fdatasync(2), completed through the soft-completion queue. */
    private int runDeferredFlushes() {
        int n = deferredFlushCount;
        if (n == 0) {
            return 0;
        }
        int result = 0;
        try {
            Libc.fdatasync(fileFd);
        } catch (NativeException e) {
            result = -e.errno();
        }
        for (int i = 0; i < n; i++) {
            int slot = deferredFlushes[i];
            doneBytes[slot] = result;
            softCompletions.offer(slot);
        }
        deferredFlushCount = 0;
        return n;
    }

    /**
     * The park of a spin-then-park poller: blocks in the kernel ({@code io_uring_enter} with GETEVENTS and a timeout)
     * until a completion is ready or {@code timeoutNanos} passed, instead of spinning on {@link #poll}. Returns at
     * once, false, if nothing is in flight or another thread is polling. Requests must have been handed over with
     * {@link #submit()}, or the wait runs into its timeout.
     *
     * @return true if a completion is ready for {@link #poll}
     */
    @Override
    public boolean awaitCompletion(long timeoutNanos) {
        if (outstanding.get() == 0 || !cqLock.tryLock()) {
            return false;
        }
        try {
            if (released) {
                return false;
            }
            if (softCompletions.size() > 0) {
                return true;
            }
            if (submitBacklog) {
                retryBacklog();
            }
            return ring.awaitCompletion(timeoutNanos, waitScratch);
        } finally {
            cqLock.unlock();
        }
    }

    @Override
    public int poll(CompletionHandler handler, int max) {
        if (!cqLock.tryLock()) {
            return 0;
        }
        try {
            return released ? 0 : reap(handler, max);
        } finally {
            cqLock.unlock();
        }
    }

    /** Under cqLock. */
    private int reap(CompletionHandler handler, int max) {
        int reported = 0;
        int soft;
        while (reported < max && (soft = softCompletions.poll()) >= 0) {
            report(soft, doneBytes[soft], handler);
            reported++;
        }
        int ready = ring.completionsReady();
        if (ready == 0) {
            if (submitBacklog) {
                retryBacklog();
            }
            if (ring.cqOverflowPending() || (ring.isIoPoll() && !ring.isSqPoll() && outstanding.get() > 0)) {
                // Flushes the kernel's overflow backlog into the CQ; with IOPOLL this is where the kernel polls.
                ring.getEvents(0);
                ready = ring.completionsReady();
            }
        }
        // completionsReady() is read again each time: a handler that polls may have consumed the rest.
        for (; ready > 0 && reported < max; ready = ring.completionsReady()) {
            int slot = (int) ring.completionUserData(0);
            int res = ring.completionResult(0);
            // Hand the CQE back before acting on it, so that a handler that polls again sees only newer ones.
            ring.advanceCompletions(1);
            int result = settle(slot, res);
            if (result != Integer.MIN_VALUE) {
                report(slot, result, handler);
                reported++;
            }
        }
        return reported;
    }

    /**
     * Applies one CQE to its slot: returns the request's final result, or {@link Integer#MIN_VALUE} if the remainder
     * was resubmitted.
     */
    private int settle(int slot, int res) {
        if (kinds[slot] == KIND_FLUSH) {
            return res;
        }
        if (res == -IoUring.EAGAIN || res == -IoUring.EINTR) {
            if (++retries[slot] <= MAX_RETRIES) {
                resubmit(slot);
                return Integer.MIN_VALUE;
            }
            return res;
        }
        if (res < 0) {
            return res;
        }
        if (res == 0) {
            // A zero-byte transfer inside the device's range: the target shrank under us.
            return -Errno.EIO.code();
        }
        doneBytes[slot] += res;
        if (doneBytes[slot] < lengthBytes[slot]) {
            resubmit(slot);
            return Integer.MIN_VALUE;
        }
        return lengthBytes[slot];
    }

    private void resubmit(int slot) {
        stats.recordResubmit();
        sqLock.lock();
        try {
            prepareTransfer(slot);
            noteBacklog(ring.submit());
        } finally {
            sqLock.unlock();
        }
    }

    /**
     * Under sqLock, after {@link IoUringRing#submit()} returned {@code r}: if the kernel is short of resources
     * (EAGAIN/EBUSY) or stopped early, the SQEs stay queued and the poll phase retries once completions have freed
     * resources. With SQPOLL, published SQEs that the kernel thread has not reached yet are not a backlog: it will
     * reach them without another system call.
     */
    private void noteBacklog(int r) {
        if (r < 0 || (!ring.isSqPoll() && ring.unsubmitted() > 0)) {
            submitBacklog = true;
        }
    }

    private void retryBacklog() {
        if (!sqLock.tryLock()) {
            return;
        }
        try {
            submitBacklog = false;
            if (ring.unsubmitted() > 0) {
                noteBacklog(ring.submit());
            }
        } finally {
            sqLock.unlock();
        }
    }

    /** Frees the slot before calling the handler, so that the handler may submit into it. */
    private void report(int slot, int result, CompletionHandler handler) {
        long tag = tags[slot];
        byte kind = kinds[slot];
        stats.recordCompletion(RequestSlots.statsKind(kind), result, System.nanoTime() - queuedNanos[slot]);
        freeSlots.offer(slot);
        outstanding.decrementAndGet();
        handler.onComplete(tag, result);
    }

    @Override
    public int inFlight() {
        return outstanding.get();
    }

    @Override
    public String driver() {
        return "io_uring";
    }

    @Override
    public String mode() {
        return mode;
    }

    /** Why a requested mode was not used, or empty. */
    public String fallbackNote() {
        return fallbackNote;
    }

    @Override
    public DeviceStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "io_uring " + path + " mode=" + mode + " blocks=" + blockCount + "x" + BLOCK_SIZE + " qd=" + queueDepth
                + " sq/cq=" + ring.sqEntries() + "/" + ring.cqEntries()
                + " fixedFile=" + (sqeFlags != 0)
                + " registeredBuffers=" + registeredBuffers.byteSize() + "B"
                + (fallbackNote.isEmpty() ? "" : " (" + fallbackNote + ")");
    }

    /**
     * Stops new submissions, submits what is queued, waits up to 30 s for every outstanding request (completions that
     * nobody polls by then are reaped here and dropped, with a warning), then releases the ring, the file and the
     * registered buffers.
     */
    @Override
    public void close() {
        sqLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            sqLock.unlock();
        }
        cqLock.lock();
        try {
            DroppedCounter dropped = new DroppedCounter();
            long deadline = System.nanoTime() + CLOSE_TIMEOUT_NANOS;
            while (outstanding.get() > 0 && System.nanoTime() < deadline) {
                submit();
                if (reap(dropped, Integer.MAX_VALUE) == 0) {
                    LockSupport.parkNanos(100_000);
                }
            }
            if (dropped.count > 0 || outstanding.get() > 0) {
                LOG.warn(
                        "io_uring {}: closed with {} completions nobody polled and {} requests still in flight",
                        path,
                        dropped.count,
                        outstanding.get());
            }
            sqLock.lock();
            try {
                released = true;
                ring.close();
                Libc.close(fileFd);
            } finally {
                sqLock.unlock();
            }
            if (outstanding.get() == 0) {
                arena.close();
            }
        } finally {
            cqLock.unlock();
        }
        LOG.info("closed io_uring device {}", path);
    }

    /** Counts the completions that {@link #close()} reaps because nobody else polled them. */
    private static final class DroppedCounter implements CompletionHandler {
        int count;

        @Override
        public void onComplete(long tag, int result) {
            count++;
        }
    }
}
