package org.fsp.block.sched;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.block.TagSpace;
import org.fsp.api.fs.Errno;
import org.fsp.api.sched.ManagedBlocking;

/**
 * What every scheduler shares: the bounded queue with back-pressure (and a reserve for journal writes), the
 * in-flight table that maps device tags back to {@link BlockRequest}s, merged transfers through bounce buffers, and
 * the issue and poll phases. A policy decides only which group of queued requests goes to the device next
 * ({@link #takeGroup}).
 *
 * <p>A group is one device request: a single request, or (batching policy) several adjacent reads or writes of one
 * priority class carried by one bounce buffer, or several flushes answered by one device flush. For a merged write
 * the members' data is copied into the bounce buffer at issue; for a merged read it is copied out at completion.
 *
 * <p>Thread safety: one lock guards the queue and the in-flight table; {@link #enqueue} may be called from any
 * thread, and any number of threads may drive {@link #issue()}, {@link #poll()} and {@link #await}.
 */
abstract class AbstractBlockScheduler implements BlockScheduler {

    /**
     * How long a waiting thread spins, driving issue and poll, before it parks in the device, ns. Short: a device
     * that answers within it (RAM, polled NVMe) is never slept on, and a slower one is not spun on for long. On the
     * io_uring image file (write ~100 us, flush ~65 us) 20 us of spinning cost 20-40 us of CPU per fsync for no
     * measurable gain in latency (FsBench, thread CPU per fsync 194-247 us at 20 us, 170-201 us at 0, 177-198 us at 5).
     */
    static final long SPIN_NANOS = 5_000;
    /** A device wait longer than this is announced to the thread model ({@link #longWait}). */
    static final long LONG_WAIT_NANOS = 200_000;
    /** The longest park in {@link BlockDevice#awaitCompletion}, ns; then the waiter drives the queue again. */
    static final long PARK_NANOS = 1_000_000;
    /** {@code idleSince} of a waiting thread that has just made progress. */
    static final long NOT_IDLE = 0;

    protected final BlockDevice device;
    /** Held while this scheduler has requests on the device (another scheduler may share it during an upgrade). */
    private final TagSpace tags;

    private final int maxQueuedRequests;
    /** Journal requests queued past {@link #maxQueuedRequests}, at most. */
    private final int journalReserve;

    private final int maxMergeBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Arena bounceArena = Arena.ofAuto();

    // In-flight table, indexed by the device tag; guarded by lock.
    private final BlockRequest[][] members;
    private final int[] memberCount;
    private final MemorySegment[] bounce;
    private final boolean[] bounced;
    private final int[] freeTags;
    private int freeTagCount;

    /** Requests queued and not yet handed to the device; guarded by lock. */
    private int queued;
    /** Requests handed to the device and not yet completed; guarded by lock. */
    private int inFlight;

    private final BlockRequest[] group;
    private final BlockDevice.CompletionHandler onComplete = this::complete;

    /** Threads inside {@link BlockDevice#awaitCompletion} for this scheduler's waiters (at most one gets in). */
    private final AtomicInteger inDevice = new AtomicInteger();
    /** Waiters parked while another thread waits in the device; each reap of completions wakes them. */
    private final Queue<Thread> sleepers = new ConcurrentLinkedQueue<>();

    private final LongAdder sleeps = new LongAdder();
    private final LongAdder enqueued = new LongAdder();
    private final LongAdder deviceRequests = new LongAdder();
    private final LongAdder mergedAway = new LongAdder();
    private final LongAdder completed = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder backPressureWaits = new LongAdder();
    private final LongAdder journalReserveUsed = new LongAdder();
    private final LongAdder issueBatches = new LongAdder();
    /** Issue rounds that found the device's tag space held by another scheduler. */
    private final LongAdder tagWaits = new LongAdder();

    private int maxQueuedSeen;
    /** Guarded by lock: set when this scheduler is being replaced; it accepts no new requests. */
    private boolean retired;

    /**
     * @param maxQueuedRequests the bounded queue depth: requests queued here (not counting those on the device)
     * @param maxMergeBytes the largest merged transfer, bytes (a multiple of the device's alignment); one block's
     *     worth disables merging
     * @param maxMergeRequests the most requests in one group
     */
    AbstractBlockScheduler(BlockDevice device, int maxQueuedRequests, int maxMergeBytes, int maxMergeRequests) {
        if (maxQueuedRequests < 1) {
            throw new IllegalArgumentException("queue depth " + maxQueuedRequests + " must be at least 1");
        }
        if (maxMergeBytes < device.blockSize() || maxMergeBytes % device.bufferAlignment() != 0) {
            throw new IllegalArgumentException("merge limit " + maxMergeBytes
                    + " bytes must be a multiple of the device alignment " + device.bufferAlignment());
        }
        this.device = device;
        this.tags = TagSpace.of(device);
        this.maxQueuedRequests = maxQueuedRequests;
        this.journalReserve = Math.max(1, maxQueuedRequests / 4);
        this.maxMergeBytes = maxMergeBytes;
        int tags = device.queueDepth();
        this.members = new BlockRequest[tags][maxMergeRequests];
        this.memberCount = new int[tags];
        this.bounce = new MemorySegment[tags];
        this.bounced = new boolean[tags];
        this.freeTags = new int[tags];
        for (int i = 0; i < tags; i++) {
            freeTags[i] = tags - 1 - i;
        }
        this.freeTagCount = tags;
        this.group = new BlockRequest[maxMergeRequests];
    }

    /** Under the lock: adds a validated request to the policy's queue(s). */
    protected abstract void add(BlockRequest request);

    /**
     * Under the lock: removes the next group to issue into {@code out} and returns its size (0 if nothing is queued).
     * Members of a transfer group are adjacent, in block order, of one op, and total at most {@code maxBytes}.
     */
    protected abstract int takeGroup(BlockRequest[] out, long maxBytes);

    /** Under the lock: puts a group the device refused back at the front of its queue, in order. */
    protected abstract void returnGroup(BlockRequest[] group, int count);

    @Override
    public BlockDevice device() {
        return device;
    }

    @Override
    public void enqueue(BlockRequest request) {
        check(request);
        boolean waited = false;
        long idleSince = NOT_IDLE;
        while (true) {
            lock.lock();
            try {
                if (retired) {
                    throw new SchedulerRetiredException(
                            policy() + " scheduler of " + device.describe() + " is retired");
                }
                if (queued < maxQueuedRequests
                        || (request.priority() == BlockRequest.Priority.JOURNAL
                                && queued < maxQueuedRequests + journalReserve)) {
                    if (queued >= maxQueuedRequests) {
                        journalReserveUsed.increment();
                    }
                    add(request);
                    queued++;
                    maxQueuedSeen = Math.max(maxQueuedSeen, queued);
                    enqueued.increment();
                    return;
                }
            } finally {
                lock.unlock();
            }
            // Back-pressure: the queue is full, so this thread helps drain it instead of waiting for a worker. Journal
            // writes have a reserve past the bound: a commit answers requests, and must not queue behind the home
            // writes of a checkpoint, which fill the queue on their own.
            if (!waited) {
                backPressureWaits.increment();
                waited = true;
            }
            idleSince = issue() + poll() == 0 ? backOff(device, idleSince) : NOT_IDLE;
        }
    }

    private void check(BlockRequest request) {
        if (request.isDone()) {
            throw new IllegalArgumentException("request " + request + " is already done; reset it before reuse");
        }
        if (request.op() == BlockRequest.Op.FLUSH) {
            return;
        }
        MemorySegment buffer = request.buffer();
        int blockSize = device.blockSize();
        int alignment = device.bufferAlignment();
        long length = buffer.byteSize();
        if (!buffer.isNative() || length <= 0 || length % blockSize != 0) {
            throw new IllegalArgumentException(
                    request + ": buffer must be native and a positive multiple of " + blockSize + " bytes");
        }
        if (buffer.address() % alignment != 0 || length % alignment != 0) {
            throw new IllegalArgumentException(request + ": buffer is not aligned to " + alignment + " bytes");
        }
        long blocks = length / blockSize;
        if (request.block() < 0 || request.block() > device.blockCount() - blocks) {
            throw new IllegalArgumentException(
                    request + ": lies outside the device's " + device.blockCount() + " blocks");
        }
    }

    @Override
    public int issue() {
        lock.lock();
        try {
            int handed = 0;
            if (queued == 0) {
                return 0;
            }
            if (inFlight == 0 && !tags.tryHold(this)) {
                // Another scheduler's requests are on the device (an upgrade's old or new version): ours wait until
                // its last completes, or each would take the other's completions.
                tagWaits.increment();
                return 0;
            }
            while (freeTagCount > 0) {
                int n = takeGroup(group, maxMergeBytes);
                if (n == 0) {
                    break;
                }
                if (!submitGroup(n)) {
                    returnGroup(group, n);
                    break;
                }
                queued -= n;
                inFlight += n;
                handed += n;
            }
            java.util.Arrays.fill(group, null);
            if (handed > 0) {
                device.submit();
                issueBatches.increment();
            } else if (inFlight == 0) {
                tags.release(this);
            }
            return handed;
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: hands group[0..n) to the device as one request; false if the device queue is full. */
    private boolean submitGroup(int n) {
        int tag = freeTags[--freeTagCount];
        BlockRequest first = group[0];
        boolean accepted;
        boolean viaBounce = false;
        if (first.op() == BlockRequest.Op.FLUSH) {
            accepted = device.submitFlush(tag);
        } else if (n == 1) {
            accepted = first.op() == BlockRequest.Op.READ
                    ? device.submitRead(first.block(), first.buffer(), tag)
                    : device.submitWrite(first.block(), first.buffer(), tag);
        } else {
            MemorySegment b = bounceBuffer(tag);
            long total = 0;
            for (int i = 0; i < n; i++) {
                total += group[i].buffer().byteSize();
            }
            MemorySegment span = b.asSlice(0, total);
            if (first.op() == BlockRequest.Op.WRITE) {
                long at = 0;
                for (int i = 0; i < n; i++) {
                    MemorySegment src = group[i].buffer();
                    MemorySegment.copy(src, 0, span, at, src.byteSize());
                    at += src.byteSize();
                }
                accepted = device.submitWrite(first.block(), span, tag);
            } else {
                accepted = device.submitRead(first.block(), span, tag);
            }
            viaBounce = true;
        }
        if (!accepted) {
            freeTagCount++;
            return false;
        }
        System.arraycopy(group, 0, members[tag], 0, n);
        memberCount[tag] = n;
        bounced[tag] = viaBounce;
        deviceRequests.increment();
        mergedAway.add(n - 1);
        return true;
    }

    private MemorySegment bounceBuffer(int tag) {
        MemorySegment b = bounce[tag];
        if (b == null) {
            b = bounceArena.allocate(maxMergeBytes, device.bufferAlignment());
            bounce[tag] = b;
        }
        return b;
    }

    @Override
    public int poll() {
        int reaped;
        lock.lock();
        try {
            int before = inFlight;
            if (before == 0) {
                // Nothing of ours on the device, so we do not hold its tag space: what the device would hand over
                // belongs to the scheduler that does (see TagSpace).
                return 0;
            }
            device.poll(onComplete, device.queueDepth());
            reaped = before - inFlight;
            if (inFlight == 0) {
                tags.release(this);
            }
        } finally {
            lock.unlock();
        }
        if (reaped > 0 && !sleepers.isEmpty()) {
            sleepers.forEach(LockSupport::unpark);
        }
        return reaped;
    }

    /** Under the lock (called from the device's poll): completes every member of the group behind {@code tag}. */
    private void complete(long tag, int result) {
        int t = (int) tag;
        int n = memberCount[t];
        BlockRequest[] m = members[t];
        long expected = 0;
        if (m[0].op() != BlockRequest.Op.FLUSH) {
            for (int i = 0; i < n; i++) {
                expected += m[i].buffer().byteSize();
            }
        }
        int outcome = result >= 0 && result != expected ? -Errno.EIO.code() : result;
        if (outcome >= 0 && bounced[t] && m[0].op() == BlockRequest.Op.READ) {
            long at = 0;
            for (int i = 0; i < n; i++) {
                MemorySegment dst = m[i].buffer();
                MemorySegment.copy(bounce[t], at, dst, 0, dst.byteSize());
                at += dst.byteSize();
            }
        }
        for (int i = 0; i < n; i++) {
            BlockRequest r = m[i];
            m[i] = null;
            if (outcome < 0) {
                errors.increment();
            }
            r.complete(
                    outcome < 0
                            ? outcome
                            : r.op() == BlockRequest.Op.FLUSH
                                    ? 0
                                    : (int) r.buffer().byteSize());
        }
        completed.add(n);
        inFlight -= n;
        memberCount[t] = 0;
        freeTags[freeTagCount++] = t;
    }

    /**
     * Spins while the request is young, then parks in the device ({@link BlockDevice#awaitCompletion}) until a
     * completion is ready. Spinning and yielding for a whole device round trip kept one of few cores busy that the
     * kernel needs to finish the request (io_uring's worker doing an fsync, the completion's task work): on two loaded
     * cores that made a 36 KiB write plus flush take 1.3 ms on average instead of 0.5 ms (DevProbe, load 8).
     */
    @Override
    public int await(BlockRequest request) {
        long idleSince = NOT_IDLE;
        boolean blocking = false;
        try {
            while (!request.isDone()) {
                if (issue() + poll() > 0) {
                    idleSince = NOT_IDLE;
                    continue;
                }
                if (!blocking && longWait(request, idleSince)) {
                    ManagedBlocking.begin();
                    blocking = true;
                }
                idleSince = idle(request, idleSince);
            }
        } finally {
            if (blocking) {
                ManagedBlocking.end();
            }
        }
        return request.result();
    }

    /**
     * True once a waiter has seen no progress since {@code idleSince} for {@link #LONG_WAIT_NANOS}: the point at which
     * it announces {@link ManagedBlocking#begin()}, so that a thread-model worker lends its other agents to a stand-in
     * rather than leave their requests behind this one's device round trip. Short waits (a read served from the page
     * cache or RAM, tens of microseconds) stay with the worker: lending and taking back costs two thread wake-ups,
     * which made metadata operations that read a block 10-20x slower (mkdir 2.9 -> 66 us p50 with a 5 us threshold,
     * fsp bench meta); a flush that takes milliseconds is what the hand-over is for, so a flush that did not complete
     * at once is announced without waiting for the threshold: otherwise a client flooding SYNC kept its neighbours'
     * requests on the same worker waiting 200 us each (fsp bench fairness: stat p50 234 us beside the flood).
     */
    static boolean longWait(BlockRequest request, long idleSince) {
        if (idleSince == NOT_IDLE) {
            return false;
        }
        return request.op() == BlockRequest.Op.FLUSH || System.nanoTime() - idleSince >= LONG_WAIT_NANOS;
    }

    /**
     * One idle step of a waiting thread: spin for {@link #SPIN_NANOS} from the first idle step, then park in
     * {@code device}; yield if it cannot park (nothing in flight, another thread already parked in it) or is null.
     *
     * @param idleSince {@link System#nanoTime} of the first idle step, or {@link #NOT_IDLE}
     * @return the new {@code idleSince}
     */
    static long backOff(BlockDevice device, long idleSince) {
        long now = System.nanoTime();
        if (idleSince == NOT_IDLE) {
            Thread.onSpinWait();
            return now == NOT_IDLE ? 1 : now;
        }
        if (now - idleSince < SPIN_NANOS) {
            Thread.onSpinWait();
        } else if (device == null || !device.awaitCompletion(PARK_NANOS)) {
            Thread.yield();
        }
        return idleSince;
    }

    /**
     * One idle step of a thread waiting for {@code request}: {@link #backOff} for the first waiter, which parks in the
     * device; a waiter that finds another thread already parked there sleeps until that thread reaps completions
     * (each reap wakes the sleepers), at most {@link #PARK_NANOS}, instead of yielding in a loop: on two cores a
     * commit's flush waited on beside a checkpoint's writes kept a core busy with sched_yield that the kernel needed
     * to finish the I/O.
     */
    long idle(BlockRequest request, long idleSince) {
        if (idleSince == NOT_IDLE || System.nanoTime() - idleSince < SPIN_NANOS) {
            return backOff(device, idleSince);
        }
        if (inDevice.get() == 0) {
            inDevice.incrementAndGet();
            try {
                return backOff(device, idleSince);
            } finally {
                inDevice.decrementAndGet();
            }
        }
        Thread me = Thread.currentThread();
        sleepers.add(me);
        try {
            if (!request.isDone() && inDevice.get() > 0) {
                sleeps.increment();
                LockSupport.parkNanos(this, PARK_NANOS);
            }
        } finally {
            sleepers.remove(me);
        }
        return idleSince;
    }

    /** Stops accepting requests; those already queued or in flight are still issued and completed. */
    void retire() {
        lock.lock();
        try {
            retired = true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Drives issue and poll until nothing is pending or {@code timeoutNanos} passed.
     *
     * @return requests still pending (0 once drained)
     */
    int drain(long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        long idleSince = NOT_IDLE;
        int left;
        while ((left = pending()) > 0 && System.nanoTime() < deadline) {
            idleSince = issue() + poll() == 0 ? backOff(device, idleSince) : NOT_IDLE;
        }
        return left;
    }

    @Override
    public int pending() {
        lock.lock();
        try {
            return queued + inFlight;
        } finally {
            lock.unlock();
        }
    }

    /** Requests queued and not yet on the device. */
    int queued() {
        lock.lock();
        try {
            return queued;
        } finally {
            lock.unlock();
        }
    }

    /** The largest number of requests queued at once so far; never above the bounded queue depth. */
    int maxQueuedSeen() {
        lock.lock();
        try {
            return maxQueuedSeen;
        } finally {
            lock.unlock();
        }
    }

    /** Device requests issued; fewer than requests completed when requests were merged. */
    long deviceRequests() {
        return deviceRequests.sum();
    }

    /** For {@code fsp:status}: policy, queue state and counters, keys in display order. */
    Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("policy", policy());
        m.put("queueDepth", maxQueuedRequests);
        m.put("maxMergeBytes", maxMergeBytes);
        lock.lock();
        try {
            m.put("queued", queued);
            m.put("inFlight", inFlight);
            m.put("maxQueuedSeen", maxQueuedSeen);
        } finally {
            lock.unlock();
        }
        m.put("enqueued", enqueued.sum());
        m.put("completed", completed.sum());
        m.put("errors", errors.sum());
        m.put("deviceRequests", deviceRequests.sum());
        m.put("mergedAway", mergedAway.sum());
        m.put("issueBatches", issueBatches.sum());
        m.put("backPressureWaits", backPressureWaits.sum());
        m.put("journalReserveUsed", journalReserveUsed.sum());
        m.put("tagSpaceWaits", tagWaits.sum());
        m.put("waiterSleeps", sleeps.sum());
        m.put("device", device.describe());
        return m;
    }
}
