package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
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
 * <p>When idle, {@link #sleep} rings in the doorbells of its lanes ({@link LaneDescriptor}) and sleeps on all of them at
 * once with futex_waitv, together with a private word through which the server wakes it when its lanes change. A
 * thread model that drives several lane workers on one thread sleeps on all their words at once through
 * {@link #beginSleep} and {@link #endSleep}.
 */
final class LaneWorker implements FutexAgent {

    /** Requests served from one lane before moving to the next, so that one busy lane cannot starve the others. */
    static final int BATCH = 16;

    private static final VarHandle INT = JAVA_INT.varHandle();

    /** One lane as this worker sees it: the session, the lane number and the private head. */
    static final class LaneCursor {
        final ClientSession session;
        final int lane;
        final int mask;
        long head;

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
    }

    private final String name;
    private final FileSystemGate gate;
    private final RequestAdapter adapter;
    private final MemorySegment wakeWord;
    private final MemorySegment waitEntries;
    private static final LaneCursor[] NO_LANES = new LaneCursor[0];

    private volatile LaneCursor[] lanes = NO_LANES;
    /** The lanes whose doorbells {@link #beginSleep} rang in; driving thread only. */
    private LaneCursor[] sleeping = NO_LANES;

    private final OwnWaitSet own = new OwnWaitSet();
    /** Driving thread only: whether {@link #doWork} ran since the worker was made. */
    private boolean polled;
    /** {@link System#nanoTime()} of the first {@link #doWork}, 0 before it: an adopting server's pause ends there. */
    private volatile long firstPollNanos;

    LaneWorker(String name, FileSystemGate gate, int maxSlotDataBytes) {
        this.name = name;
        this.gate = gate;
        Arena arena = Arena.ofAuto();
        this.adapter = new RequestAdapter(gate, maxSlotDataBytes, arena);
        this.wakeWord = arena.allocate(4, 4);
        this.waitEntries = arena.allocate((long) Futex.WAITV_MAX * Futex.WAITV_ENTRY_SIZE, 8);
    }

    /** Starts draining {@code lane} of {@code session} at slot sequence {@code head} (0 for a new client). */
    synchronized void add(ClientSession session, int lane, long head) {
        List<LaneCursor> next = new ArrayList<>(List.of(lanes));
        next.add(new LaneCursor(session, lane, head));
        lanes = next.toArray(LaneCursor[]::new);
        wakeUp();
    }

    synchronized void remove(ClientSession session) {
        List<LaneCursor> next = new ArrayList<>(List.of(lanes));
        next.removeIf(c -> c.session == session);
        lanes = next.toArray(LaneCursor[]::new);
        wakeUp();
    }

    int laneCount() {
        return lanes.length;
    }

    /**
     * The next slot sequence of {@code lane} of {@code session}, or -1 if this worker does not drain it. Exact only
     * while the worker is not driven (the head moves with every request).
     */
    long head(ClientSession session, int lane) {
        for (LaneCursor c : lanes) {
            if (c.session == session && c.lane == lane) {
                return c.head;
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
        int work = 0;
        for (LaneCursor c : lanes) {
            ClientSession s = c.session;
            if (!s.isOpen()) {
                continue;
            }
            try {
                for (int n = 0; n < BATCH; n++) {
                    int slot = (int) (c.head & c.mask);
                    // Acquire: the request fields and data the client wrote before its release store are visible.
                    int state = (int) INT.getAcquire(s.segment, s.layout.slotOffset(c.lane, slot));
                    if ((state & SlotDescriptor.STATE_MASK) != SlotDescriptor.SUBMITTED) {
                        break;
                    }
                    if (!adapter.execute(s, c.lane, slot)) {
                        // The file system gate holds requests: every lane would wait the same way.
                        return work;
                    }
                    c.head++;
                    work++;
                }
            } catch (IllegalStateException e) {
                if (s.arena.scope().isAlive()) {
                    throw e;
                }
            }
        }
        return work;
    }

    @Override
    public String roleName() {
        return name;
    }

    @Override
    public void sleep(long maxNanos) {
        if (lanes.length >= Futex.WAITV_MAX) {
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
        LaneCursor[] ls = lanes;
        sleeping = ls;
        if ((int) INT.getVolatile(wakeWord, 0L) != 0 || !waitSet.add(wakeWord, 0, true)) {
            return false;
        }
        for (LaneCursor c : ls) {
            ClientSession s = c.session;
            try {
                // Volatile store then the load below: with the client's store-fence-load this is a Dekker pair.
                INT.setVolatile(s.segment, c.doorbellOffset(), LaneDescriptor.PARKED);
                VarHandle.fullFence();
                int state = (int) INT.getAcquire(s.segment, c.headSlotOffset());
                if ((state & SlotDescriptor.STATE_MASK) == SlotDescriptor.SUBMITTED
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
        return true;
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
