package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.channel.LaneDescriptor;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;
import org.fsp.linux.Futex;
import org.fsp.linux.NativeException;

/**
 * A polling worker: drains the lanes assigned to it, each strictly in ring order, through its own
 * {@link RequestAdapter}. Each lane has exactly one worker, so the lane's head (the next slot to serve) lives here,
 * in the server's memory, where no client can move it.
 *
 * <p>Fairness, as a kernel scheduler gives it: the worker serves its clients round-robin, starting one further each
 * round, and each client's lanes round-robin within its turn. A turn ends after {@link #BATCH} requests, after
 * {@link #QUANTUM_NANOS} of work (so one slow request, a SYNC in a device flush, ends it), or when the client is at
 * its {@link FairShare} of executing requests; its further requests then wait in their slots, not refused. A client
 * that floods slow requests therefore slows itself: its neighbours on this worker wait at most one of its requests.
 *
 * <p>When idle, {@link #sleep} rings in the doorbells of its lanes ({@link LaneDescriptor}) and sleeps on all of them at
 * once with futex_waitv, together with a private word through which the server wakes it when its lanes change (and
 * {@link FairShare} when a client it left waiting may go on). A thread model that drives several lane workers on one
 * thread sleeps on all their words at once through {@link #beginSleep} and {@link #endSleep}.
 */
final class LaneWorker implements FutexAgent {

    /** Requests served from one client in one turn at most, so that one busy client cannot starve the others. */
    static final int BATCH = 16;
    /** Work time after which a client's turn ends, even before {@link #BATCH} requests. */
    static final long QUANTUM_NANOS = 50_000;

    private static final VarHandle INT = JAVA_INT.varHandle();

    /** One lane as this worker sees it: the session, the lane number and the private head. */
    static final class LaneCursor {
        final ClientSession session;
        final int lane;
        final int mask;
        long head;
        /** Driving thread only: the head last counted as throttled, so each waiting request counts once. */
        long throttledAt = -1;

        LaneCursor(ClientSession session, int lane, long head) {
            this.session = session;
            this.lane = lane;
            this.mask = session.layout.slotsPerLane() - 1;
            this.head = head;
        }

        long headSlotOffset() {
            return session.layout.slotOffset(lane, (int) (head & mask));
        }

        long doorbellOffset() {
            return session.layout.laneOffset(lane) + LaneDescriptor.DOORBELL_OFFSET;
        }

        /** Whether the head slot holds a request; acquire, so its fields and data are visible once it does. */
        boolean submitted() {
            int state = (int) INT.getAcquire(session.segment, headSlotOffset());
            return (state & SlotDescriptor.STATE_MASK) == SlotDescriptor.SUBMITTED;
        }
    }

    /** The lanes of one client on this worker, served round-robin from {@link #next}. */
    static final class ClientLanes {
        final ClientSession session;
        final LaneCursor[] lanes;
        /** Driving thread only: the lane the client's next turn starts with. */
        int next;

        ClientLanes(ClientSession session, LaneCursor[] lanes) {
            this.session = session;
            this.lanes = lanes;
        }
    }

    private static final ClientLanes[] NO_CLIENTS = new ClientLanes[0];
    private static final LaneCursor[] NO_LANES = new LaneCursor[0];

    private final String name;
    private final int index;
    private final FileSystemGate gate;
    private final FairShare share;
    private final RequestAdapter adapter;
    private final MemorySegment wakeWord;
    private final MemorySegment waitEntries;

    /** Replaced (never changed) under this; the lane cursors inside are shared from one array to the next. */
    private volatile ClientLanes[] clients = NO_CLIENTS;
    /** The lanes whose doorbells {@link #beginSleep} rang in; driving thread only. */
    private LaneCursor[] sleeping = NO_LANES;
    /** Driving thread only: the client whose turn comes first in the next round. */
    private int nextClient;

    private final OwnWaitSet own = new OwnWaitSet();
    /** Driving thread only: whether {@link #doWork} ran since the worker was made. */
    private boolean polled;
    /** {@link System#nanoTime()} of the first {@link #doWork}, 0 before it: an adopting server's pause ends there. */
    private volatile long firstPollNanos;

    /**
     * @param index this worker's number among the server's workers (0..63), by which {@link FairShare} wakes it
     * @param slotDataBytes the configured slot data size; the adapter's buffer grows for adopted clients with more
     */
    LaneWorker(String name, int index, FileSystemGate gate, int slotDataBytes, FairShare share) {
        this(name, index, gate, slotDataBytes, share, null, null);
    }

    /**
     * A worker whose PREADs may be granted read leases from {@code leases} and whose clients may watch directories in
     * {@code watches} (null: none).
     */
    LaneWorker(
            String name,
            int index,
            FileSystemGate gate,
            int slotDataBytes,
            FairShare share,
            ReadLeases leases,
            DirectoryWatches watches) {
        this.name = name;
        this.index = index;
        this.gate = gate;
        this.share = share;
        Arena arena = Arena.ofAuto();
        this.adapter = new RequestAdapter(gate, slotDataBytes, leases, watches);
        this.wakeWord = arena.allocate(4, 4);
        this.waitEntries = arena.allocate((long) Futex.WAITV_MAX * Futex.WAITV_ENTRY_SIZE, 8);
    }

    int index() {
        return index;
    }

    /** Starts draining {@code lane} of {@code session} at slot sequence {@code head} (0 for a new client). */
    synchronized void add(ClientSession session, int lane, long head) {
        List<ClientLanes> next = new ArrayList<>(List.of(clients));
        LaneCursor added = new LaneCursor(session, lane, head);
        int at = -1;
        for (int i = 0; i < next.size(); i++) {
            if (next.get(i).session == session) {
                at = i;
            }
        }
        if (at < 0) {
            next.add(new ClientLanes(session, new LaneCursor[] {added}));
        } else {
            LaneCursor[] old = next.get(at).lanes;
            LaneCursor[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = added;
            next.set(at, new ClientLanes(session, grown));
        }
        clients = next.toArray(ClientLanes[]::new);
        wakeUp();
    }

    synchronized void remove(ClientSession session) {
        List<ClientLanes> next = new ArrayList<>(List.of(clients));
        next.removeIf(c -> c.session == session);
        clients = next.toArray(ClientLanes[]::new);
        wakeUp();
    }

    int laneCount() {
        int n = 0;
        for (ClientLanes c : clients) {
            n += c.lanes.length;
        }
        return n;
    }

    /**
     * The next slot sequence of {@code lane} of {@code session}, or -1 if this worker does not drain it. Exact only
     * while the worker is not driven (the head moves with every request).
     */
    long head(ClientSession session, int lane) {
        for (ClientLanes cl : clients) {
            if (cl.session == session) {
                for (LaneCursor c : cl.lanes) {
                    if (c.lane == lane) {
                        return c.head;
                    }
                }
            }
        }
        return -1;
    }

    /** {@link System#nanoTime()} of the first {@link #doWork}, or 0 before it. */
    long firstPollNanos() {
        return firstPollNanos;
    }

    @Override
    public int doWork() {
        if (!polled) {
            polled = true;
            firstPollNanos = System.nanoTime();
        }
        ClientLanes[] cs = clients;
        int n = cs.length;
        if (n == 0) {
            return 0;
        }
        int start = nextClient < n ? nextClient : 0;
        nextClient = start + 1;
        int work = 0;
        for (int i = 0; i < n; i++) {
            ClientLanes cl = cs[(start + i) % n];
            int served = turn(cl);
            if (served < 0) {
                // The file system gate holds requests: every client would wait the same way.
                return work - served - 1;
            }
            work += served;
        }
        return work;
    }

    /**
     * One client's turn: its lanes round-robin until {@link #BATCH} requests, {@link #QUANTUM_NANOS} of work, no
     * request left, or its share used up. Returns the requests served, or {@code -1 - served} if the gate holds.
     */
    private int turn(ClientLanes cl) {
        ClientSession s = cl.session;
        if (!s.isOpen()) {
            return 0;
        }
        LaneCursor[] lanes = cl.lanes;
        int served = 0;
        long started = 0;
        try {
            for (int empty = 0; empty < lanes.length && served < BATCH; ) {
                LaneCursor c = lanes[cl.next];
                cl.next = cl.next + 1 == lanes.length ? 0 : cl.next + 1;
                if (!c.submitted()) {
                    empty++;
                    continue;
                }
                empty = 0;
                int admitted = share.tryBegin(s);
                if (admitted == FairShare.WAIT) {
                    countThrottled(lanes);
                    return served;
                }
                if (served == 0) {
                    started = System.nanoTime();
                }
                boolean done;
                try {
                    done = adapter.execute(s, c.lane, (int) (c.head & c.mask));
                } finally {
                    share.end(s, admitted);
                }
                if (!done) {
                    return -1 - served;
                }
                c.head++;
                served++;
                if (System.nanoTime() - started > QUANTUM_NANOS) {
                    return served;
                }
            }
        } catch (IllegalStateException e) {
            if (s.arena.scope().isAlive()) {
                throw e;
            }
        }
        return served;
    }

    /** The client is at its share: counts each request waiting at the head of its lanes here, once per request. */
    private static void countThrottled(LaneCursor[] lanes) {
        for (LaneCursor c : lanes) {
            if (c.throttledAt != c.head && c.submitted()) {
                c.throttledAt = c.head;
                c.session.throttled.increment();
            }
        }
    }

    @Override
    public String roleName() {
        return name;
    }

    @Override
    public void sleep(long maxNanos) {
        if (laneCount() >= Futex.WAITV_MAX) {
            LockSupport.parkNanos(Math.min(maxNanos, 1_000_000L));
            return;
        }
        own.count = 0;
        if (beginSleep(own)) {
            try {
                Futex.awaitAny(waitEntries, own.count, maxNanos);
            } catch (NativeException e) {
                // EFAULT: a client released meanwhile took its doorbell's page with it; the next pass rebuilds.
                LockSupport.parkNanos(Math.min(maxNanos, 1_000_000L));
            }
        }
        endSleep();
    }

    /**
     * Adds the private wake word and each lane's doorbell, rung in (set to {@link LaneDescriptor#PARKED}) so that the
     * client wakes us when it posts; false if a lane already holds a request or a {@link #wakeUp()} came. While the
     * file system gate holds requests, only the wake word: the server rings it when the gate opens.
     */
    @Override
    public boolean beginSleep(FutexWaitSet waitSet) {
        if (gate.holding()) {
            // Requests wait for a file system: only the server's wake-up (the gate opening) is worth waking for.
            sleeping = NO_LANES;
            return (int) INT.getVolatile(wakeWord, 0L) == 0 && waitSet.add(wakeWord, 0, true);
        }
        ClientLanes[] cs = clients;
        List<LaneCursor> rungIn = new ArrayList<>();
        if ((int) INT.getVolatile(wakeWord, 0L) != 0 || !waitSet.add(wakeWord, 0, true)) {
            sleeping = NO_LANES;
            return false;
        }
        try {
            for (ClientLanes cl : cs) {
                ClientSession s = cl.session;
                boolean atShare = !share.mayBegin(s);
                for (LaneCursor c : cl.lanes) {
                    try {
                        if (atShare && c.submitted()) {
                            // Its requests wait for its share: FairShare wakes us when it frees up.
                            if (!share.noteWaiting(s, this)) {
                                return false;
                            }
                            continue;
                        }
                        rungIn.add(c);
                        // Volatile store then the load below: with the client's store-fence-load this is a Dekker pair.
                        INT.setVolatile(s.segment, c.doorbellOffset(), LaneDescriptor.PARKED);
                        VarHandle.fullFence();
                        if (c.submitted()
                                || !waitSet.add(
                                        MemorySegment.ofAddress(s.segment.address() + c.doorbellOffset()),
                                        LaneDescriptor.PARKED,
                                        false)) {
                            return false;
                        }
                    } catch (IllegalStateException e) {
                        if (s.arena.scope().isAlive()) {
                            throw e;
                        }
                    }
                }
            }
            return true;
        } finally {
            sleeping = rungIn.toArray(LaneCursor[]::new);
        }
    }

    /** Marks the doorbells rung in by {@link #beginSleep} awake again and consumes a pending {@link #wakeUp()}. */
    @Override
    public void endSleep() {
        for (LaneCursor c : sleeping) {
            try {
                INT.setVolatile(c.session.segment, c.doorbellOffset(), LaneDescriptor.AWAKE);
            } catch (IllegalStateException e) {
                if (c.session.arena.scope().isAlive()) {
                    throw e;
                }
            }
        }
        sleeping = NO_LANES;
        INT.setVolatile(wakeWord, 0L, 0);
    }

    /** The wait set of {@link #sleep}: this worker's own futex_waitv entries. */
    private final class OwnWaitSet implements FutexWaitSet {

        int count;

        @Override
        public boolean add(MemorySegment word, int expected, boolean processPrivate) {
            if (count == Futex.WAITV_MAX) {
                return false;
            }
            Futex.setWaitv(waitEntries, count++, word, expected, processPrivate);
            return true;
        }
    }

    @Override
    public void wakeUp() {
        INT.setVolatile(wakeWord, 0L, 1);
        Futex.wake(wakeWord, 1, true);
    }
}
