package org.fsp.ipc.fuse;

import static org.fsp.ipc.fuse.FuseOpcodes.FUSE_LK_FLOCK;
import static org.fsp.ipc.fuse.FuseOpcodes.OFFSET_MAX;

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
 * INTERRUPT for it ({@link #interrupt}: the waiter answers EINTR), else the waiter answers 0 once the lock is set.
 */
final class FuseLocks {

    /** Longest pause between two tries of a waiting SETLKW, ns. */
    private static final long LOCK_RETRY_MAX_NANOS = 20_000_000L;

    private final FileSystemSlot fs;
    private final FileHandles handles;
    /** Uniques of SETLKW requests waiting for their lock. */
    private final Set<Long> waiting = ConcurrentHashMap.newKeySet();
    /** Uniques of waiting SETLKWs the kernel interrupted (a signal to the caller): they answer EINTR. */
    private final Set<Long> interrupted = ConcurrentHashMap.newKeySet();

    FuseLocks(FileSystemSlot fs, FileHandles handles) {
        this.fs = fs;
        this.handles = handles;
    }

    /**
     * INTERRUPT of request {@code unique}: only a SETLKW waiting for a lock can be cancelled; every other request
     * runs to completion and is answered normally.
     */
    void interrupt(long unique) {
        if (waiting.contains(unique)) {
            interrupted.add(unique);
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
        waiting.add(unique);
        if (late == null) {
            return waitForLock(who, l, start, length);
        }
        Thread.ofVirtual()
                .name("fsp-fuse-setlkw-" + unique)
                .start(() -> late.send(waitForLock(who, l, start, length), unique));
        return FuseReply.NONE;
    }

    /** Tries the lock again, with growing pauses, until it is set, fails otherwise, or the kernel interrupts it. */
    private FuseReply waitForLock(Credentials who, Lock l, long start, long length) {
        long unique = l.header().unique();
        long pause = 100_000L;
        try {
            while (true) {
                if (interrupted.remove(unique)) {
                    return new FuseReply.Error(Errno.EINTR);
                }
                LockSupport.parkNanos(pause);
                pause = Math.min(pause * 2, LOCK_RETRY_MAX_NANOS);
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
                    if (e.errno() != Errno.EAGAIN) {
                        return new FuseReply.Error(e.errno());
                    }
                } finally {
                    in.exit();
                }
            }
        } finally {
            waiting.remove(unique);
            interrupted.remove(unique);
        }
    }
}
