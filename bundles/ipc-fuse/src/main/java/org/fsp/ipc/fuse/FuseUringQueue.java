package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.Errno;
import org.fsp.api.handoff.FuseHandoff;
import org.fsp.ipc.fuse.FuseAbi.InHeader;
import org.fsp.ipc.fuse.FuseAbi.OutHeader;
import org.fsp.ipc.fuse.FuseAbi.UringCmdReq;
import org.fsp.ipc.fuse.FuseAbi.UringReqHeader;
import org.fsp.linux.IoUring;
import org.fsp.linux.IoUringRing;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One FUSE-over-io_uring queue (the kernel keeps one per possible CPU and hands a request to the queue of the CPU its
 * caller runs on): an io_uring with 128-byte SQEs, {@code depth} ring entries (each a 288-byte header buffer and a
 * payload buffer as large as the largest request), and one thread of its own that owns the ring.
 *
 * <p>A typical sequence is: {@link #start} (the thread creates the ring, submits one FUSE_IO_URING_CMD_REGISTER per
 * entry and reports whether the kernel took them), then per completion: the request is copied out of its entry into
 * one contiguous message, decoded and dispatched exactly as a {@code /dev/fuse} read would be, and its answer goes back
 * with FUSE_IO_URING_CMD_COMMIT_AND_FETCH, which also re-arms the entry for the next request; finally {@link #stop}.
 * At a live upgrade instead: {@link #hold}, until {@link #occupied}, then {@link #stopForHandOver}, whose held
 * requests the next version's queues take over (see {@link UringQueues#handOver}).
 *
 * <p>Why a thread of its own and not a thread-model agent: io_uring runs the work that fills an entry ("task work") on
 * the thread that submitted the entry's command, and only when that thread enters the kernel. An agent that moved
 * between workers would leave requests waiting on a thread that no longer looks at this ring.
 *
 * <p>Teardown: the thread closes the ring itself when it stops. Closing it cancels every armed entry (the kernel's
 * IO_URING_F_CANCEL), after which the ring holds no reference to the {@code /dev/fuse} file, so the descriptors' close
 * ends the connection. A request the kernel had already handed to an entry and this queue had not read is answered
 * by the kernel with ECONNABORTED when the connection ends (unmount, abort, or the death of the process). While the
 * connection lives on (an upgrade) a ring is closed only with every entry occupied, so that nothing is in between.
 *
 * <p>Its length (about 680 lines): serving, holding for a hand-over and taking over a predecessor's entries all act on
 * the same per-entry state (armed, buffers, late answers) from the one thread that owns the ring; split, each part
 * would need that state shared across classes and threads.
 */
final class FuseUringQueue {

    private static final Logger LOG = LoggerFactory.getLogger(FuseUringQueue.class);

    /** Bytes of an entry's payload buffer: the kernel refuses less than its largest request (max_write, max_pages). */
    static final int PAYLOAD_BYTES =
            Math.max(8192, Math.max(FuseConnection.MAX_WRITE, FuseConnection.MAX_PAGES * 4096));

    /**
     * Bytes in front of each own entry's payload, in the same buffer: room for a request's header and operation
     * arguments, so that the whole request lies contiguous in front of its data without copying the data (the
     * decoder reads it in place), and for an answer's header, so that an answer's body (a READ's data) is produced
     * straight into the payload the kernel copies it from. One page, so that the payload stays page-aligned.
     */
    static final int FRAME_PREFIX = 4096;

    /** How long the thread waits in the kernel before it looks at its stop flag and at late answers. */
    private static final long WAIT_NANOS = 20_000_000L;

    /** Whether each thread runs on its queue's CPU (see {@link #pinToQueueCpu}). */
    static final boolean PIN_TO_QUEUE_CPU = Boolean.parseBoolean(System.getProperty("fsp.fuse.uring.pin", "true"));

    /**
     * How long the thread watches its completion queue from user space after its last request before it sleeps in
     * the kernel (system property {@code fsp.fuse.uring.spinMicros}; 0: never watch). A request reaches
     * a watching thread by the kernel's interrupt of a running CPU; one that sleeps must first be woken, and waking an
     * idle virtual CPU costs tens of microseconds, which at queue depth 1 is most of a round trip.
     */
    static final long SPIN_NANOS = Long.getLong("fsp.fuse.uring.spinMicros", 50L) * 1_000L;

    /**
     * Fault injection for tests ({@code -Dfsp.test.fuse.refuseRegisterOnAdopt=true}): a queue that takes over requests
     * held by a predecessor registers one entry of its own more than it needs, for a queue id the kernel does not
     * have, so that the kernel really refuses it, as it would a queue it cannot set up; the requests held for it must
     * be answered anyway. A queue that only answers (see {@link UringQueues}) is left alone.
     */
    private static final boolean REFUSE_REGISTER_ON_ADOPT = Boolean.getBoolean("fsp.test.fuse.refuseRegisterOnAdopt");

    /** While stopping for a hand-over: this many quiet waits in a row end the drain. */
    private static final int QUIET_WAITS_TO_STOP = 3;

    /** A drain ends after this long even if requests keep coming. */
    private static final long MAX_DRAIN_NANOS = 1_000_000_000L;

    private static final int ECONNABORTED = 103;
    private static final int ENOTCONN = 107;
    private static final int ECANCELED = 125;

    private static final int IOVEC_BYTES = 16;

    private final String role;
    private final int qid;
    private final int devFd;
    private final int depth;
    /** Entries this ring registers itself: {@link #depth} less the ones it takes over. */
    private final int own;
    /** Entries this ring serves: its {@link #own} registered ones, then those adopted from a predecessor. */
    private final int entries;

    private final List<FuseHandoff.HeldRequest> adopted;
    private final FuseDispatcher dispatcher;
    /** The ring's scratch buffers (commands, one request and one answer), freed when the thread ends. */
    private final Arena arena = Arena.ofShared();
    /** The buffers of this ring's own entries, which the kernel writes requests into: handed on at a hand-over. */
    private final Arena entryArena = Arena.ofShared();

    private final MemorySegment[] headerOf;
    private final MemorySegment[] payloadOf;
    private final MemorySegment iovecs;
    private final MemorySegment cmd;
    private final MemorySegment in;
    private final MemorySegment out;
    private final MemorySegment waitArg;
    private final FuseDispatcher.LateReply[] lateFor;
    /** Entries with a command in flight (armed for the next request); only the queue's thread touches this. */
    private final boolean[] armed;
    /** Answers given after dispatch returned (a SETLKW that had to wait), committed by the queue's thread. */
    private final ConcurrentLinkedQueue<Late> late = new ConcurrentLinkedQueue<>();

    private final AtomicLong served = new AtomicLong();
    private final CountDownLatch registered = new CountDownLatch(1);
    private volatile String failure;
    private volatile boolean stopping;
    private volatile boolean drain;
    private volatile long stopAskedNanos;
    private volatile String state = "not started";
    /** While set, requests that come are recorded in {@link #held} and not answered (a hand-over is under way). */
    private volatile boolean holding;
    /** Requests taken while {@link #holding}; written by the queue's thread, read once it has ended. */
    private final List<FuseHandoff.HeldRequest> held = new ArrayList<>();
    /** Entries armed (free for the kernel to hand a request to), as the queue's thread last counted them. */
    private volatile int armedNow = -1;
    /** Set for a stop that hands the entries on: the buffers stay allocated for the successor. */
    private volatile boolean keepBuffers;
    /**
     * When the thread last answered a request while no other thread of its CPU queue was answering one (0: it was
     * not alone); it watches for the next one until {@link #SPIN_NANOS} after that. Only the queue's thread touches
     * this.
     */
    private long lastCompletionNanos;
    /** Watches in a row that found nothing, and how many requests to answer before the next watch. */
    private int missedWatches;

    private int skipWatches;
    /** Threads of this CPU queue answering requests now. */
    private final AtomicInteger servingOnThisCpu;

    private Thread thread;

    private record Late(int entry, long unique, FuseReply reply) {}

    /** A SETLKW whose entry waits for its late answer: the request as it came, for a hand-over. */
    private record WaitingLock(long unique, byte[] message) {}

    /** Per entry, the SETLKW waiting there for its lock, or null; only the queue's thread touches this. */
    private final WaitingLock[] waitingLock;
    /**
     * Own entries' buffers: {@link #FRAME_PREFIX} bytes, then the payload the kernel reads and writes; null for
     * entries taken over from a predecessor, whose requests and answers are copied through {@link #in} and {@link #out}.
     */
    private final MemorySegment[] frameOf;
    /** Set by the fault injection {@link #REFUSE_REGISTER_ON_ADOPT} for this queue. */
    private final boolean refuseRegister;
    /**
     * Set by the queue's thread once, while {@link #holding}, it has taken back every SETLKW waiting in its entries
     * (each is then held for the successor like any other request) or found that its answer is on its way.
     */
    private volatile boolean locksHandedOver;

    /**
     * A queue of {@code depth} entries on kernel queue {@code qid}: the entries of the requests in {@code adopt} (held
     * by a predecessor, all of queue {@code qid}), which it answers first, and as many new ones as that leaves short.
     */
    FuseUringQueue(
            String role,
            int qid,
            int devFd,
            int depth,
            FuseDispatcher dispatcher,
            AtomicInteger servingOnThisCpu,
            List<FuseHandoff.HeldRequest> adopt) {
        this(role, qid, devFd, depth, dispatcher, servingOnThisCpu, adopt, false);
    }

    /**
     * With {@code answerOnly}: a queue of no entries of its own that answers the requests in {@code adopt} and serves
     * nothing else until it is stopped (for the held requests of queues that could not be set up).
     */
    FuseUringQueue(
            String role,
            int qid,
            int devFd,
            int depth,
            FuseDispatcher dispatcher,
            AtomicInteger servingOnThisCpu,
            List<FuseHandoff.HeldRequest> adopt,
            boolean answerOnly) {
        this.role = role;
        this.servingOnThisCpu = servingOnThisCpu;
        this.qid = qid;
        this.devFd = devFd;
        this.depth = depth;
        this.adopted = List.copyOf(adopt);
        // Taken-over entries stand in for new ones, so the kernel's entries per queue stay as many across upgrades.
        this.refuseRegister = REFUSE_REGISTER_ON_ADOPT && !answerOnly && !adopted.isEmpty();
        this.own = answerOnly ? 0 : Math.max(refuseRegister ? 1 : 0, depth - adopted.size());
        this.entries = own + adopted.size();
        this.dispatcher = dispatcher;
        MemorySegment headers = entryArena.allocate((long) own * UringReqHeader.SIZE, 4096);
        long frameBytes = FRAME_PREFIX + (long) PAYLOAD_BYTES;
        MemorySegment frames = entryArena.allocate((long) own * frameBytes, 4096);
        this.headerOf = new MemorySegment[entries];
        this.payloadOf = new MemorySegment[entries];
        this.frameOf = new MemorySegment[entries];
        for (int e = 0; e < own; e++) {
            headerOf[e] = headers.asSlice((long) e * UringReqHeader.SIZE, UringReqHeader.SIZE);
            frameOf[e] = frames.asSlice((long) e * frameBytes, frameBytes);
            payloadOf[e] = frameOf[e].asSlice(FRAME_PREFIX, PAYLOAD_BYTES);
        }
        for (int i = 0; i < adopted.size(); i++) {
            headerOf[own + i] = adopted.get(i).header();
            payloadOf[own + i] = adopted.get(i).payload();
        }
        this.iovecs = arena.allocate((long) own * 2 * IOVEC_BYTES, 8);
        this.cmd = arena.allocate(UringCmdReq.SIZE, 8);
        this.in = arena.allocate(FuseChannel.BUFFER_BYTES, 4096);
        this.out = arena.allocate(FuseChannel.BUFFER_BYTES, 4096);
        this.waitArg = arena.allocate(IoUring.GETEVENTS_ARG_BYTES, 8);
        this.lateFor = new FuseDispatcher.LateReply[entries];
        this.waitingLock = new WaitingLock[entries];
        this.armed = new boolean[entries];
        for (int e = 0; e < own; e++) {
            long iov = (long) e * 2 * IOVEC_BYTES;
            iovecs.set(JAVA_LONG, iov, header(e).address());
            iovecs.set(JAVA_LONG, iov + 8, UringReqHeader.SIZE);
            iovecs.set(JAVA_LONG, iov + IOVEC_BYTES, payload(e).address());
            iovecs.set(JAVA_LONG, iov + IOVEC_BYTES + 8, PAYLOAD_BYTES);
        }
        for (int e = 0; e < entries; e++) {
            int entry = e;
            lateFor[e] = (reply, unique) -> late.add(new Late(entry, unique, reply));
        }
    }

    /**
     * Starts the thread and waits until the kernel took (or refused) the registrations.
     *
     * @return null once every entry is registered, else why not (the queue has then stopped)
     */
    String start() {
        thread = Thread.ofPlatform().daemon().name("fsp-" + role).unstarted(this::run);
        thread.start();
        try {
            if (!registered.await(5, TimeUnit.SECONDS)) {
                stop(false);
                return "the kernel did not answer the registration within 5 s";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(false);
            return "interrupted while registering";
        }
        return failure;
    }

    private void run() {
        pinToQueueCpu();
        IoUringRing ring;
        try {
            ring = IoUringRing.setup(2 * entries, IoUring.IORING_SETUP_SQE128, 0);
        } catch (NativeException | IllegalArgumentException e) {
            failure = "cannot create an io_uring with 128-byte SQEs: " + e.getMessage();
            state = "failed";
            registered.countDown();
            return;
        }
        try {
            for (int e = 0; e < own; e++) {
                prepare(ring, UringCmdReq.CMD_REGISTER, e, 0L);
            }
            ring.submit();
            // A REGISTER the kernel takes stays in flight; one it refuses completes at once, during the submit, with
            // a negative result. A completion with a result of 0 is a request: the last queue's registration lets the
            // kernel hand out what waited, and the task work that fills the entry runs in this very submit (this
            // thread is on the queue's CPU); serve() answers it.
            int refused = firstRefusal(ring);
            if (refused < 0) {
                ring.advanceCompletions(ring.completionsReady());
            }
            // The predecessor's held requests, before anything else and even when this queue cannot serve: their
            // programs wait for nothing but these answers, and COMMIT_AND_FETCH finds each entry by its commit id
            // whatever became of this ring's own registrations. Each answer re-arms its entry on this ring.
            for (int i = 0; i < adopted.size(); i++) {
                FuseHandoff.HeldRequest h = adopted.get(i);
                byte[] m = h.message();
                MemorySegment.copy(MemorySegment.ofArray(m), 0, in, 0, m.length);
                dispatchAndCommit(ring, own + i, h.commitId(), m.length);
            }
            ring.submit();
            if (refused < 0) {
                failure = "FUSE_IO_URING_CMD_REGISTER failed: errno " + -refused;
                if (adopted.isEmpty()) {
                    state = "failed";
                    registered.countDown();
                    return;
                }
                // The refusal sent new requests back to /dev/fuse, but requests the kernel had already queued for
                // this CPU queue wait for one of its entries: the taken-over entries, armed again above, serve them.
                state = "draining";
                registered.countDown();
                serve(ring);
                return;
            }
            state = "serving";
            registered.countDown();
            serve(ring);
        } catch (RuntimeException | Error e) {
            LOG.error("{} failed; its ring is closed", role, e);
            failure = String.valueOf(e.getMessage());
            state = "failed";
            registered.countDown();
        } finally {
            // Closing the ring cancels the armed entries, so that it no longer holds the /dev/fuse file.
            ring.close();
            if (drain && !keepBuffers && "serving".equals(state)) {
                answerWhatArrivedWhileClosing();
            }
            if (!"failed".equals(state)) {
                state = "stopped";
            }
        }
    }

    /**
     * Runs this thread on the CPU whose queue it serves (system property {@code fsp.fuse.uring.pin},
     * default true): the kernel queues a request on its caller's CPU and wakes this thread to fill an entry, so a
     * thread on that CPU takes over from the caller, which is waiting for the answer anyway, with no wake-up of another
     * CPU, which on a virtual machine costs tens of microseconds. A CPU outside this process's set leaves it unpinned.
     */
    private void pinToQueueCpu() {
        if (!PIN_TO_QUEUE_CPU) {
            return;
        }
        try {
            Libc.pinCurrentThreadTo(qid);
        } catch (NativeException | IllegalArgumentException e) {
            LOG.info("{}: stays on every CPU of the process ({})", role, e.getMessage());
        }
    }

    /** The result of the first completion that refused a registration, or 0 if none did. */
    private static int firstRefusal(IoUringRing ring) {
        int n = ring.completionsReady();
        for (int i = 0; i < n; i++) {
            if (ring.completionResult(i) < 0) {
                return ring.completionResult(i);
            }
        }
        return 0;
    }

    /**
     * For a hand-over, where the connection lives on: until the kernel has cancelled a closed ring's armed entries, it
     * may still hand them requests, and copies each into the entry's buffers on this thread; the completion goes to
     * the closed ring, unseen. Such a request is found by its commit id, which {@link #prepare} cleared when it armed
     * the entry, and answered through a ring of its own (COMMIT_AND_FETCH finds the request by that id), which is then
     * closed in turn; a few rounds, each far less likely than the one before to catch a request.
     */
    private void answerWhatArrivedWhileClosing() {
        for (int round = 0; round < 4; round++) {
            try {
                Thread.sleep(50); // the cancellation runs in the kernel's own worker; its task work runs here
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            java.util.List<Integer> arrived = new java.util.ArrayList<>();
            for (int e = 0; e < entries; e++) {
                if (armed[e] && header(e).get(JAVA_LONG, UringReqHeader.ENT_COMMIT_ID) != 0) {
                    arrived.add(e);
                }
            }
            if (arrived.isEmpty()) {
                return;
            }
            LOG.info("{}: {} requests reached entries while the ring closed; answering them", role, arrived.size());
            try (IoUringRing rescue = IoUringRing.setup(2 * entries, IoUring.IORING_SETUP_SQE128, 0)) {
                for (int e : arrived) {
                    armed[e] = false;
                    answer(rescue, e);
                }
                rescue.submit();
                // The commit may fetch the next request at once (inline): answer those too before closing.
                int n;
                while ((n = rescue.completionsReady()) > 0) {
                    for (int i = 0; i < n; i++) {
                        int e = (int) rescue.completionUserData(i);
                        armed[e] = false;
                        if (rescue.completionResult(i) >= 0) {
                            answer(rescue, e);
                        }
                    }
                    rescue.advanceCompletions(n);
                    rescue.submit();
                }
            } catch (NativeException | IllegalArgumentException e) {
                LOG.warn("{}: cannot answer the requests that arrived while the ring closed: {}", role, e.getMessage());
                return;
            }
        }
    }

    private void serve(IoUringRing ring) {
        int live = entries;
        int quiet = 0;
        while (live > 0) {
            commitLateAnswers(ring);
            if (!holding && !held.isEmpty() && !keepBuffers) {
                answerHeld(ring);
            }
            if (holding) {
                if (!locksHandedOver) {
                    handOverWaitingLocks();
                }
                countArmed();
            }
            if (stopping && (!drain || System.nanoTime() - stopAskedNanos > MAX_DRAIN_NANOS)) {
                return;
            }
            if (!awaitCompletion(ring)) {
                if (stopping && ++quiet >= QUIET_WAITS_TO_STOP && late.isEmpty()) {
                    return;
                }
                continue;
            }
            quiet = 0;
            int n = ring.completionsReady();
            // Watch for the next request only where requests come one at a time: with several in flight on this CPU,
            // a thread that stays on it takes the time the callers need to make the next ones.
            boolean alone = servingOnThisCpu.getAndIncrement() == 0 && n == 1;
            for (int i = 0; i < n; i++) {
                int entry = (int) ring.completionUserData(i);
                int res = ring.completionResult(i);
                armed[entry] = false;
                if (res < 0) {
                    live--;
                    if (res != -ENOTCONN && res != -ECANCELED && res != -ECONNABORTED) {
                        LOG.warn("{}: entry {} ended with errno {}", role, entry, -res);
                    }
                } else {
                    answer(ring, entry);
                }
            }
            ring.advanceCompletions(n);
            ring.submit();
            boolean stillAlone = servingOnThisCpu.decrementAndGet() == 0;
            lastCompletionNanos = alone && stillAlone ? System.nanoTime() : 0L;
        }
        state = "ended (the connection ended)";
        LOG.info("{}: the FUSE connection ended", role);
    }

    /**
     * Waits for a completion: first by watching the queue's tail from user space for up to {@link #SPIN_NANOS} after
     * the last request (the kernel's task work fills an entry of a running thread on its next return to user space),
     * then in the kernel for {@link #WAIT_NANOS}. It watches only where that pays, as a competitive spinner does: after
     * a request this thread answered alone on its CPU, and, after a watch that found nothing, not again until it has
     * answered twice as many requests as the last time it skipped (at most 64). Where requests come one at a time the
     * watches find them and go on; where many are in flight (buffered reads that the kernel issues from its io_uring
     * workers), fruitless watches would take the CPU from the callers, and they stop. An idle queue sleeps at once.
     */
    private boolean awaitCompletion(IoUringRing ring) {
        long until = lastCompletionNanos + SPIN_NANOS;
        if (skipWatches > 0 && lastCompletionNanos != 0) {
            skipWatches--;
            until = 0;
        }
        boolean watched = false;
        while (System.nanoTime() < until) {
            watched = true;
            if (ring.completionsReady() > 0) {
                missedWatches = 0;
                return true;
            }
            if (!late.isEmpty()) {
                return false;
            }
            Thread.onSpinWait();
        }
        if (watched) {
            // Watching found nothing: watch again only after twice as many requests as last time (at most 64).
            missedWatches = Math.min(64, 2 * missedWatches + 1);
            skipWatches = missedWatches;
        }
        return ring.awaitCompletion(WAIT_NANOS, waitArg);
    }

    /**
     * Copies entry {@code e}'s request into one message as {@code /dev/fuse} would give it, and answers it, or, while
     * {@link #holding}, keeps it for the successor.
     */
    private void answer(IoUringRing ring, int e) {
        MemorySegment h = header(e);
        long len = Integer.toUnsignedLong(h.get(JAVA_INT, UringReqHeader.IN_OUT + InHeader.LEN));
        long payloadBytes = Integer.toUnsignedLong(h.get(JAVA_INT, UringReqHeader.ENT_PAYLOAD_SZ));
        long unique = h.get(JAVA_LONG, UringReqHeader.ENT_COMMIT_ID);
        long opBytes = len - InHeader.SIZE - payloadBytes;
        if (opBytes < 0 || opBytes > UringReqHeader.OP_IN_BYTES || len > in.byteSize()) {
            LOG.warn(
                    "{}: a ring entry whose lengths do not add up ({} = {} + op + {}), answered EINVAL",
                    role,
                    len,
                    InHeader.SIZE,
                    payloadBytes);
            commit(ring, e, unique, new FuseReply.Error(Errno.EINVAL).encode(out, unique));
            return;
        }
        // In place only where the request then starts 8-byte aligned, as the decoder's reads want.
        MemorySegment frame = opBytes % 8 == 0 ? frameOf[e] : null;
        // In place, header and arguments go in front of the payload, which stays where the kernel put it.
        MemorySegment message = frame != null ? frame.asSlice(FRAME_PREFIX - InHeader.SIZE - opBytes, len) : in;
        MemorySegment.copy(h, UringReqHeader.IN_OUT, message, 0, InHeader.SIZE);
        MemorySegment.copy(h, UringReqHeader.OP_IN, message, InHeader.SIZE, opBytes);
        if (frame == null) {
            MemorySegment.copy(payload(e), 0, in, InHeader.SIZE + opBytes, payloadBytes);
        }
        if (holding) {
            held.add(new FuseHandoff.HeldRequest(
                    qid, unique, message.asSlice(0, len).toArray(JAVA_BYTE), header(e), payload(e)));
            return;
        }
        // In place, the answer's header goes in front of the payload and its body into it.
        dispatchAndCommit(
                ring, e, unique, message, len, frame != null ? frame.asSlice(FRAME_PREFIX - OutHeader.SIZE) : out);
    }

    /** A hand-over was called off: answers the held requests here, each into its own entry. */
    private void answerHeld(IoUringRing ring) {
        LOG.info("{}: the hand-over was called off; answering the {} requests held for it", role, held.size());
        for (FuseHandoff.HeldRequest h : held) {
            int e = entryOf(h);
            byte[] m = h.message();
            MemorySegment.copy(MemorySegment.ofArray(m), 0, in, 0, m.length);
            dispatchAndCommit(ring, e, h.commitId(), m.length);
        }
        held.clear();
        ring.submit();
    }

    private int entryOf(FuseHandoff.HeldRequest h) {
        for (int e = 0; e < entries; e++) {
            if (headerOf[e].address() == h.header().address()) {
                return e;
            }
        }
        throw new IllegalStateException("a held request of no entry of " + role);
    }

    /**
     * The first step of holding: a SETLKW waiting in an entry would be answered from this ring's thread, which ends
     * at the hand-over, so each is taken back from its waiter and held for the successor, which asks for the lock
     * again (the caller keeps waiting, as if nothing happened). One whose waiter has just answered is committed here as
     * usual, and its entry fills again like any free one.
     */
    private void handOverWaitingLocks() {
        for (int e = 0; e < entries; e++) {
            WaitingLock w = waitingLock[e];
            if (w != null && dispatcher.handOverLockWait(w.unique())) {
                held.add(new FuseHandoff.HeldRequest(qid, w.unique(), w.message(), header(e), payload(e)));
                waitingLock[e] = null;
            }
        }
        locksHandedOver = true;
    }

    /** Counts the armed entries for {@link #occupied}. */
    private void countArmed() {
        int n = 0;
        for (boolean a : armed) {
            n += a ? 1 : 0;
        }
        armedNow = n;
    }

    /** Decodes the {@code len}-byte request in {@link #in}, answers it and commits the answer into entry {@code e}. */
    private void dispatchAndCommit(IoUringRing ring, int e, long unique, long len) {
        dispatchAndCommit(ring, e, unique, in, len, out);
    }

    /**
     * Decodes the {@code len}-byte request in {@code message}, answers it into {@code answer} and commits the answer
     * into entry {@code e}. Both may lie in the entry's own frame (see {@link #answer}): an answer is produced only once
     * the request is used up (the decoder keeps names and values as copies; a WRITE's data is written into the file
     * system before its answer is), so neither a WRITE's data nor a READ's is copied on this side.
     */
    private void dispatchAndCommit(
            IoUringRing ring, int e, long unique, MemorySegment message, long len, MemorySegment answer) {
        FuseRequest request = FuseDecoder.decode(message, len);
        if (request == null) {
            commit(ring, e, unique, new FuseReply.Error(Errno.EINVAL).encode(out, unique));
            return;
        }
        FuseReply reply = dispatcher.dispatch(request, answer, lateFor[e]);
        int n = reply.encode(answer, unique);
        served.incrementAndGet();
        if (n == 0) {
            // A SETLKW that waits: the entry is held until its late answer comes (commitLateAnswers).
            if (request.header().opcode() == FuseOpcodes.SETLKW) {
                waitingLock[e] = new WaitingLock(unique, message.asSlice(0, len).toArray(JAVA_BYTE));
            } else {
                LOG.warn(
                        "{}: {} came by io_uring without an answer; answered EIO",
                        role,
                        FuseOpcodes.name(request.header().opcode()));
                commit(ring, e, unique, new FuseReply.Error(Errno.EIO).encode(out, unique));
            }
            return;
        }
        commit(ring, e, unique, answer, n);
    }

    private void commitLateAnswers(IoUringRing ring) {
        Late l;
        boolean any = false;
        while ((l = late.poll()) != null) {
            waitingLock[l.entry()] = null;
            commit(ring, l.entry(), l.unique(), l.reply().encode(out, l.unique()));
            any = true;
        }
        if (any) {
            ring.submit();
        }
    }

    /** Puts the {@code n}-byte answer in {@link #out} into entry {@code e} and queues its COMMIT_AND_FETCH. */
    private void commit(IoUringRing ring, int e, long unique, int n) {
        commit(ring, e, unique, out, n);
    }

    /**
     * Puts the {@code n}-byte answer in {@code answer} into entry {@code e} and queues its COMMIT_AND_FETCH: its header
     * into the entry's header, its body into the payload unless it was produced there.
     */
    private void commit(IoUringRing ring, int e, long unique, MemorySegment answer, int n) {
        MemorySegment h = header(e);
        MemorySegment.copy(answer, 0, h, UringReqHeader.IN_OUT, OutHeader.SIZE);
        long body = n - OutHeader.SIZE;
        if (answer.address() + OutHeader.SIZE != payload(e).address()) {
            MemorySegment.copy(answer, OutHeader.SIZE, payload(e), 0, body);
        }
        h.set(JAVA_INT, UringReqHeader.ENT_PAYLOAD_SZ, (int) body);
        prepare(ring, UringCmdReq.CMD_COMMIT_AND_FETCH, e, unique);
    }

    private void prepare(IoUringRing ring, int cmdOp, int e, long commitId) {
        // Cleared before the entry is armed: a request the kernel copies in sets it (answerWhatArrivedWhileClosing).
        header(e).set(JAVA_LONG, UringReqHeader.ENT_COMMIT_ID, 0L);
        armed[e] = true;
        cmd.fill((byte) 0);
        cmd.set(JAVA_LONG, UringCmdReq.COMMIT_ID, commitId);
        boolean refuse = cmdOp == UringCmdReq.CMD_REGISTER && refuseRegister;
        cmd.set(JAVA_SHORT, UringCmdReq.QID, (short) (refuse ? 0xfffe : qid));
        ring.prepareUringCmd(devFd, cmdOp, cmd, iovecs.address() + (long) e * 2 * IOVEC_BYTES, 2, e);
    }

    /**
     * Turns a connection that settled FUSE-over-io_uring back to {@code /dev/fuse} reads, for when its queues cannot be
     * set up: the kernel holds every new request until all its queues have an entry, unless a registration fails,
     * which clears the connection's io_uring mode. So this submits one REGISTER the kernel must refuse (a queue id
     * beyond its queues) and waits for that refusal.
     *
     * @return true if the kernel refused it as meant
     */
    static boolean fallBackToClassic(int devFd) {
        try (IoUringRing ring = IoUringRing.setup(2, IoUring.IORING_SETUP_SQE128, 0);
                Arena a = Arena.ofConfined()) {
            MemorySegment req = a.allocate(UringCmdReq.SIZE, 8);
            req.set(JAVA_SHORT, UringCmdReq.QID, (short) 0xffff);
            ring.prepareUringCmd(devFd, UringCmdReq.CMD_REGISTER, req, 0L, 2, 0L);
            ring.submit();
            MemorySegment arg = a.allocate(IoUring.GETEVENTS_ARG_BYTES, 8);
            return ring.awaitCompletion(1_000_000_000L, arg) && ring.completionResult(0) < 0;
        } catch (NativeException | IllegalArgumentException e) {
            LOG.error("cannot turn the FUSE connection back to /dev/fuse reads: {}", e.getMessage());
            return false;
        }
    }

    private MemorySegment header(int e) {
        return headerOf[e];
    }

    private MemorySegment payload(int e) {
        return payloadOf[e];
    }

    /**
     * From now on requests that come are kept, not answered: the first step of a hand-over, which closes this ring
     * only once {@link #occupied} (every entry holds a request), so that the close cancels nothing the kernel could
     * be handing out at that moment.
     */
    void hold() {
        holding = true;
    }

    /** The hand-over was called off: the held requests are answered here and serving goes on. */
    void release() {
        holding = false;
        locksHandedOver = false;
    }

    /** Whether no entry is free: each holds a request (kept, or being answered), waiting SETLKWs taken back. */
    boolean occupied() {
        return holding && locksHandedOver && armedNow == 0;
    }

    /** The kernel's queue (a CPU) this ring's entries belong to. */
    int qid() {
        return qid;
    }

    /** Entries the kernel may hand requests to from this ring: its own and the adopted ones. */
    int entries() {
        return entries;
    }

    /**
     * Stops the thread, which closes the ring (with every entry occupied, nothing to cancel), and gives the held
     * requests with their entries' buffers for the successor; those buffers stay allocated, in {@link #buffers}.
     */
    List<FuseHandoff.HeldRequest> stopForHandOver() {
        keepBuffers = true;
        if (stopThread(false)) {
            arena.close();
        }
        return List.copyOf(held);
    }

    /** What holds this queue's own entry buffers (adopted entries' buffers are held by their predecessor's). */
    AutoCloseable buffers() {
        return entryArena;
    }

    /**
     * Stops the thread: it answers what it has already read and, with {@code drain} (a hand-over to the next version,
     * the connection lives on), goes on answering until its ring has been quiet for a moment (at most a second); then
     * it closes the ring, which cancels the armed entries. Frees the buffers once the thread is gone.
     */
    void stop(boolean drain) {
        if (!stopThread(drain)) {
            return; // its buffers stay allocated: the kernel may still write into them
        }
        arena.close();
        if (!keepBuffers) {
            entryArena.close();
        }
    }

    /** Asks the thread to stop (with {@code drain}, after a quiet moment) and waits for it; false if it did not end. */
    private boolean stopThread(boolean drain) {
        this.drain = drain;
        stopAskedNanos = System.nanoTime();
        stopping = true;
        Thread t = thread;
        if (t != null) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.warn("{} did not stop within 10 s", role);
                return false;
            }
        }
        return true;
    }

    long served() {
        return served.get();
    }

    /** True if this queue took over entries from a predecessor. */
    boolean adoptedAny() {
        return !adopted.isEmpty();
    }

    /** True while this queue's thread serves its ring (also after a refused registration, when it drains). */
    boolean serving() {
        return "serving".equals(state) || "draining".equals(state);
    }

    String state() {
        return state;
    }

    int depth() {
        return depth;
    }
}
