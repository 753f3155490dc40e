package org.fsp.linux;

import static org.fsp.linux.CompletionQueueEntryDescriptor.RES_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.ADDR_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.BUF_INDEX_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.FD_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.FLAGS_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.LEN_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.OFF_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.OPCODE_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.OP_FLAGS_OFFSET;
import static org.fsp.linux.SubmissionQueueEntryDescriptor.USER_DATA_OFFSET;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * One io_uring instance: the ring descriptor, its mmapped SQ ring, SQE array and CQ ring, and the ordered loads and
 * stores that drive them.
 *
 * <p>A typical sequence is: {@link #setup}; under the caller's submission lock, {@link #prepareReadWrite} or
 * {@link #prepareFsync} for each request then {@link #submit()} (one {@code io_uring_enter} per batch, none with
 * SQPOLL while its thread is awake); under the caller's completion lock, {@link #completionsReady()},
 * {@link #completionUserData}/{@link #completionResult} for each, then {@link #advanceCompletions}; finally
 * {@link #close()}.
 *
 * <p>Thread safety: the SQ side is single-producer and the CQ side single-consumer, as the kernel's rings are; callers
 * serialize each side themselves (the two sides may run concurrently with each other). The SQ array is filled once
 * with the identity mapping, so SQE index = ring position masked.
 */
public final class IoUringRing implements AutoCloseable {

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT;
    /** Ordered access to the u32 ring indices shared with the kernel: (segment, byte offset). */
    private static final VarHandle U32_HANDLE = U32.varHandle();

    private final int ringFd;
    private final int setupFlags;
    private final int features;
    private final int sqEntries;
    private final int cqEntries;
    private final int sqMask;
    private final int cqMask;
    /** Bytes per SQE: 64, or 128 with {@link IoUring#IORING_SETUP_SQE128}. */
    private final int sqeBytes;
    /** Bytes per CQE: 16, or 32 with {@link IoUring#IORING_SETUP_CQE32}. */
    private final int cqeBytes;

    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;

    private final long sqHeadOffset;
    private final long sqTailOffset;
    private final long sqFlagsOffset;
    private final long cqHeadOffset;
    private final long cqTailOffset;
    private final long cqOverflowOffset;
    private final long cqesOffset;

    /** Our copy of the SQ tail: SQEs prepared but not yet published to the kernel lie in [published, sqeTail). */
    private int sqeTail;
    /** Our copy of the CQ head (we are its only writer). */
    private int cqHead;

    private boolean closed;
    /** io_uring_enter calls made through this ring, from either side. */
    private final LongAdder enterCalls = new LongAdder();

    private IoUringRing(int ringFd, MemorySegment params) {
        this.ringFd = ringFd;
        this.setupFlags = params.get(U32, IoUringParamsDescriptor.FLAGS_OFFSET);
        this.features = params.get(U32, IoUringParamsDescriptor.FEATURES_OFFSET);
        this.sqEntries = params.get(U32, IoUringParamsDescriptor.SQ_ENTRIES_OFFSET);
        this.cqEntries = params.get(U32, IoUringParamsDescriptor.CQ_ENTRIES_OFFSET);
        this.sqeBytes = (setupFlags & IoUring.IORING_SETUP_SQE128) != 0
                ? 2 * SubmissionQueueEntryDescriptor.LENGTH
                : SubmissionQueueEntryDescriptor.LENGTH;
        this.cqeBytes = (setupFlags & IoUring.IORING_SETUP_CQE32) != 0
                ? 2 * CompletionQueueEntryDescriptor.LENGTH
                : CompletionQueueEntryDescriptor.LENGTH;

        long sqRingBytes = params.get(U32, IoUringParamsDescriptor.SQ_OFF_ARRAY) + (long) sqEntries * Integer.BYTES;
        long cqRingBytes = params.get(U32, IoUringParamsDescriptor.CQ_OFF_CQES) + (long) cqEntries * cqeBytes;
        int prot = Libc.PROT_READ | Libc.PROT_WRITE;
        int mapFlags = Libc.MAP_SHARED | Libc.MAP_POPULATE;
        MemorySegment sq;
        MemorySegment cq;
        MemorySegment entries = null;
        if ((features & IoUring.IORING_FEAT_SINGLE_MMAP) != 0) {
            sq = Libc.mmap(Math.max(sqRingBytes, cqRingBytes), prot, mapFlags, ringFd, IoUring.IORING_OFF_SQ_RING);
            cq = sq;
        } else {
            sq = Libc.mmap(sqRingBytes, prot, mapFlags, ringFd, IoUring.IORING_OFF_SQ_RING);
            try {
                cq = Libc.mmap(cqRingBytes, prot, mapFlags, ringFd, IoUring.IORING_OFF_CQ_RING);
            } catch (NativeException e) {
                Libc.munmap(sq);
                throw e;
            }
        }
        try {
            entries = Libc.mmap((long) sqEntries * sqeBytes, prot, mapFlags, ringFd, IoUring.IORING_OFF_SQES);
        } catch (NativeException e) {
            Libc.munmap(sq);
            if (cq != sq) {
                Libc.munmap(cq);
            }
            throw e;
        }
        this.sqRing = sq;
        this.cqRing = cq;
        this.sqes = entries;

        this.sqHeadOffset = params.get(U32, IoUringParamsDescriptor.SQ_OFF_HEAD);
        this.sqTailOffset = params.get(U32, IoUringParamsDescriptor.SQ_OFF_TAIL);
        this.sqFlagsOffset = params.get(U32, IoUringParamsDescriptor.SQ_OFF_FLAGS);
        this.sqMask = sqRing.get(U32, params.get(U32, IoUringParamsDescriptor.SQ_OFF_RING_MASK));
        this.cqHeadOffset = params.get(U32, IoUringParamsDescriptor.CQ_OFF_HEAD);
        this.cqTailOffset = params.get(U32, IoUringParamsDescriptor.CQ_OFF_TAIL);
        this.cqOverflowOffset = params.get(U32, IoUringParamsDescriptor.CQ_OFF_OVERFLOW);
        this.cqesOffset = params.get(U32, IoUringParamsDescriptor.CQ_OFF_CQES);
        this.cqMask = cqRing.get(U32, params.get(U32, IoUringParamsDescriptor.CQ_OFF_RING_MASK));

        // Identity SQ array: position i of the ring always names SQE i. Written before the first tail publish,
        // whose release store orders it for the kernel.
        long array = params.get(U32, IoUringParamsDescriptor.SQ_OFF_ARRAY);
        for (int i = 0; i < sqEntries; i++) {
            sqRing.set(U32, array + (long) i * Integer.BYTES, i);
        }
        this.sqeTail = (int) U32_HANDLE.getAcquire(sqRing, sqTailOffset);
        this.cqHead = (int) U32_HANDLE.getAcquire(cqRing, cqHeadOffset);
    }

    /**
     * Creates a ring with at least {@code entries} SQ entries (the kernel rounds up to a power of two) and twice as
     * many CQ entries.
     *
     * @param setupFlags {@code IORING_SETUP_*} flags
     * @param sqThreadIdleMillis idle time of the SQPOLL thread before it sleeps; ignored without SQPOLL
     * @throws NativeException if the kernel refuses (e.g. EINVAL for an unsupported flag, EPERM for SQPOLL)
     */
    public static IoUringRing setup(int entries, int setupFlags, int sqThreadIdleMillis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(IoUringParamsDescriptor.LENGTH, 8);
            params.set(U32, IoUringParamsDescriptor.FLAGS_OFFSET, setupFlags);
            params.set(U32, IoUringParamsDescriptor.SQ_THREAD_IDLE_OFFSET, sqThreadIdleMillis);
            int fd = IoUring.setup(entries, params);
            try {
                return new IoUringRing(fd, params);
            } catch (RuntimeException e) {
                Libc.close(fd);
                throw e;
            }
        }
    }

    /** The ring's file descriptor, for {@link IoUring#register}. */
    public int fd() {
        return ringFd;
    }

    /** The {@code IORING_SETUP_*} flags the ring was created with. */
    public int setupFlags() {
        return setupFlags;
    }

    /** The {@code IORING_FEAT_*} bits the kernel reported. */
    public int features() {
        return features;
    }

    public int sqEntries() {
        return sqEntries;
    }

    public int cqEntries() {
        return cqEntries;
    }

    public boolean isSqPoll() {
        return (setupFlags & IoUring.IORING_SETUP_SQPOLL) != 0;
    }

    public boolean isIoPoll() {
        return (setupFlags & IoUring.IORING_SETUP_IOPOLL) != 0;
    }

    /** The number of io_uring_enter system calls this ring has made (submissions, wake-ups and reaping). */
    public long enterCalls() {
        return enterCalls.sum();
    }

    /** Free SQEs: the ring size minus those prepared and not yet consumed by the kernel. */
    public int sqSpace() {
        // Acquire: the kernel's head store follows its reads of the SQEs, so a slot it passed may be overwritten.
        int head = (int) U32_HANDLE.getAcquire(sqRing, sqHeadOffset);
        return sqEntries - (sqeTail - head);
    }

    /**
     * Fills the next SQE with a read or write. The caller has checked {@link #sqSpace()}.
     *
     * @param opcode {@link IoUring#IORING_OP_READ}, {@code WRITE}, {@code READ_FIXED} or {@code WRITE_FIXED}
     * @param fd the descriptor, or the registered-file index with {@link IoUring#IOSQE_FIXED_FILE}
     * @param offsetBytes file offset
     * @param bufIndex registered-buffer index for the fixed opcodes, else ignored
     */
    public void prepareReadWrite(
            byte opcode,
            int fd,
            byte sqeFlags,
            long address,
            int lengthBytes,
            long offsetBytes,
            int bufIndex,
            long userData) {
        long sqe = nextSqe();
        sqes.set(ValueLayout.JAVA_BYTE, sqe + OPCODE_OFFSET, opcode);
        sqes.set(ValueLayout.JAVA_BYTE, sqe + FLAGS_OFFSET, sqeFlags);
        sqes.set(ValueLayout.JAVA_INT, sqe + FD_OFFSET, fd);
        sqes.set(ValueLayout.JAVA_LONG, sqe + OFF_OFFSET, offsetBytes);
        sqes.set(ValueLayout.JAVA_LONG, sqe + ADDR_OFFSET, address);
        sqes.set(ValueLayout.JAVA_INT, sqe + LEN_OFFSET, lengthBytes);
        sqes.set(ValueLayout.JAVA_SHORT, sqe + BUF_INDEX_OFFSET, (short) bufIndex);
        sqes.set(ValueLayout.JAVA_LONG, sqe + USER_DATA_OFFSET, userData);
    }

    /** Fills the next SQE with an fsync; {@code fsyncFlags} {@link IoUring#IORING_FSYNC_DATASYNC} for fdatasync. */
    public void prepareFsync(int fd, byte sqeFlags, int fsyncFlags, long userData) {
        long sqe = nextSqe();
        sqes.set(ValueLayout.JAVA_BYTE, sqe + OPCODE_OFFSET, IoUring.IORING_OP_FSYNC);
        sqes.set(ValueLayout.JAVA_BYTE, sqe + FLAGS_OFFSET, sqeFlags);
        sqes.set(ValueLayout.JAVA_INT, sqe + FD_OFFSET, fd);
        sqes.set(ValueLayout.JAVA_INT, sqe + OP_FLAGS_OFFSET, fsyncFlags);
        sqes.set(ValueLayout.JAVA_LONG, sqe + USER_DATA_OFFSET, userData);
    }

    /**
     * Fills the next SQE with {@link IoUring#IORING_OP_URING_CMD}: a command for the file's driver ({@code cmd_op},
     * e.g. NVME_URING_CMD_IO) whose payload is copied into the SQE. The ring must have been set up with
     * {@link IoUring#IORING_SETUP_SQE128} for payloads longer than 16 bytes.
     *
     * @param payload the driver's command structure, at most {@link SubmissionQueueEntryDescriptor#CMD_BYTES_SQE128}
     *     bytes
     */
    public void prepareUringCmd(int fd, int cmdOp, MemorySegment payload, long userData) {
        prepareUringCmd(fd, cmdOp, payload, 0L, 0, userData);
    }

    /**
     * {@link #prepareUringCmd(int, int, MemorySegment, long)} with the SQE's {@code addr} and {@code len} set too, for
     * drivers that take a buffer beside the command (FUSE-over-io_uring: {@code addr} points to an iovec array,
     * {@code len} counts its elements).
     */
    public void prepareUringCmd(int fd, int cmdOp, MemorySegment payload, long address, int length, long userData) {
        long room = sqeBytes - SubmissionQueueEntryDescriptor.CMD_OFFSET;
        if (payload.byteSize() > room) {
            throw new IllegalArgumentException("uring_cmd payload of " + payload.byteSize() + " bytes exceeds the "
                    + room + " bytes of this ring's SQEs (IORING_SETUP_SQE128?)");
        }
        long sqe = nextSqe();
        sqes.set(ValueLayout.JAVA_BYTE, sqe + OPCODE_OFFSET, IoUring.IORING_OP_URING_CMD);
        sqes.set(ValueLayout.JAVA_INT, sqe + FD_OFFSET, fd);
        sqes.set(ValueLayout.JAVA_INT, sqe + SubmissionQueueEntryDescriptor.CMD_OP_OFFSET, cmdOp);
        sqes.set(ValueLayout.JAVA_LONG, sqe + ADDR_OFFSET, address);
        sqes.set(ValueLayout.JAVA_INT, sqe + LEN_OFFSET, length);
        sqes.set(ValueLayout.JAVA_LONG, sqe + USER_DATA_OFFSET, userData);
        MemorySegment.copy(payload, 0, sqes, sqe + SubmissionQueueEntryDescriptor.CMD_OFFSET, payload.byteSize());
    }

    /** Fills the next SQE with a no-op. */
    public void prepareNop(long userData) {
        long sqe = nextSqe();
        sqes.set(ValueLayout.JAVA_BYTE, sqe + OPCODE_OFFSET, IoUring.IORING_OP_NOP);
        sqes.set(ValueLayout.JAVA_LONG, sqe + USER_DATA_OFFSET, userData);
    }

    private long nextSqe() {
        long sqe = (long) (sqeTail & sqMask) * sqeBytes;
        for (int i = 0; i < sqeBytes; i += Long.BYTES) {
            sqes.set(ValueLayout.JAVA_LONG, sqe + i, 0L);
        }
        sqeTail++;
        return sqe;
    }

    /** SQEs prepared and not yet consumed by the kernel. */
    public int unsubmitted() {
        return sqeTail - (int) U32_HANDLE.getAcquire(sqRing, sqHeadOffset);
    }

    /**
     * Publishes every prepared SQE and, unless an awake SQPOLL thread will pick them up, makes one
     * {@code io_uring_enter} for the whole batch.
     *
     * @return SQEs the kernel consumed (with SQPOLL: published); a negated EAGAIN/EBUSY if it could take none now
     */
    public int submit() {
        // Release: the SQE contents written above must be visible before the kernel can observe the new tail.
        U32_HANDLE.setRelease(sqRing, sqTailOffset, sqeTail);
        if (isSqPoll()) {
            // Full fence: the kernel sets NEED_WAKEUP and then re-reads the tail; we store the tail and then read
            // the flag. Without a store-load barrier both could miss the other and the SQEs would sit unseen.
            VarHandle.fullFence();
            int flags = (int) U32_HANDLE.getVolatile(sqRing, sqFlagsOffset);
            int pending = unsubmitted();
            if ((flags & IoUring.IORING_SQ_NEED_WAKEUP) != 0) {
                enterCalls.increment();
                int r = IoUring.enter(ringFd, pending, 0, IoUring.IORING_ENTER_SQ_WAKEUP);
                return r < 0 ? r : pending;
            }
            return pending;
        }
        int pending = unsubmitted();
        if (pending == 0) {
            return 0;
        }
        enterCalls.increment();
        return IoUring.enter(ringFd, pending, 0, 0);
    }

    /**
     * Asks the kernel for completions: flushes a CQ overflow backlog and, with IOPOLL, polls the device. With
     * {@code minComplete > 0} it blocks until that many are available.
     */
    public void getEvents(int minComplete) {
        enterCalls.increment();
        IoUring.enter(ringFd, 0, minComplete, IoUring.IORING_ENTER_GETEVENTS);
    }

    /**
     * Blocks until at least one completion is in the CQ or {@code timeoutNanos} passed (kernels with
     * {@link IoUring#IORING_FEAT_EXT_ARG}; 5.11 and later). Safe to call from the CQ side while the SQ side submits.
     *
     * @param scratch {@link IoUring#GETEVENTS_ARG_BYTES} bytes of this thread's native memory, 8-aligned
     * @return true if a completion is ready
     */
    public boolean awaitCompletion(long timeoutNanos, MemorySegment scratch) {
        if (completionsReady() > 0) {
            return true;
        }
        enterCalls.increment();
        IoUring.enterTimed(ringFd, 1, 0, timeoutNanos, scratch);
        return completionsReady() > 0;
    }

    /** True if the kernel holds completions that did not fit in the CQ ({@link IoUring#IORING_SQ_CQ_OVERFLOW}). */
    public boolean cqOverflowPending() {
        return ((int) U32_HANDLE.getAcquire(sqRing, sqFlagsOffset) & IoUring.IORING_SQ_CQ_OVERFLOW) != 0;
    }

    /** Completions dropped by a kernel without {@link IoUring#IORING_FEAT_NODROP}. */
    public int cqOverflowCount() {
        return (int) U32_HANDLE.getAcquire(cqRing, cqOverflowOffset);
    }

    /** Completions available in the CQ. */
    public int completionsReady() {
        // Acquire: the kernel writes a CQE and then releases the tail; our reads of the CQEs must not pass this load.
        int tail = (int) U32_HANDLE.getAcquire(cqRing, cqTailOffset);
        return tail - cqHead;
    }

    /** user_data of the {@code i}-th ready completion ({@code 0 <= i < completionsReady()}). */
    public long completionUserData(int i) {
        return cqRing.get(ValueLayout.JAVA_LONG, cqeOffset(i) + CompletionQueueEntryDescriptor.USER_DATA_OFFSET);
    }

    /** res of the {@code i}-th ready completion: bytes transferred or a negated errno. */
    public int completionResult(int i) {
        return cqRing.get(ValueLayout.JAVA_INT, cqeOffset(i) + RES_OFFSET);
    }

    private long cqeOffset(int i) {
        return cqesOffset + (long) ((cqHead + i) & cqMask) * cqeBytes;
    }

    /** Hands {@code n} consumed CQEs back to the kernel. */
    public void advanceCompletions(int n) {
        cqHead += n;
        // Release: our reads of those CQEs must complete before the kernel may overwrite them.
        U32_HANDLE.setRelease(cqRing, cqHeadOffset, cqHead);
    }

    /** Unmaps the rings and closes the ring descriptor; the kernel cancels whatever is still in flight. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Libc.munmap(sqes);
        Libc.munmap(sqRing);
        if (cqRing != sqRing) {
            Libc.munmap(cqRing);
        }
        Libc.close(ringFd);
    }
}
