package org.fsp.ipc.shm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.LayerGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The boundary between the channels and the file system, where requests wait while the file system is replaced: a
 * {@link LayerGate} over {@link FileSystemService}, plus what only the channels need: handles of clients that went
 * away while no file system was attached are closed on the next one, and the first request that waited too long says
 * so once in the log.
 *
 * <p>A typical sequence is: each lane worker calls {@link #tryEnter()} per request (null while the gate holds
 * requests: the worker leaves the request in its ring) and {@link LayerGate.Entry#exit()} after it; the owner calls
 * {@link #attach} when a file system appears and {@link #detach} before it goes.
 */
final class FileSystemGate {

    private static final Logger LOG = LoggerFactory.getLogger(FileSystemGate.class);

    private final LayerGate<FileSystemService> gate;
    /** Whether the time-out of the current closing was logged; racy on purpose (at worst one line per worker). */
    private volatile boolean timeOutLogged;
    /** Handles of clients that went away while the gate was closed, closed on the next attach; under this. */
    private final List<DeferredClose> deferredCloses = new ArrayList<>();

    private record DeferredClose(Credentials credentials, long[] fsHandles) {}

    /**
     * @param fs the file system to open with, or null to start closed
     * @param waitLimitMillis how long a request waits at a closed gate before it fails with EIO
     */
    FileSystemGate(FileSystemService fs, long waitLimitMillis) {
        this.gate = new LayerGate<>("file system", TimeUnit.MILLISECONDS.toNanos(waitLimitMillis));
        if (fs != null) {
            gate.bind(fs);
        }
    }

    /** Enters the attached file system for one request; null while the gate holds requests or has failed them. */
    LayerGate.Entry<FileSystemService> tryEnter() {
        return gate.tryEnter();
    }

    /** The file system attached now, or null: for calls outside requests (a hello, a client's departure). */
    FileSystemService current() {
        return gate.current();
    }

    /** True while requests are held: the gate is closed and has not been closed longer than the wait limit. */
    boolean holding() {
        return gate.holding();
    }

    /** True once the gate has been closed longer than the wait limit: held requests fail with EIO. */
    boolean waitedTooLong() {
        boolean tooLong = gate.waitedTooLong();
        if (tooLong && !timeOutLogged) {
            timeOutLogged = true;
            LOG.error(
                    "no file system for {} ms: requests fail with EIO until one is attached",
                    TimeUnit.NANOSECONDS.toMillis(gate.waitLimitNanos()));
        }
        return tooLong;
    }

    boolean isOpen() {
        return gate.isOpen();
    }

    /**
     * Opens the gate on {@code fs} (or replaces the file system it leads to), closes handles left by clients that went
     * away meanwhile, and returns the pause since {@link #detach} closed it, or -1 when it was open.
     */
    synchronized long attach(FileSystemService fs) {
        long pause = gate.bind(fs);
        timeOutLogged = false;
        for (DeferredClose d : deferredCloses) {
            closeAll(fs, d.credentials(), d.fsHandles());
        }
        deferredCloses.clear();
        return pause;
    }

    /**
     * Stops passing requests to {@code fs} and returns when none is inside it. If {@code fs} is the file system the
     * gate leads to, the gate closes and requests wait; if the gate already leads elsewhere (a better file system was
     * attached first), only the wait for the requests still inside {@code fs} remains.
     */
    void detach(FileSystemService fs) {
        gate.unbind(fs);
    }

    /**
     * Closes the handles a client held when it went away, on whatever thread notices that; if the gate is closed they
     * are closed on the next {@link #attach}, on the file system that comes back (which adopted them).
     */
    synchronized void closeHandles(Credentials who, long[] fsHandles) {
        if (fsHandles.length == 0) {
            return;
        }
        LayerGate.Entry<FileSystemService> in = gate.tryEnter();
        if (in == null) {
            deferredCloses.add(new DeferredClose(who, fsHandles));
            return;
        }
        try {
            closeAll(in.service(), who, fsHandles);
        } finally {
            in.exit();
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
    List<LayerGate.Pause> recentPauses() {
        return gate.recentPauses();
    }

    /** Nanoseconds the gate has been closed, or -1 while it is open. */
    long closedForNanos() {
        return gate.emptyForNanos();
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
