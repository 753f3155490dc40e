package org.fsp.client;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.api.channel.HandshakeDescriptor.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.ChannelOpcodes;
import org.fsp.api.channel.LaneDescriptor;
import org.fsp.api.channel.RequestFlyweight;
import org.fsp.api.channel.ResponseFlyweight;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.linux.Futex;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.fsp.linux.SocketStructs;
import org.fsp.linux.UnixSockets;

/**
 * The client end of one channel: the handshake, the mapping, and the many-to-one submission into lanes. Each thread
 * sticks to one lane (threads are spread over lanes round-robin); within a lane, threads claim consecutive ring
 * positions with one atomic increment of a client-private tail, so threads on different lanes never touch a shared
 * cache line, and the server drains each lane in claim order.
 *
 * <p>A typical call is {@link #begin()} (claims a slot, waits until its previous occupant gave it back), filling the
 * request through {@link Call#request}, {@link #submit} (publishes, rings the lane's doorbell only if the worker sleeps,
 * spins briefly on the state word, then sleeps on it with futex), reading the response, and {@link #end} in a finally.
 * In steady state none of this makes a system call.
 *
 * <p>Its length (about 700 lines): the handshake that maps the segment, the claim of a slot, the publication of a
 * request and the wait for its answer (the spin, its adaptation, the futex sleep and the waking of sleepers) all read
 * and write the same state words, lane tails and header fields of that segment, in an order of releases and acquires
 * that is easier to check when it is all in one class. Whom to trust as the server is {@link ServerTrust}'s, keeping
 * off the server's CPUs {@link ServerCpuAvoidance}'s, and going on with the next server {@link Reconnecting}'s.
 */
final class ChannelProxy implements AutoCloseable {

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final VarHandle LONG = JAVA_LONG.varHandle();
    /**
     * How long a waiting thread spins before it sleeps on the slot's futex word. Long enough for any answer from a
     * server that keeps up (round trips are about 1 us), short because on a busy machine the kernel may wake the
     * server's worker on the waiting thread's own core, where it runs only once this thread sleeps: every request
     * then costs the whole spin (JMH under load average 8-11: 4 KiB round trips averaged 134-432 us with 200 us of
     * spin, 82-86 us with 30 us).
     */
    static final long SPIN_NANOS = Long.getLong("fsp.client.spinMicros", 50) * 1000;

    /**
     * The shortest spin the adaptation goes down to: about what a round trip costs when the server's worker is
     * running, so that a waiter on a machine without spare cores sleeps almost at once and leaves its core to the
     * worker.
     */
    static final long MIN_SPIN_NANOS = Math.min(SPIN_NANOS, 2_000);

    /**
     * Threads of this channel that may spin at once: one fewer than the cores (at least one), the rest being the
     * server's. A waiter beyond that sleeps after its first few polls: more spinning threads than cores only take
     * turns on them with the worker that would answer them.
     */
    /**
     * What a sleep and a wake-up cost on top of an answer (futex wake, the scheduler running the sleeper), about:
     * an answer that came within this of the spin's end counts as "just after". Without it a waiter at the shortest
     * spin never grew back where the server's worker slept too (each side's short spin failing for the other's sleep;
     * fsp bench fairness: the honest stat stuck at 11 us p50).
     */
    static final long WAKE_NANOS = 50_000;

    /**
     * Whether spinning threads wake this channel's sleepers in the server's stead
     * ({@link ChannelHeaderDescriptor#CLIENT_WAKERS_OFFSET}); {@code -Dfsp.client.wakeSleepers=false} leaves every
     * wake to the server, for comparison.
     */
    static final boolean WAKE_SLEEPERS = !"false".equals(System.getProperty("fsp.client.wakeSleepers"));

    static final int MAX_SPINNERS = Math.max(
            1, Integer.getInteger("fsp.client.maxSpinners", Runtime.getRuntime().availableProcessors() - 1));

    /** Polls of the state word between two reads of the clock while spinning. */
    private static final int SPINS_PER_CLOCK_READ = 64;

    private static final long SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** Longs between two lanes' tails in {@link #tails}: 128 bytes, so that tails never share a cache line. */
    private static final int TAIL_STRIDE = 16;

    /** One thread's view of the slot it is using; a thread makes one call at a time. */
    static final class Call {
        final int lane;
        final RequestFlyweight request = new RequestFlyweight();
        final ResponseFlyweight response = new ResponseFlyweight();
        long slotOffset;
        long dataOffset;
        int pathBytes;
        boolean submitted;
        long seq;
        int turn;
        /** Set by a waker that made the futex wake for this call's current sleep (so that it makes only one). */
        final AtomicBoolean woken = new AtomicBoolean();

        Call(int lane) {
            this.lane = lane;
        }
    }

    final ChannelLayout layout;
    final MemorySegment segment;
    final long clientId;
    /** The server keeps exactly-once records for this session ({@link HandshakeDescriptor#FEATURE_RECORDS}). */
    final boolean recordsKept;
    /** The server grants read leases on this channel (its header is of minor version 2 or later). */
    final boolean leases;
    /**
     * Offset of the segment's change-event area ({@link ChangeEventsDescriptor}), or -1: the server gives none (an
     * older server, or one that does not publish changes to this client).
     */
    final long eventArea;
    /** Bytes of the change-event ring, 0 without an area. */
    final int eventRingBytes;
    /** Set once the server is known gone: every call on this channel then fails with {@link ServerGoneException}. */
    private volatile boolean gone;

    private final Arena arena;
    private final int socketFd;
    private final int mask;
    private final AtomicLongArray tails;
    /** Per slot, the ring position whose claim may use it next (client-private). */
    private final AtomicLongArray turns;

    /** Bit i set: bulk buffer i (of {@link ChannelLayout#BULK_IO_BYTES}, from the bulk area's start) is free. */
    private final AtomicLong freeBulk;

    private final int bulkBuffers;

    private final AtomicInteger nextLane = new AtomicInteger();
    private final ThreadLocal<Call> calls;
    private volatile boolean closed;
    /** System calls made on the request path: futex sleeps of waiting threads and doorbell wake-ups of workers. */
    final LongAdder futexCalls = new LongAdder();
    /** Sleeps that ended by their timeout with the answer already there: each a wake that neither side made. */
    final LongAdder missedWakes = new LongAdder();

    /**
     * How long a waiter spins before it sleeps, between {@link #MIN_SPIN_NANOS} and {@link #SPIN_NANOS}, adapted by
     * every wait (two-phase waiting, as Shenango's and Karlin's competitive spinning): halved when an answer comes long
     * after the spin gave up (the worker is not running: spinning only took its core), doubled when it comes just
     * after (a little more spin would have caught it), nudged up when the spin caught it. Written racily by the
     * waiting threads; any recent value will do.
     */
    private volatile long spinNanos = SPIN_NANOS;
    /** Waiters of this channel spinning now, at most {@link #MAX_SPINNERS}. */
    private final AtomicInteger spinners = new AtomicInteger();
    /**
     * This channel's threads asleep on their slot. A spinning thread is a waker
     * ({@link ChannelHeaderDescriptor#CLIENT_WAKERS_OFFSET}): it wakes those whose answer has come, so that the
     * server's worker need not make the system call.
     */
    private final Queue<Call> sleepers = new ConcurrentLinkedQueue<>();

    private ChannelProxy(
            ChannelLayout layout,
            MemorySegment segment,
            Arena arena,
            int socketFd,
            long clientId,
            boolean recordsKept,
            int eventBytes) {
        this.recordsKept = recordsKept;
        this.eventArea = eventBytes > 0 ? layout.segmentBytes() : -1;
        this.eventRingBytes = eventBytes > 0 ? eventBytes - ChangeEventsDescriptor.RING_OFFSET : 0;
        this.layout = layout;
        this.segment = segment;
        this.leases = ChannelHeaderDescriptor.minorOf(segment.get(JAVA_INT, ChannelHeaderDescriptor.VERSION_OFFSET))
                >= ChannelHeaderDescriptor.LEASES_MINOR_VERSION;
        this.arena = arena;
        this.socketFd = socketFd;
        this.clientId = clientId;
        this.mask = layout.slotsPerLane() - 1;
        this.tails = new AtomicLongArray(layout.laneCount() * TAIL_STRIDE);
        this.turns = new AtomicLongArray(layout.laneCount() * layout.slotsPerLane());
        for (int i = 0; i < turns.length(); i++) {
            turns.set(i, i % layout.slotsPerLane());
        }
        this.calls = ThreadLocal.withInitial(() -> {
            // A thread's first call on this channel: keep it off the server's worker CPUs from now on.
            ServerCpuAvoidance.keepCallingThreadOff(ChannelHeaderDescriptor.serverCpus(segment));
            return new Call(nextLane.getAndIncrement() % layout.laneCount());
        });
        this.bulkBuffers = layout.bulkBytes() / ChannelLayout.BULK_IO_BYTES;
        this.freeBulk = new AtomicLong(bulkBuffers == 64 ? -1L : (1L << bulkBuffers) - 1);
    }

    /**
     * Takes a free bulk buffer for one large read or write: its index (its bytes are {@link #bulkBufferOffset} in
     * the segment, {@link ChannelLayout#BULK_IO_BYTES} long), or -1 if the server gave no bulk area or every buffer is
     * in use (the caller then moves the data through its slots). Give it back with {@link #releaseBulk}.
     */
    int claimBulk() {
        while (true) {
            long free = freeBulk.get();
            if (free == 0) {
                return -1;
            }
            int i = Long.numberOfTrailingZeros(free);
            if (freeBulk.compareAndSet(free, free & ~(1L << i))) {
                return i;
            }
        }
    }

    void releaseBulk(int buffer) {
        freeBulk.getAndUpdate(free -> free | (1L << buffer));
    }

    /** Offset of bulk buffer {@code buffer} in the bulk area (what a bulk request's arg0 carries). */
    static long bulkAreaOffset(int buffer) {
        return (long) buffer * ChannelLayout.BULK_IO_BYTES;
    }

    /** Offset of bulk buffer {@code buffer} in the segment. */
    long bulkBufferOffset(int buffer) {
        return layout.bulkOffset() + bulkAreaOffset(buffer);
    }

    /** Connects, says hello asking for {@code lanes} (0: the server's default), maps the segment it passes. */
    static ChannelProxy connect(Path socket, int lanes) throws IOException {
        return connect(socket, lanes, 0, 0);
    }

    /** {@link #connect(Path, int)} presenting a session token (both zero: none). */
    /**
     * The server closed the connection before its welcome (a server stopping, or handing its socket to the next one,
     * while this connect was in its backlog): connecting again reaches the server that now listens.
     */
    static final class HandshakeCutException extends IOException {
        HandshakeCutException(String message) {
            super(message);
        }

        HandshakeCutException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final int EPIPE = 32;
    private static final int ECONNRESET = 104;

    static ChannelProxy connect(Path socket, int lanes, long tokenHigh, long tokenLow) throws IOException {
        int fd;
        try {
            fd = UnixSockets.connect(socket.toAbsolutePath().toString());
        } catch (NativeException e) {
            throw new IOException("no FSP server at " + socket + ": " + e.getMessage(), e);
        }
        int memfd = -1;
        try (Arena temp = Arena.ofConfined()) {
            // Who listens there, as the kernel recorded it at listen(): checked before anything is sent.
            UnixSockets.PeerCredentials server = UnixSockets.peerCredentials(fd);
            String refusal = ServerTrust.check(socket, server.uid(), server.pid(), Libc.getuid());
            if (refusal != null) {
                throw new IOException(refusal);
            }
            UnixSockets.setTimeouts(fd, 5_000);
            MemorySegment hello = temp.allocate(HELLO_BYTES, 8);
            hello.set(JAVA_LONG, MAGIC_OFFSET, ChannelHeaderDescriptor.MAGIC);
            hello.set(
                    JAVA_INT,
                    VERSION_OFFSET,
                    ChannelHeaderDescriptor.version(
                            ChannelHeaderDescriptor.MAJOR_VERSION, ChannelHeaderDescriptor.MINOR_VERSION));
            hello.set(JAVA_INT, HELLO_LANES_OFFSET, lanes);
            hello.set(JAVA_LONG, HELLO_TOKEN_HIGH_OFFSET, tokenHigh);
            hello.set(JAVA_LONG, HELLO_TOKEN_LOW_OFFSET, tokenLow);
            UnixSockets.send(fd, hello, -1);
            MemorySegment welcome = temp.allocate(WELCOME_BYTES, 8);
            UnixSockets.Received got = UnixSockets.receive(fd, welcome);
            memfd = got.fd();
            if (got.bytes() == 0) {
                throw new HandshakeCutException(
                        "handshake with " + socket + " failed: the server closed the connection");
            }
            if (got.bytes() != WELCOME_BYTES || welcome.get(JAVA_LONG, MAGIC_OFFSET) != ChannelHeaderDescriptor.MAGIC) {
                throw new IOException("the peer at " + socket + " is not an FSP server (" + got.bytes() + " bytes)");
            }
            try {
                ChannelHeaderDescriptor.checkVersion(welcome.get(JAVA_INT, VERSION_OFFSET));
            } catch (IllegalStateException e) {
                throw new IOException(e.getMessage());
            }
            int status = welcome.get(JAVA_INT, WELCOME_STATUS_OFFSET);
            if (status != 0) {
                throw FspExceptions.of(Errno.of(status), socket.toString(), null);
            }
            if (memfd < 0) {
                throw new IOException("FSP server at " + socket + " sent no segment");
            }
            ChannelLayout lanesOnly = ChannelLayout.of(
                    welcome.get(JAVA_INT, WELCOME_LANE_COUNT_OFFSET),
                    welcome.get(JAVA_INT, WELCOME_SLOTS_PER_LANE_OFFSET),
                    welcome.get(JAVA_INT, WELCOME_SLOT_DATA_BYTES_OFFSET));
            long bytes = welcome.get(JAVA_LONG, WELCOME_SEGMENT_BYTES_OFFSET);
            boolean events = (welcome.get(JAVA_INT, WELCOME_FEATURES_OFFSET) & FEATURE_CHANGE_EVENTS) != 0;
            long most = lanesOnly.segmentBytes()
                    + ChannelLayout.MAX_BULK_BYTES
                    + (events ? ChangeEventsDescriptor.RING_OFFSET + ChangeEventsDescriptor.MAX_RING_BYTES : 0);
            if (bytes < lanesOnly.segmentBytes() || bytes > most) {
                throw new IOException("FSP server declares " + bytes + " bytes for geometry " + lanesOnly);
            }
            MemorySegment raw = Libc.mmap(bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0);
            Arena arena = Arena.ofShared();
            MemorySegment segment = raw.reinterpret(arena, Libc::munmap);
            ChannelLayout layout;
            int eventBytes;
            try {
                // What the segment holds beyond the lanes is its bulk area (none from a server of minor version 0),
                // then, when the welcome says so, the change-event area whose bytes the header gives.
                eventBytes = events ? ChannelHeaderDescriptor.eventBytes(segment) : 0;
                if (events && !ChangeEventsDescriptor.validAreaBytes(eventBytes)) {
                    throw new IOException("FSP server declares a change-event area of " + eventBytes + " bytes");
                }
                long bulk = bytes - lanesOnly.segmentBytes() - eventBytes;
                if (bulk < 0 || bulk > ChannelLayout.MAX_BULK_BYTES) {
                    throw new IOException("FSP server declares " + bytes + " bytes for geometry " + lanesOnly);
                }
                layout = lanesOnly.withBulkBytes((int) bulk);
                ChannelLayout mapped = ChannelHeaderDescriptor.check(segment);
                if (!mapped.equals(layout)) {
                    throw new IOException("segment header " + mapped + " disagrees with welcome " + layout);
                }
            } catch (IllegalStateException | IOException e) {
                arena.close();
                throw e instanceof IOException io ? io : new IOException(e.getMessage());
            }
            return new ChannelProxy(
                    layout,
                    segment,
                    arena,
                    fd,
                    welcome.get(JAVA_LONG, WELCOME_CLIENT_ID_OFFSET),
                    (welcome.get(JAVA_INT, WELCOME_FEATURES_OFFSET) & FEATURE_RECORDS) != 0,
                    eventBytes);
        } catch (IOException | RuntimeException e) {
            Libc.close(fd);
            if (e instanceof NativeException n) {
                String why = "handshake with " + socket + " failed: " + n.getMessage();
                throw n.errno() == EPIPE || n.errno() == ECONNRESET
                        ? new HandshakeCutException(why, n)
                        : new IOException(why, n);
            }
            throw e;
        } finally {
            if (memfd >= 0) {
                Libc.close(memfd);
            }
        }
    }

    /**
     * Claims the next slot of this thread's lane and waits for its turn: the claim of ring position {@code seq} may use
     * the slot only after the claim of {@code seq - slotsPerLane} gave it back, which a client-private turn per slot
     * enforces (checking the shared state word alone would let two claims a whole ring apart share the slot when more
     * threads than slots use one lane). The request is cleared.
     */
    Call begin() throws IOException {
        if (gone) {
            throw new ServerGoneException("the FSP server of this channel is gone");
        }
        if (closed) {
            throw new ClosedChannelException();
        }
        Call c = calls.get();
        long seq = tails.getAndIncrement(c.lane * TAIL_STRIDE);
        int slot = (int) (seq & mask);
        int turn = c.lane * layout.slotsPerLane() + slot;
        c.seq = seq;
        c.turn = turn;
        c.slotOffset = layout.slotOffset(c.lane, slot);
        c.dataOffset = layout.dataOffset(c.lane, slot);
        c.pathBytes = 0;
        c.submitted = false;
        c.request.wrap(segment, c.slotOffset);
        c.response.wrap(segment, c.slotOffset);
        // Acquire (volatile read): the previous occupant's reads of the slot happen before we overwrite it.
        for (int spins = 0; turns.get(turn) != seq; spins++) {
            // Only when more threads than slots share the lane: let the thread whose turn it is run.
            if (spins > 1_000) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
            if (gone) {
                passTurn(c);
                throw new ServerGoneException("the FSP server of this channel is gone");
            }
            if (closed) {
                passTurn(c);
                throw new ClosedChannelException();
            }
        }
        try {
            if ((c.request.stateAcquire() & SlotDescriptor.STATE_MASK) != SlotDescriptor.EMPTY) {
                passTurn(c);
                checkServerAlive();
                throw new IOException("FSP channel broken: a slot was never completed");
            }
            c.request.clear();
        } catch (IllegalStateException e) {
            passTurn(c);
            throw closedOr(e);
        }
        return c;
    }

    private void passTurn(Call c) {
        // Release: everything this call did with the slot happens before the next claim's acquire (volatile) read of
        // its turn lets it use the slot. A release store is a plain store on x86, where a volatile one would drain the
        // store buffer a second time per call.
        turns.setRelease(c.turn, c.seq + layout.slotsPerLane());
    }

    /** Writes a path after any already in this call's data buffer and records its length (path 1, then path 2). */
    void putPath(Call c, String path, boolean second) throws IOException {
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > FileSystemService.PATH_MAX - 1) {
            throw FspExceptions.of(Errno.ENAMETOOLONG, path, null);
        }
        MemorySegment.copy(bytes, 0, segment, JAVA_BYTE, c.dataOffset + c.pathBytes, bytes.length);
        c.pathBytes += bytes.length;
        if (second) {
            c.request.path2Length(bytes.length);
        } else {
            c.request.path1Length(bytes.length);
        }
    }

    /** Publishes the filled request and waits for its result (>= 0, or minus the errno). */
    long submit(Call c) throws IOException {
        c.submitted = true;
        try {
            c.request.publishSubmitted();
            // Full fence between our store of SUBMITTED and our load of the doorbell: the worker does the mirror
            // image (store PARKED, fence, load our state), so one of us always sees the other.
            VarHandle.fullFence();
            long doorbell = layout.laneOffset(c.lane) + LaneDescriptor.DOORBELL_OFFSET;
            if ((int) INT.getVolatile(segment, doorbell) == LaneDescriptor.PARKED
                    && INT.compareAndSet(segment, doorbell, LaneDescriptor.PARKED, LaneDescriptor.AWAKE)) {
                futexCalls.increment();
                Futex.wake(MemorySegment.ofAddress(segment.address() + doorbell), 1);
            }
            await(c);
            return c.response.result();
        } catch (IllegalStateException e) {
            throw closedOr(e);
        }
    }

    /** True once the server of this channel is known gone. */
    boolean isGone() {
        return gone;
    }

    private void await(Call c) throws IOException {
        // The clock is read once per SPINS_PER_CLOCK_READ polls, not on every poll: a poll is then one load and one
        // pause, so an answer is seen sooner, and the common sub-microsecond wait reads no clock and touches no
        // shared counter at all.
        long spinStart = 0;
        long budget = 0;
        boolean spinner = false;
        boolean slept = false;
        try {
            for (int polls = 1; ; polls++) {
                // Acquire: the result and payload the server wrote before its release swap are visible after this.
                int state = c.request.stateAcquire();
                if ((state & SlotDescriptor.STATE_MASK) == SlotDescriptor.COMPLETED) {
                    if (spinStart != 0) {
                        adapt(
                                budget,
                                slept,
                                answeredAfter(c.response.completedAt(), slept, spinStart, System.nanoTime()));
                    }
                    return;
                }
                if (polls % SPINS_PER_CLOCK_READ != 0 && !slept) {
                    Thread.onSpinWait();
                    continue;
                }
                long now = System.nanoTime();
                if (spinStart == 0) {
                    spinStart = now;
                    spinner = spinners.incrementAndGet() <= MAX_SPINNERS;
                    if (spinner) {
                        if (WAKE_SLEEPERS) {
                            LONG.setRelease(segment, (long) ChannelHeaderDescriptor.CLIENT_WAKER_HEARTBEAT_OFFSET, now);
                            INT.getAndAdd(segment, (long) ChannelHeaderDescriptor.CLIENT_WAKERS_OFFSET, 1);
                        }
                    } else {
                        spinners.decrementAndGet();
                    }
                    budget = spinner ? spinNanos : 0;
                }
                if (now - spinStart < budget) {
                    if (spinner && WAKE_SLEEPERS) {
                        LONG.setRelease(segment, (long) ChannelHeaderDescriptor.CLIENT_WAKER_HEARTBEAT_OFFSET, now);
                        wakeAnswered();
                    }
                    Thread.onSpinWait();
                    continue;
                }
                if (spinner) {
                    spinner = false;
                    stopWaking();
                }
                if (!slept) {
                    slept = true;
                    sleepers.add(c);
                }
                // Listed before WAITER is set: a waker that sees WAITER with the answer finds the call in its scan.
                c.woken.set(false);
                if ((state & SlotDescriptor.WAITER) == 0
                        && !c.request.compareAndSetState(state, state | SlotDescriptor.WAITER)) {
                    continue;
                }
                futexCalls.increment();
                boolean woken = Futex.await(
                        MemorySegment.ofAddress(segment.address() + c.slotOffset),
                        state | SlotDescriptor.WAITER,
                        SLEEP_NANOS);
                if (!woken) {
                    if ((c.request.stateAcquire() & SlotDescriptor.STATE_MASK) == SlotDescriptor.COMPLETED) {
                        missedWakes.increment();
                    }
                    checkServerAlive();
                }
                if (gone) {
                    throw new ServerGoneException("the FSP server of this channel is gone");
                }
            }
        } finally {
            if (spinner) {
                stopWaking();
            }
            if (slept) {
                sleepers.remove(c);
            }
        }
    }

    /**
     * A spinning thread stops being a waker: after the decrement (a full fence, as the server's completing swap is)
     * it wakes whoever's answer came meanwhile, since the server may have read the count before it fell and left
     * those wakes to it.
     */
    private void stopWaking() {
        spinners.decrementAndGet();
        if (WAKE_SLEEPERS) {
            INT.getAndAdd(segment, (long) ChannelHeaderDescriptor.CLIENT_WAKERS_OFFSET, -1);
            wakeAnswered();
        }
    }

    /** Wakes the listed sleepers of this channel whose answer has come (each once per sleep). */
    private void wakeAnswered() {
        if (sleepers.isEmpty()) {
            return;
        }
        for (Call s : sleepers) {
            int state = (int) INT.getAcquire(segment, s.slotOffset + SlotDescriptor.STATE_OFFSET);
            // The server's completing swap clears WAITER: a listed call whose slot is complete is one to wake.
            if ((state & SlotDescriptor.STATE_MASK) == SlotDescriptor.COMPLETED && s.woken.compareAndSet(false, true)) {
                futexCalls.increment();
                Futex.wake(MemorySegment.ofAddress(segment.address() + s.slotOffset), 1);
            }
        }
    }

    /**
     * How long after {@code spinStart} the answer came, ns. After a sleep that is when the server says it answered
     * (the slot's completion time, on the same CLOCK_MONOTONIC), not when this thread woke: on a VM a wake-up alone
     * can take longer than the spin budget, so judged by the wake every slept wait looks too long for spinning, the
     * budget sinks to its floor, and each round trip of a serial caller (a create whose commit takes a few tens of
     * microseconds) pays a sleep and a wake on both sides. A server that does not write the time (0), or a time
     * outside the wait, falls back to the wake.
     */
    static long answeredAfter(long completedAt, boolean slept, long spinStart, long now) {
        if (slept && completedAt != 0 && completedAt - spinStart >= 0 && completedAt - now <= 0) {
            return completedAt - spinStart;
        }
        return now - spinStart;
    }

    /** Adapts {@link #spinNanos} after a wait of {@code waited} ns that spun for {@code budget} (see the field). */
    private void adapt(long budget, boolean slept, long waited) {
        long now = spinNanos;
        long next = nextSpinNanos(now, budget, slept, waited);
        if (next != now) {
            spinNanos = next;
        }
    }

    /**
     * The spin budget after a wait of {@code waited} ns by a thread that spun for {@code budget} ns (0: it was not
     * allowed to spin, which says nothing) and then {@code slept} or not.
     */
    static long nextSpinNanos(long current, long budget, boolean slept, long waited) {
        if (budget == 0) {
            return current;
        }
        long next;
        if (!slept) {
            next = current + (current >> 4);
        } else if (waited < 2 * budget + WAKE_NANOS) {
            next = current * 2;
        } else {
            next = current / 2;
        }
        return Math.max(MIN_SPIN_NANOS, Math.min(SPIN_NANOS, next));
    }

    /** The spin budget waiters use now, nanoseconds (for tests and statistics). */
    long spinNanos() {
        return spinNanos;
    }

    /**
     * Gives the call's slot back; safe to call after a failure, and after close. A slot that was claimed but never
     * submitted (the call failed while filling it, e.g. a path too long) is submitted as a NOOP first: the server
     * drains the lane in claim order and would otherwise wait for that slot for ever.
     */
    void end(Call c) throws IOException {
        try {
            if (!c.submitted) {
                c.request.clear().opcode(ChannelOpcodes.NOOP);
                submit(c);
            }
            if ((c.request.stateAcquire() & SlotDescriptor.STATE_MASK) == SlotDescriptor.COMPLETED) {
                c.request.releaseEmpty();
            }
        } catch (IllegalStateException e) {
            if (arena.scope().isAlive()) {
                throw e;
            }
        } finally {
            passTurn(c);
        }
    }

    private void checkServerAlive() throws IOException {
        if (segment.get(JAVA_INT, ChannelHeaderDescriptor.SERVER_STATE_OFFSET)
                == ChannelHeaderDescriptor.SERVER_CLOSED) {
            gone = true;
            throw new ServerGoneException("the FSP server closed this channel");
        }
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment fds = temp.allocate(SocketStructs.POLLFD_SIZE, 8);
            UnixSockets.setPollFd(fds, 0, socketFd, UnixSockets.POLLIN);
            if (UnixSockets.poll(fds, 1, 0) > 0) {
                gone = true;
                throw new ServerGoneException("the FSP server is gone (channel socket closed)");
            }
        }
    }

    /**
     * Whether the server of this channel is known or seen gone (its state word says closed, or its socket hung up),
     * without a call: how a thread that only listens notices that a reconnect is due. One poll system call.
     */
    boolean serverGone() {
        if (gone || closed) {
            return true;
        }
        try {
            checkServerAlive();
            return false;
        } catch (IOException | IllegalStateException e) {
            return true;
        }
    }

    IOException closedOr(IllegalStateException e) {
        if (gone) {
            ServerGoneException g = new ServerGoneException("the FSP server of this channel is gone");
            g.initCause(e);
            return g;
        }
        if (closed || !arena.scope().isAlive()) {
            ClosedChannelException c = new ClosedChannelException();
            c.initCause(e);
            return c;
        }
        throw e;
    }

    /** Closes a channel whose server is gone: calls still on it fail with {@link ServerGoneException}. */
    void abandon() {
        gone = true;
        close();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (arena.scope().isAlive()) {
            try {
                arena.close();
            } catch (IllegalStateException e) {
                if (System.nanoTime() > deadline) {
                    break;
                }
                Thread.onSpinWait();
            }
        }
        Libc.close(socketFd);
    }
}
