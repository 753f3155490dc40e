package org.fsp.fs.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.Errno;
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
 * <p>The enqueue fast path is one volatile read and an increment and decrement of the binding's counter of threads
 * inside it.
 */
final class SchedulerGate implements BlockScheduler {

    private static final Logger LOG = LoggerFactory.getLogger(SchedulerGate.class);

    /** How many recent pauses {@link #recentPauseNanos()} keeps. */
    static final int RECENT_PAUSES = 16;

    /** One bound scheduler and the threads currently inside its enqueue. */
    private static final class Binding {
        final BlockScheduler scheduler;
        /** Threads between the closed check and the end of enqueue. */
        final AtomicInteger inside = new AtomicInteger();
        /** Set by unbind before it waits for {@link #inside} to drain. */
        volatile boolean closed;

        Binding(BlockScheduler scheduler) {
            this.scheduler = scheduler;
        }
    }

    /** Default of both waits: 30 s, as block-sched's own device wait. */
    static final long DEFAULT_WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private volatile long waitNanos = DEFAULT_WAIT_NANOS;
    private volatile long drainNanos = DEFAULT_WAIT_NANOS;
    private final LongConsumer pauseListener;
    private final Object monitor = new Object();
    /** The scheduler new requests go to; null between an unbind and the next bind. */
    private volatile Binding current;
    /** The scheduler that was unbound last, answering {@link #device()} and friends while none is bound. */
    private volatile Binding previous;
    /** Schedulers drained by {@link #unbind} or a greedy {@link #bind}: waiters on their requests drive them. */
    private final List<Binding> draining = new CopyOnWriteArrayList<>();
    /** Guarded by monitor: {@link System#nanoTime()} of the unbind that left no scheduler, or 0. */
    private long pausedSince;
    /** Guarded by monitor: the most recent pauses, oldest first. */
    private final List<Long> recentPauses = new ArrayList<>();
    /** Guarded by monitor. */
    private long swaps;

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
        this.waitNanos = waitNanos;
        this.drainNanos = waitNanos;
    }

    /**
     * Routes new requests to {@code scheduler} and wakes requests waiting at the boundary. A greedy replacement (a
     * scheduler is bound already) first finishes the replaced one's requests, new ones waiting at the boundary
     * meanwhile: two schedulers must not drive one device at once, since each numbers its requests with the device's
     * tags from 0 and would take the other's completions as its own. The wait is the replacement's pause.
     */
    void bind(BlockScheduler scheduler) {
        long pause = -1;
        Binding replacing;
        synchronized (monitor) {
            replacing = current;
            if (replacing != null) {
                standDown(replacing);
            }
        }
        if (replacing != null) {
            int left = close(replacing);
            if (left > 0) {
                LOG.warn("the replaced block scheduler still had {} requests after the drain time", left);
            }
        }
        synchronized (monitor) {
            current = new Binding(scheduler);
            // Nothing may keep an old block-sched bundle's scheduler (and so its class loader) once a new one is bound.
            previous = null;
            if (pausedSince != 0) {
                pause = System.nanoTime() - pausedSince;
                pausedSince = 0;
                swaps++;
                recentPauses.add(pause);
                if (recentPauses.size() > RECENT_PAUSES) {
                    recentPauses.removeFirst();
                }
            }
            monitor.notifyAll();
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
        Binding old;
        synchronized (monitor) {
            Binding c = current;
            if (c == null || c.scheduler != scheduler) {
                // Not bound, or already finished by the greedy bind that replaced it.
                return 0;
            }
            old = c;
            standDown(old);
        }
        return close(old);
    }

    /** Under the monitor: {@code b}, the current binding, stops being current; new requests wait from now. */
    private void standDown(Binding b) {
        // Listed as draining before it stops being current, so that await never misses it.
        draining.add(b);
        previous = b;
        current = null;
        pausedSince = Math.max(1, System.nanoTime());
    }

    /** Closes {@code old} (already listed as draining) to new requests and finishes its own; returns what is left. */
    private int close(Binding old) {
        // Dekker with enqueue: it increments inside, then reads closed; here closed is written, then inside read.
        // Either the enqueuer sees closed and goes elsewhere, or this loop sees it inside and waits for it.
        old.closed = true;
        try {
            while (old.inside.get() > 0) {
                Thread.onSpinWait();
            }
            return drain(old.scheduler);
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
        synchronized (monitor) {
            return List.copyOf(recentPauses);
        }
    }

    /** Scheduler changes seen so far. */
    long swaps() {
        synchronized (monitor) {
            return swaps;
        }
    }

    /** True while a scheduler is bound. */
    boolean isBound() {
        return current != null;
    }

    /** The bound scheduler, else the one unbound last; null before the first bind. */
    private BlockScheduler any() {
        Binding b = current;
        if (b == null) {
            b = previous;
        }
        return b == null ? null : b.scheduler;
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
        long deadline = 0;
        while (true) {
            Binding b = current;
            if (b != null) {
                b.inside.incrementAndGet();
                try {
                    if (!b.closed) {
                        b.scheduler.enqueue(request);
                        return;
                    }
                } finally {
                    b.inside.decrementAndGet();
                }
            }
            if (deadline == 0) {
                deadline = Math.max(1, System.nanoTime() + waitNanos);
            }
            if (!awaitBinding(deadline)) {
                // No scheduler within the wait: the request fails as a device error would, and its waiter sees EIO.
                request.complete(-Errno.EIO.code());
                return;
            }
        }
    }

    /**
     * Parks until a scheduler is bound; false if the deadline passed first. An interrupt does not end the wait (it
     * would fail the request with EIO, and fs-core would stop writing for what is no device error); it is kept for
     * the caller.
     */
    private boolean awaitBinding(long deadline) {
        boolean interrupted = false;
        try {
            synchronized (monitor) {
                while (current == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(monitor, left);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                return true;
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public int issue() {
        BlockScheduler s = any();
        int n = s == null ? 0 : s.issue();
        for (Binding d : draining) {
            n += d.scheduler.issue();
        }
        return n;
    }

    @Override
    public int poll() {
        BlockScheduler s = any();
        int n = s == null ? 0 : s.poll();
        for (Binding d : draining) {
            n += d.scheduler.poll();
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
        for (Binding d : draining) {
            n += d.scheduler.pending();
        }
        return n;
    }

    @Override
    public String policy() {
        BlockScheduler s = any();
        return s == null ? "none bound" : s.policy();
    }
}
