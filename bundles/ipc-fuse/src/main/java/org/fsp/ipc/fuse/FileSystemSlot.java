package org.fsp.ipc.fuse;

import java.util.ArrayList;
import java.util.List;
import org.fsp.api.fs.ChangeListener;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.sched.ManagedBlocking;

/**
 * The file system the serving threads call, replaceable under them: while fs-core is being replaced, requests wait at
 * {@link #enter} (the program through the mount sees a pause) for up to the configured time, then fail with EIO; and
 * {@link #detach} returns only once no request is inside the old file system. A typical sequence per request is
 * {@code fs = slot.enter()}, the call, {@code slot.exit()} in a finally.
 */
final class FileSystemSlot {

    private final long waitMillis;
    /** Guarded by this. */
    private FileSystemService fs;

    private int inside;
    /** Guarded by this: registered with whichever file system is attached. */
    private final List<ChangeListener> listeners = new ArrayList<>();

    FileSystemSlot(long waitMillis) {
        this.waitMillis = waitMillis;
    }

    /** The current file system, waiting for one if there is none; pair with {@link #exit}. */
    synchronized FileSystemService enter() throws FsException {
        if (fs == null) {
            // A wait of up to seconds on a thread-model worker: its other agents are lent out meanwhile.
            ManagedBlocking.begin();
            try {
                long deadline = System.nanoTime() + waitMillis * 1_000_000L;
                while (fs == null) {
                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) {
                        throw new FsException(Errno.EIO, "no file system for " + waitMillis + " ms");
                    }
                    try {
                        wait(left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new FsException(Errno.EIO, "interrupted while waiting for a file system");
                    }
                }
            } finally {
                ManagedBlocking.end();
            }
        }
        inside++;
        return fs;
    }

    synchronized void exit() {
        if (--inside == 0) {
            notifyAll();
        }
    }

    /** The file system requests go to from now on; the listeners are moved to it. */
    synchronized void attach(FileSystemService service) {
        if (fs != null && fs != service) {
            for (ChangeListener l : listeners) {
                fs.removeChangeListener(l);
            }
        }
        fs = service;
        for (ChangeListener l : listeners) {
            service.addChangeListener(l);
        }
        notifyAll();
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

    /** Stops sending requests to {@code service}; returns once none is inside it. */
    synchronized void detach(FileSystemService service) {
        if (fs != service) {
            return;
        }
        for (ChangeListener l : listeners) {
            service.removeChangeListener(l);
        }
        fs = null;
        boolean interrupted = false;
        while (inside > 0) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The file system now, or null; for setup outside a request. */
    synchronized FileSystemService current() {
        return fs;
    }
}
