package org.fsp.ipc.fuse;

import static org.fsp.ipc.fuse.FuseOpcodes.FUSE_LK_FLOCK;
import static org.fsp.ipc.fuse.FuseOpcodes.OFFSET_MAX;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.LayerGate;
import org.fsp.ipc.fuse.FuseDispatcher.LateReply;
import org.fsp.ipc.fuse.FuseRequest.Lock;

/**
 * GETLK, SETLK and SETLKW on fs-core's byte-range locks, owned by FUSE's lock owner (the process for fcntl locks,
 * the open file for flock, which locks the whole file), so locks through the mount and FS Lib clients' locks exclude
 * each other. Ranges are inclusive in FUSE and {start, length} in fs-core.
 *
 * <p>A SETLKW that cannot be set at once waits on a virtual thread of its own, trying again with growing pauses, and
 * is answered late; the serving loop goes on. A typical sequence is: {@link #lock} answers NONE, the kernel may send
 * INTERRUPT for it ({@link #interrupt}: the waiter answers EINTR), else the waiter answers 0 once the lock is set. At
 * a live upgrade a transport whose answers cannot outlive this version (io_uring: the ring entry is answered from the
 * ring's own thread) takes the waiting request back with {@link #handOver}, and the next version asks again.
 */
final class FuseLocks {

    /** Longest pause between two tries of a waiting SETLKW, ns. */
    private static final long LOCK_RETRY_MAX_NANOS = 20_000_000L;

    private final FileSystemSlot fs;
    private final FileHandles handles;
    /** SETLKW requests waiting for their lock, by unique. */
    private final Map<Long, Waiter> waiting = new ConcurrentHashMap<>();
    /** Uniques of waiting SETLKWs the kernel interrupted (a signal to the caller): they answer EINTR. */
    private final Set<Long> interrupted = ConcurrentHashMap.newKeySet();

    /**
     * One waiting SETLKW, guarded by itself: it ends answered ({@code done}) or handed over, never both, and a try
     * at the lock runs only while it is neither.
     */
    private static final class Waiter {
        boolean done;
        boolean handedOver;
    }

    FuseLocks(FileSystemSlot fs, FileHandles handles) {
        this.fs = fs;
        this.handles = handles;
    }

    /**
     * INTERRUPT of request {@code unique}: only a SETLKW waiting for a lock can be cancelled; every other request
     * runs to completion and is answered normally.
     */
    void interrupt(long unique) {
        if (waiting.containsKey(unique)) {
            interrupted.add(unique);
        }
    }

    /**
     * Takes waiting SETLKW {@code unique} away from its waiter, for the next version of this front end to ask again:
     * true if the waiter will neither try the lock again nor answer; false if it has answered or is about to (its
     * answer is then on its way) or no such request waits.
     */
    boolean handOver(long unique) {
        Waiter w = waiting.get(unique);
        if (w == null) {
            return false;
        }
        synchronized (w) {
            if (w.done) {
                return false;
            }
            w.handedOver = true;
            return true;
        }
    }

    /** Answers {@code l}; a SETLKW that has to wait answers through {@code late}, or waits in place if it is null. */
    FuseReply lock(FileSystemService service, Credentials who, Lock l, LateReply late) throws FsException {
        boolean flock = (l.lkFlags() & FUSE_LK_FLOCK) != 0;
        long start = flock ? 0 : l.start();
        long length = flock || l.end() == OFFSET_MAX ? 0 : l.end() - l.start() + 1;
        if (l.get()) {
            long[] c = service.getlk(who, handles.handle(service, l.fh()), l.owner(), l.type(), start, length);
            if (c == null) {
                return new FuseReply.Lk(l.start(), l.end(), FileSystemService.F_UNLCK);
            }
            return new FuseReply.Lk(c[1], c[2] == 0 ? OFFSET_MAX : c[1] + c[2] - 1, (int) c[0]);
        }
        try {
            service.setlk(who, handles.handle(service, l.fh()), l.owner(), l.type(), start, length);
            return FuseReply.OK;
        } catch (FsException e) {
            if (e.errno() != Errno.EAGAIN || !l.blocking()) {
                throw e;
            }
        }
        long unique = l.header().unique();
        Waiter w = new Waiter();
        waiting.put(unique, w);
        if (late == null) {
            return waitForLock(w, who, l, start, length);
        }
        Thread.ofVirtual().name("fsp-fuse-setlkw-" + unique).start(() -> {
            FuseReply answer = waitForLock(w, who, l, start, length);
            if (answer != null) {
                late.send(answer, unique);
            }
        });
        return FuseReply.NONE;
    }

    /**
     * Tries the lock again, with growing pauses, until it is set, fails otherwise, or the kernel interrupts it; null if
     * the request was {@link #handOver handed over} (nobody here answers it).
     */
    private FuseReply waitForLock(Waiter w, Credentials who, Lock l, long start, long length) {
        long unique = l.header().unique();
        long pause = 100_000L;
        try {
            while (true) {
                LockSupport.parkNanos(pause);
                pause = Math.min(pause * 2, LOCK_RETRY_MAX_NANOS);
                synchronized (w) {
                    if (w.handedOver) {
                        return null;
                    }
                    FuseReply answer = tryOnce(who, l, start, length, interrupted.remove(unique));
                    if (answer != null) {
                        w.done = true;
                        return answer;
                    }
                }
            }
        } finally {
            waiting.remove(unique);
            interrupted.remove(unique);
        }
    }

    /** One try at a waiting SETLKW's lock: its answer, or null to wait on. */
    private FuseReply tryOnce(Credentials who, Lock l, long start, long length, boolean interruptedByKernel) {
        if (interruptedByKernel) {
            return new FuseReply.Error(Errno.EINTR);
        }
        LayerGate.Entry<FileSystemService> in;
        try {
            in = fs.enter();
        } catch (FsException e) {
            return new FuseReply.Error(e.errno());
        }
        try {
            FileSystemService service = in.service();
            service.setlk(who, handles.handle(service, l.fh()), l.owner(), l.type(), start, length);
            return FuseReply.OK;
        } catch (FsException e) {
            return e.errno() == Errno.EAGAIN ? null : new FuseReply.Error(e.errno());
        } finally {
            in.exit();
        }
    }
}
