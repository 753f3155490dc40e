package org.fsp.fs.core;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.Errno;
import org.fsp.api.handoff.LayerGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link BlockScheduler} the file system is mounted on: it forwards to whichever block scheduler service is bound,
 * so that the scheduler (or the block-sched bundle) can be replaced while fs-core keeps running and keeps its clients'
 * handles.
 *
 * <p>A typical sequence is: {@link #bind} a scheduler, mount on the gate, then on a swap either {@link #bind} the new one
 * and {@link #unbind} the old one (greedy replacement, as when a new block-sched starts beside the old one), or
 * {@link #unbind} the old one and later {@link #bind} the new one (a bundle update). Either way the old scheduler is
 * closed to new requests and driven until it has nothing pending (and no thread is inside an enqueue on it) before the
 * new one gets a request; meanwhile new requests park at the gate's boundary, for up to the configured wait, then fail
 * with EIO. The time they parked is the pause, handed to the pause listener and kept for the status section. In a
 * greedy replacement it is only the drain of the requests in flight: no bundle stops or starts within it.
 *
 * <p>The boundary itself is a {@link LayerGate}: the enqueue fast path is its entry and exit.
 */
final class SchedulerGate implements BlockScheduler {

    private static final Logger LOG = LoggerFactory.getLogger(SchedulerGate.class);

    /** How many recent pauses {@link #recentPauseNanos()} keeps (as many as the gate keeps). */
    static final int RECENT_PAUSES = 16;

    /** Default of both waits: 30 s, as block-sched's own device wait. */
    static final long DEFAULT_WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final LayerGate<BlockScheduler> gate = new LayerGate<>("block scheduler", DEFAULT_WAIT_NANOS);
    private volatile long drainNanos = DEFAULT_WAIT_NANOS;
    private final LongConsumer pauseListener;
    /** Serialises binds and unbinds (each may drain a scheduler for a while; requests do not take it). */
    private final Object swapLock = new Object();
    /** The scheduler that was unbound last, answering {@link #device()} and friends while none is bound. */
    private volatile BlockScheduler previous;
    /** Schedulers drained by {@link #unbind} or a greedy {@link #bind}: waiters on their requests drive them. */
    private final List<BlockScheduler> draining = new CopyOnWriteArrayList<>();

    /**
     * @param pauseListener told each pause in ns (how long new requests parked at the boundary: from the unbind, or the
     *     greedy bind's closing of the replaced scheduler, to the new scheduler taking requests), outside the gate's
     *     lock
     */
    SchedulerGate(LongConsumer pauseListener) {
        this.pauseListener = pauseListener;
    }

    /**
     * Sets how long a request waits at the boundary for a scheduler before failing with EIO, and how long
     * {@link #unbind} drives the old scheduler for its pending requests.
     */
    void configure(long waitNanos) {
        gate.waitLimit(waitNanos);
        this.drainNanos = waitNanos;
    }

    /**
     * Routes new requests to {@code scheduler} and wakes requests waiting at the boundary. A greedy replacement (a
     * scheduler is bound already) first finishes the replaced one's requests, new ones waiting at the boundary
     * meanwhile, so that the new one finds the device's {@link org.fsp.api.block.TagSpace} free at its first request
     * instead of waiting for it request by request. The wait is the replacement's pause.
     */
    void bind(BlockScheduler scheduler) {
        long pause;
        synchronized (swapLock) {
            BlockScheduler replacing = gate.current();
            if (replacing == scheduler) {
                return;
            }
            if (replacing != null) {
                int left = close(replacing);
                if (left > 0) {
                    LOG.warn("the replaced block scheduler still had {} requests after the drain time", left);
                }
            }
            pause = gate.bind(scheduler);
            // Nothing may keep an old block-sched bundle's scheduler (and so its class loader) once a new one is bound.
            previous = null;
        }
        if (pause >= 0) {
            pauseListener.accept(pause);
        }
    }

    /**
     * Stops sending new requests to {@code scheduler}; returns when no thread is inside its enqueue and it has
     * finished the requests it had (or the drain time passed).
     *
     * @return requests still pending on it when the drain time passed (0 normally)
     */
    int unbind(BlockScheduler scheduler) {
        synchronized (swapLock) {
            if (gate.current() != scheduler) {
                // Not bound, or already finished by the greedy bind that replaced it.
                return 0;
            }
            return close(scheduler);
        }
    }

    /**
     * Under the swap lock: {@code old}, the bound scheduler, stops taking requests (new ones wait at the gate from now),
     * and is driven until it has finished its own; returns what is left.
     */
    private int close(BlockScheduler old) {
        // Listed as draining before it leaves the gate, so that await never misses it.
        draining.add(old);
        previous = old;
        try {
            gate.unbind(old);
            return drain(old);
        } finally {
            draining.remove(old);
        }
    }

    /** Drives {@code s} until it has nothing pending or the drain time passed; returns what is left. */
    private int drain(BlockScheduler s) {
        long deadline = System.nanoTime() + drainNanos;
        int left;
        while ((left = s.pending()) > 0 && System.nanoTime() - deadline < 0) {
            if (s.issue() + s.poll() == 0) {
                Thread.onSpinWait();
            }
        }
        return left;
    }

    /** The most recent pauses in ns, oldest first. */
    List<Long> recentPauseNanos() {
        return gate.recentPauses().stream().map(LayerGate.Pause::nanos).toList();
    }

    /** Scheduler changes seen so far. */
    long swaps() {
        return gate.swaps();
    }

    /** True while a scheduler is bound. */
    boolean isBound() {
        return gate.isOpen();
    }

    /** The bound scheduler, else the one unbound last; null before the first bind. */
    private BlockScheduler any() {
        BlockScheduler s = gate.current();
        return s == null ? previous : s;
    }

    @Override
    public BlockDevice device() {
        BlockScheduler s = any();
        if (s == null) {
            throw new IllegalStateException("no block scheduler has been bound");
        }
        return s.device();
    }

    @Override
    public void enqueue(BlockRequest request) {
        LayerGate.Entry<BlockScheduler> in = gate.enter();
        if (in == null) {
            // No scheduler within the wait: the request fails as a device error would, and its waiter sees EIO.
            request.complete(-Errno.EIO.code());
            return;
        }
        try {
            in.service().enqueue(request);
        } finally {
            in.exit();
        }
    }

    @Override
    public int issue() {
        BlockScheduler s = any();
        int n = s == null ? 0 : s.issue();
        for (BlockScheduler d : draining) {
            n += d.issue();
        }
        return n;
    }

    @Override
    public int poll() {
        BlockScheduler s = any();
        int n = s == null ? 0 : s.poll();
        for (BlockScheduler d : draining) {
            n += d.poll();
        }
        return n;
    }

    /**
     * Waits on the bound scheduler while no swap is under way (the request is then on it, or was on one that has
     * finished its requests); during a swap it drives every scheduler the request may be on.
     */
    @Override
    public int await(BlockRequest request) {
        if (draining.isEmpty()) {
            BlockScheduler s = any();
            if (s != null) {
                return s.await(request);
            }
        }
        while (!request.isDone()) {
            if (issue() + poll() == 0) {
                LockSupport.parkNanos(20_000);
            }
        }
        return request.result();
    }

    @Override
    public int pending() {
        BlockScheduler s = any();
        int n = s == null ? 0 : s.pending();
        for (BlockScheduler d : draining) {
            n += d.pending();
        }
        return n;
    }

    @Override
    public String policy() {
        BlockScheduler s = any();
        return s == null ? "none bound" : s.policy();
    }
}
