package org.fsp.ipc.shm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The boundary between the channels and the file system, where requests wait while the file system is replaced: the
 * lane workers pass through it for every request, and {@link #detach} closes it and returns only once no request is
 * inside the outgoing file system any more, so that the file system can stop (and hand its open files over) right
 * after. While it is closed the lane workers leave requests in their rings (clients see a pause); {@link #attach}
 * opens it again and records the pause. A request that would wait longer than the configured limit fails with EIO.
 *
 * <p>A typical sequence is: each lane worker takes a {@link Pass} once and calls {@link Pass#enter()} /
 * {@link Pass#exit()} around each request; the owner calls {@link #attach} when a file system appears and
 * {@link #detach} before it goes.
 *
 * <p>Cost on the request path: one volatile store and one volatile load on entry (a Dekker pair with
 * {@link #detach}: either the worker sees the gate closed, or detach sees the worker inside), one release store on
 * exit; no lock, no shared counter (each worker has its own pass).
 */
final class FileSystemGate {

    /** A pause of the file system as the clients saw it: from {@link #detach} to {@link #attach}. */
    record Pause(long atMillis, long nanos) {}

    private static final Logger LOG = LoggerFactory.getLogger(FileSystemGate.class);
    private static final int RECENT_PAUSES = 8;

    /**
     * One lane worker's way through the gate. Single-threaded: only the worker that owns it enters and exits; the
     * gate reads its state.
     */
    static final class Pass {

        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Pass.class, "state", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final FileSystemGate gate;
        /** Odd while the owner is inside the file system; each entry and each exit adds one. */
        private long state;

        private Pass(FileSystemGate gate) {
            this.gate = gate;
        }

        /**
         * The file system to run one request on, with this pass inside it until {@link #exit()}; null when the gate is
         * closed (this pass is then outside, the caller holds the request and does not call {@link #exit()}).
         */
        FileSystemService enter() {
            long s = state;
            // Volatile store, then the volatile load of the gate: detach does the mirror image, so one sees the other.
            STATE.setVolatile(this, s + 1);
            FileSystemService fs = gate.current;
            if (fs == null) {
                STATE.setRelease(this, s + 2);
            }
            return fs;
        }

        /** Leaves the file system entered with {@link #enter()}. */
        void exit() {
            // Release: whatever the request did inside happens before detach sees this pass outside.
            STATE.setRelease(this, state + 1);
        }

        long stateVolatile() {
            return (long) STATE.getVolatile(this);
        }
    }

    private final long waitLimitNanos;
    private final List<Pass> passes = new CopyOnWriteArrayList<>();
    /** Written under this; null while the gate is closed. */
    private volatile FileSystemService current;

    /** The file system attached now, or null: for calls outside requests (a hello, a client's departure). */
    FileSystemService current() {
        return current;
    }
    /** {@link System#nanoTime()} when the gate last closed (or was created closed); written under this. */
    private volatile long closedAtNanos;
    /** Whether the time-out of the current closing was logged; racy on purpose (at worst one line per worker). */
    private volatile boolean timeOutLogged;
    /** Under this. */
    private final ArrayDeque<Pause> pauses = new ArrayDeque<>();
    /** Handles of clients that went away while the gate was closed, closed on the next attach; under this. */
    private final List<DeferredClose> deferredCloses = new ArrayList<>();
    /** For {@link #closeHandles}, which may run on any thread; under this. */
    private final Pass ownPass = new Pass(this);

    private record DeferredClose(Credentials credentials, long[] fsHandles) {}

    /**
     * @param fs the file system to open with, or null to start closed
     * @param waitLimitMillis how long a request waits at a closed gate before it fails with EIO
     */
    FileSystemGate(FileSystemService fs, long waitLimitMillis) {
        this.waitLimitNanos = TimeUnit.MILLISECONDS.toNanos(waitLimitMillis);
        this.current = fs;
        this.closedAtNanos = System.nanoTime();
        passes.add(ownPass);
    }

    /** A pass for one lane worker. */
    Pass newPass() {
        Pass p = new Pass(this);
        passes.add(p);
        return p;
    }

    /** True while requests are held: the gate is closed and has not been closed longer than the wait limit. */
    boolean holding() {
        return current == null && System.nanoTime() - closedAtNanos < waitLimitNanos;
    }

    /** True once the gate has been closed longer than the wait limit: held requests fail with EIO. */
    boolean waitedTooLong() {
        boolean tooLong = current == null && System.nanoTime() - closedAtNanos >= waitLimitNanos;
        if (tooLong && !timeOutLogged) {
            timeOutLogged = true;
            LOG.error(
                    "no file system for {} ms: requests fail with EIO until one is attached",
                    TimeUnit.NANOSECONDS.toMillis(waitLimitNanos));
        }
        return tooLong;
    }

    boolean isOpen() {
        return current != null;
    }

    /**
     * Opens the gate on {@code fs} (or replaces the file system it leads to), closes handles left by clients that went
     * away meanwhile, and returns the pause since {@link #detach} closed it, or -1 when it was open.
     */
    synchronized long attach(FileSystemService fs) {
        boolean wasClosed = current == null;
        current = fs;
        timeOutLogged = false;
        for (DeferredClose d : deferredCloses) {
            closeAll(fs, d.credentials(), d.fsHandles());
        }
        deferredCloses.clear();
        if (!wasClosed) {
            return -1;
        }
        long pause = System.nanoTime() - closedAtNanos;
        pauses.addLast(new Pause(System.currentTimeMillis(), pause));
        if (pauses.size() > RECENT_PAUSES) {
            pauses.removeFirst();
        }
        return pause;
    }

    /**
     * Stops passing requests to {@code fs} and returns when none is inside it. If {@code fs} is the file system the
     * gate leads to, the gate closes and requests wait; if the gate already leads elsewhere (a better file system was
     * attached first), only the wait for the requests still inside {@code fs} remains.
     */
    void detach(FileSystemService fs) {
        synchronized (this) {
            if (current == fs) {
                closedAtNanos = System.nanoTime();
                current = null;
            }
        }
        for (Pass p : passes) {
            long s = p.stateVolatile();
            if ((s & 1) == 0) {
                continue;
            }
            // Inside, perhaps in the old file system: its next entry reads the gate after our store, so one change
            // of its state is enough.
            for (int spins = 0; p.stateVolatile() == s; spins++) {
                if (spins < 1_000) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(20_000);
                }
            }
        }
    }

    /**
     * Closes the handles a client held when it went away, on whatever thread notices that; if the gate is closed they
     * are closed on the next {@link #attach}, on the file system that comes back (which adopted them).
     */
    synchronized void closeHandles(Credentials who, long[] fsHandles) {
        if (fsHandles.length == 0) {
            return;
        }
        FileSystemService fs = ownPass.enter();
        if (fs == null) {
            deferredCloses.add(new DeferredClose(who, fsHandles));
            return;
        }
        try {
            closeAll(fs, who, fsHandles);
        } finally {
            ownPass.exit();
        }
    }

    /** Handles still waiting for a file system to close them on (dropped with a log line when the server closes). */
    synchronized int deferredHandles() {
        int n = 0;
        for (DeferredClose d : deferredCloses) {
            n += d.fsHandles().length;
        }
        return n;
    }

    /** The most recent pauses, oldest first. */
    synchronized List<Pause> recentPauses() {
        return List.copyOf(pauses);
    }

    /** Nanoseconds the gate has been closed, or -1 while it is open. */
    long closedForNanos() {
        long since = closedAtNanos;
        return current == null ? System.nanoTime() - since : -1;
    }

    private static void closeAll(FileSystemService fs, Credentials who, long[] fsHandles) {
        for (long h : fsHandles) {
            try {
                fs.close(who, h);
            } catch (FsException | RuntimeException e) {
                LOG.warn("closing handle {} of a departed client failed", h, e);
            }
        }
    }
}
