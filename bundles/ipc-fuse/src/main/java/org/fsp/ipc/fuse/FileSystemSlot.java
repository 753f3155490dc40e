package org.fsp.ipc.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.ChangeListener;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.LayerGate;

/**
 * The file system the serving threads call, replaceable under them: a {@link LayerGate} over
 * {@link FileSystemService}, plus the change listeners, which move with the file system. While fs-core is being
 * replaced, requests wait at {@link #enter} (the program through the mount sees a pause) for up to the configured time,
 * then fail with EIO; and {@link #detach} returns only once no request is inside the old file system. A typical
 * sequence per request is {@code in = slot.enter()}, the call on {@code in.service()}, {@code in.exit()} in a finally.
 */
final class FileSystemSlot {

    private final LayerGate<FileSystemService> gate;
    /** Guarded by this: the file system the listeners are registered with. */
    private FileSystemService fs;
    /** Guarded by this: registered with whichever file system is attached. */
    private final List<ChangeListener> listeners = new ArrayList<>();

    FileSystemSlot(long waitMillis) {
        this.gate = new LayerGate<>("file system", TimeUnit.MILLISECONDS.toNanos(waitMillis));
    }

    /** Enters the current file system, waiting for one if there is none; exit the entry in a finally. */
    LayerGate.Entry<FileSystemService> enter() throws FsException {
        LayerGate.Entry<FileSystemService> in = gate.enter();
        if (in == null) {
            throw new FsException(
                    Errno.EIO, "no file system for " + TimeUnit.NANOSECONDS.toMillis(gate.waitLimitNanos()) + " ms");
        }
        return in;
    }

    /**
     * The file system requests go to from now on; the listeners are moved to it. Returns the pause it ended (ns since
     * the {@link #detach} that left the slot empty), or -1.
     */
    synchronized long attach(FileSystemService service) {
        if (fs != null && fs != service) {
            for (ChangeListener l : listeners) {
                fs.removeChangeListener(l);
            }
        }
        fs = service;
        for (ChangeListener l : listeners) {
            service.addChangeListener(l);
        }
        return gate.bind(service);
    }

    /** Registers {@code l} with the file system now and with every one attached later, until {@link #unlisten}. */
    synchronized void listen(ChangeListener l) {
        listeners.add(l);
        if (fs != null) {
            fs.addChangeListener(l);
        }
    }

    synchronized void unlisten(ChangeListener l) {
        listeners.remove(l);
        if (fs != null) {
            fs.removeChangeListener(l);
        }
    }

    /**
     * Stops sending requests to {@code service}; returns once none is inside it (if another file system was attached
     * since, only that wait remains: the listeners went with the attach).
     */
    void detach(FileSystemService service) {
        synchronized (this) {
            if (fs == service) {
                for (ChangeListener l : listeners) {
                    service.removeChangeListener(l);
                }
                fs = null;
            }
        }
        // Outside the monitor: the wait may be long, and listen, unlisten and attach need not wait for it.
        gate.unbind(service);
    }

    /** The file system now, or null; for setup outside a request. */
    FileSystemService current() {
        return gate.current();
    }
}
