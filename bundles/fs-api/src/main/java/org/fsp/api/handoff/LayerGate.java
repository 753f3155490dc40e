package org.fsp.api.handoff;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.sched.ManagedBlocking;

/**
 * The boundary where requests wait while the layer below is replaced: the one gate of every layer that holds requests
 * during a swap (the channels in front of the file system, the FUSE front end, the file system in front of the block
 * scheduler, the block scheduler in front of the device).
 *
 * <p>A typical sequence is: the owner calls {@link #bind} when a service of the layer below appears; each request
 * takes an {@link Entry} with {@link #enter()} (which waits while no service is bound, up to the wait limit) or
 * {@link #tryEnter()} (which does not wait: a lane worker leaves the request in its ring and comes back), calls
 * {@link Entry#service()} and, in a {@code finally}, {@link Entry#exit()}; before the service goes
 * the owner calls {@link #unbind}, which returns only once no request is inside it, so the service may stop (and hand
 * its state over) right after. A request that finds no service for longer than the wait limit gets null and fails with
 * EIO. {@link #bind} returns the pause it ended: from the {@link #unbind} that left the gate without a service.
 *
 * <p>Binding a second service while one is bound (make before break) sends new requests to the new one at once, with
 * no pause; {@link #unbind} of the old one then only waits for the requests still inside it.
 *
 * <p>Cost on the request path: a volatile read of the binding, an atomic increment of one of its counters (which one
 * depends on the thread, so that workers do not share a cache line), a volatile read of its closed flag, and the
 * decrement on exit. No lock.
 *
 * @param <S> the service of the layer below
 */
public final class LayerGate<S> {

    /** A pause as the requests saw it: from the unbind that left the gate empty to the next bind. */
    public record Pause(long atMillis, long nanos) {}

    /** Counters per binding: a power of two, so that a thread picks its stripe with a mask. */
    private static final int STRIPES = 16;
    /** Longs between two counters: 128 bytes, so that two never share a cache line (or an adjacent-line prefetch). */
    private static final int STRIDE = 16;

    private static final int RECENT_PAUSES = 16;

    /**
     * One bound service and the requests inside it. Requests hold it from {@link LayerGate#enter()} to {@link #exit()}.
     *
     * @param <S> the service
     */
    public static final class Entry<S> {

        private final S service;
        private final AtomicLongArray inside = new AtomicLongArray(STRIPES * STRIDE);
        /** Set by unbind before it waits for the counters to drain. */
        private volatile boolean closed;

        private Entry(S service) {
            this.service = service;
        }

        /** The service this request runs on. */
        public S service() {
            return service;
        }

        /**
         * Leaves the service. Any thread may call it (the counters are summed, and an entry can only raise the sum
         * while it is inside); the thread that entered keeps its own cache line.
         */
        public void exit() {
            inside.getAndDecrement(stripe());
        }

        private boolean tryIn() {
            int stripe = stripe();
            // Dekker with unbind: the increment (a full fence) comes before the read of closed; unbind writes closed
            // before it reads the counters. Either this sees closed, or unbind sees this request inside.
            inside.getAndIncrement(stripe);
            if (closed) {
                inside.getAndDecrement(stripe);
                return false;
            }
            return true;
        }

        private long insideNow() {
            long n = 0;
            for (int i = 0; i < STRIPES; i++) {
                n += inside.get(i * STRIDE);
            }
            return n;
        }

        private static int stripe() {
            return (int) (Thread.currentThread().threadId() & (STRIPES - 1)) * STRIDE;
        }
    }

    private final String name;
    private volatile long waitLimitNanos;
    /** The binding new requests go to; null while no service is bound. Written under this. */
    private volatile Entry<S> current;
    /** Every binding not yet unbound, current first. Under this. */
    private final List<Entry<S>> bound = new ArrayList<>();
    /** {@link System#nanoTime()} when the gate was left without a service (or made); written under this. */
    private volatile long emptySinceNanos;
    /** Under this: an unbind left the gate empty, and the next bind ends a pause (the wait before the first does not). */
    private boolean pauseRunning;
    /** Under this. */
    private final ArrayDeque<Pause> pauses = new ArrayDeque<>();
    /** Under this. */
    private long swaps;
    /** Set by {@link #shutDown()} until the next bind: nobody waits for a service. */
    private volatile boolean shut;

    /**
     * @param name what the gate leads to, for messages ("file system", "block scheduler")
     * @param waitLimitNanos how long a request waits for a service before it gets null (and fails with EIO)
     */
    public LayerGate(String name, long waitLimitNanos) {
        this.name = Objects.requireNonNull(name);
        this.waitLimitNanos = waitLimitNanos;
        this.emptySinceNanos = System.nanoTime();
    }

    /** What the gate leads to, as given to the constructor. */
    public String name() {
        return name;
    }

    /** Changes the wait limit for requests that start waiting from now on. */
    public void waitLimit(long nanos) {
        this.waitLimitNanos = nanos;
    }

    /** The wait limit in nanoseconds. */
    public long waitLimitNanos() {
        return waitLimitNanos;
    }

    /**
     * Sends new requests to {@code service} and wakes those waiting.
     *
     * @return the pause this ended in nanoseconds (the time since an {@link #unbind} left the gate without a service),
     *     or -1 if none ended: a service was bound already (make before break), or this is the first bind
     */
    public long bind(S service) {
        Objects.requireNonNull(service);
        synchronized (this) {
            Entry<S> was = current;
            if (was != null && was.service == service) {
                return -1;
            }
            Entry<S> next = new Entry<>(service);
            bound.addFirst(next);
            current = next;
            shut = false;
            notifyAll();
            if (was != null || !pauseRunning) {
                return -1;
            }
            pauseRunning = false;
            long pause = System.nanoTime() - emptySinceNanos;
            swaps++;
            pauses.addLast(new Pause(System.currentTimeMillis(), pause));
            if (pauses.size() > RECENT_PAUSES) {
                pauses.removeFirst();
            }
            return pause;
        }
    }

    /**
     * Stops sending requests to {@code service} and returns once none is inside it. If it is the service new requests
     * go to, the gate is left without one and requests wait from now (the pause begins); if another was bound since,
     * only the wait for the requests still inside {@code service} remains. Unbinding a service that is not bound does
     * nothing.
     *
     * @return true if {@code service} was bound
     */
    public boolean unbind(S service) {
        Entry<S> leaving = null;
        synchronized (this) {
            for (Entry<S> e : bound) {
                if (e.service == service) {
                    leaving = e;
                    break;
                }
            }
            if (leaving == null) {
                return false;
            }
            bound.remove(leaving);
            if (current == leaving) {
                current = bound.isEmpty() ? null : bound.getFirst();
                if (current == null) {
                    emptySinceNanos = System.nanoTime();
                    pauseRunning = true;
                }
            }
        }
        leaving.closed = true;
        for (int spins = 0; leaving.insideNow() > 0; spins++) {
            if (spins < 1_000) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(20_000);
            }
        }
        return true;
    }

    /**
     * Enters the bound service without waiting.
     *
     * @return the entry to call and exit, or null while no service is bound (the caller keeps its request and comes
     *     back, or fails it once {@link #waitedTooLong()})
     */
    public Entry<S> tryEnter() {
        while (true) {
            Entry<S> e = current;
            if (e == null) {
                return null;
            }
            if (e.tryIn()) {
                return e;
            }
            // Unbound under us: the next binding, if any, is current already.
            if (current == e) {
                Thread.onSpinWait();
            }
        }
    }

    /**
     * Enters the bound service, waiting for one while none is bound (the wait is announced to the thread's owner
     * through {@link ManagedBlocking}). An interrupt does not end the wait; it is kept for the caller.
     *
     * @return the entry to call and exit, or null if no service was bound within the wait limit
     */
    public Entry<S> enter() {
        Entry<S> e = tryEnter();
        if (e != null || shut) {
            return e;
        }
        long deadline = System.nanoTime() + waitLimitNanos;
        boolean interrupted = false;
        ManagedBlocking.begin();
        try {
            while ((e = tryEnter()) == null) {
                synchronized (this) {
                    while (current == null) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0 || shut) {
                            return null;
                        }
                        try {
                            TimeUnit.NANOSECONDS.timedWait(this, left);
                        } catch (InterruptedException ie) {
                            interrupted = true;
                        }
                    }
                }
            }
            return e;
        } finally {
            ManagedBlocking.end();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * No service is coming (the owner stops): requests waiting in {@link #enter()} and later ones get null at once,
     * until the next {@link #bind}.
     */
    public synchronized void shutDown() {
        shut = true;
        notifyAll();
    }

    /** True after {@link #shutDown()} and before the next bind. */
    public boolean isShutDown() {
        return shut;
    }

    /** The service new requests go to, or null: for calls outside requests (setup, status). */
    public S current() {
        Entry<S> e = current;
        return e == null ? null : e.service;
    }

    /** Every service bound and not yet unbound, the current one first. */
    public synchronized List<S> boundServices() {
        List<S> out = new ArrayList<>(bound.size());
        for (Entry<S> e : bound) {
            out.add(e.service);
        }
        return out;
    }

    /** True while a service is bound. */
    public boolean isOpen() {
        return current != null;
    }

    /** True while requests are held: no service is bound and the gate has been empty less than the wait limit. */
    public boolean holding() {
        return current == null && System.nanoTime() - emptySinceNanos < waitLimitNanos;
    }

    /** True once the gate has been without a service longer than the wait limit: held requests fail with EIO. */
    public boolean waitedTooLong() {
        return current == null && System.nanoTime() - emptySinceNanos >= waitLimitNanos;
    }

    /** Nanoseconds the gate has been without a service, or -1 while one is bound. */
    public long emptyForNanos() {
        long since = emptySinceNanos;
        return current == null ? System.nanoTime() - since : -1;
    }

    /** The most recent pauses, oldest first. */
    public synchronized List<Pause> recentPauses() {
        return List.copyOf(pauses);
    }

    /** Pauses ended so far (binds after an unbind left the gate empty). */
    public synchronized long swaps() {
        return swaps;
    }

    @Override
    public String toString() {
        S s = current();
        return "LayerGate[" + name + " -> " + (s == null ? "none bound" : s) + "]";
    }
}
