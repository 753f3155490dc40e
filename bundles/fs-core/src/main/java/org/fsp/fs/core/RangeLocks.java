package org.fsp.fs.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;

/**
 * Advisory byte-range locks by inode, owned by open-file handles, with the semantics of Linux's open file description
 * locks (fcntl F_OFD_SETLK): an owner's locks never conflict with each other, a new lock replaces (and splits) the
 * owner's locks on the same bytes, and releasing an owner's handle drops all of its locks. Never waits: a conflict is
 * EAGAIN, and a caller that wants to wait retries.
 *
 * <p>Locks live in memory only, as they do in a kernel: a restart of the file system (or a hand-over to a new fs-core)
 * drops them, like a reboot does. One monitor guards the whole table; lock calls are rare next to reads and writes.
 */
final class RangeLocks {

    /**
     * One lock: bytes {@code [start, end)} ({@code end == Long.MAX_VALUE}: to the end), shared or not, set through
     * handle {@code via} (the owner itself for a handle's own locks).
     */
    private record Range(long owner, long via, long start, long end, boolean exclusive) {
        boolean overlaps(long s, long e) {
            return start < e && s < end;
        }
    }

    private final Map<Long, List<Range>> byInode = new HashMap<>();

    /**
     * Sets ({@code F_RDLCK}, {@code F_WRLCK}) or releases ({@code F_UNLCK}) {@code owner}'s lock on
     * {@code [start, start + length)} of inode {@code ino}; length 0 means to the end of any file.
     */
    synchronized void set(long ino, long owner, int type, long start, long length) throws FsException {
        set(ino, owner, owner, type, start, length);
    }

    /**
     * {@link #set} for a lock {@code owner} that is not a handle (a process, through a front end that keeps POSIX
     * record-lock owners), set through handle {@code via}: the lock also goes when that handle is closed, so a front
     * end that vanishes without releasing leaves nothing behind.
     */
    synchronized void set(long ino, long owner, long via, int type, long start, long length) throws FsException {
        if (type != FileSystemService.F_RDLCK
                && type != FileSystemService.F_WRLCK
                && type != FileSystemService.F_UNLCK) {
            throw new FsException(Errno.EINVAL, "lock type " + type);
        }
        if (start < 0 || length < 0) {
            throw new FsException(Errno.EINVAL, "lock range " + start + "+" + length);
        }
        long end = length == 0 || start + length < 0 ? Long.MAX_VALUE : start + length;
        List<Range> ranges = byInode.computeIfAbsent(ino, k -> new ArrayList<>());
        boolean exclusive = type == FileSystemService.F_WRLCK;
        if (type != FileSystemService.F_UNLCK) {
            for (Range r : ranges) {
                if (r.owner != owner && r.overlaps(start, end) && (exclusive || r.exclusive)) {
                    throw new FsException(Errno.EAGAIN, "byte range " + start + "+" + length + " is locked");
                }
            }
        }
        List<Range> kept = new ArrayList<>(ranges.size() + 2);
        for (Range r : ranges) {
            if (r.owner != owner || !r.overlaps(start, end)) {
                kept.add(r);
                continue;
            }
            if (r.start < start) {
                kept.add(new Range(owner, r.via, r.start, start, r.exclusive));
            }
            if (r.end > end) {
                kept.add(new Range(owner, r.via, end, r.end, r.exclusive));
            }
        }
        if (type != FileSystemService.F_UNLCK) {
            kept.add(new Range(owner, via, start, end, exclusive));
        }
        if (kept.isEmpty()) {
            byInode.remove(ino);
        } else {
            byInode.put(ino, kept);
        }
    }

    /**
     * The first lock of another owner on inode {@code ino} that a lock of {@code type} on {@code [start, start +
     * length)} would conflict with, as {@code {type, start, length}} (length 0: to the end); null if none.
     */
    synchronized long[] conflicting(long ino, long owner, int type, long start, long length) {
        long end = length == 0 || start + length < 0 ? Long.MAX_VALUE : start + length;
        boolean exclusive = type == FileSystemService.F_WRLCK;
        for (Range r : byInode.getOrDefault(ino, List.of())) {
            if (r.owner != owner && r.overlaps(start, end) && (exclusive || r.exclusive)) {
                return new long[] {
                    r.exclusive ? FileSystemService.F_WRLCK : FileSystemService.F_RDLCK,
                    r.start,
                    r.end == Long.MAX_VALUE ? 0 : r.end - r.start
                };
            }
        }
        return null;
    }

    /**
     * Drops every lock {@code owner} holds on inode {@code ino}, and every lock set through it (the handle is being
     * closed).
     */
    synchronized void releaseAll(long ino, long owner) {
        List<Range> ranges = byInode.get(ino);
        if (ranges == null) {
            return;
        }
        ranges.removeIf(r -> r.owner == owner || r.via == owner);
        if (ranges.isEmpty()) {
            byInode.remove(ino);
        }
    }

    /** Locks held on inode {@code ino}, for tests and status. */
    synchronized int count(long ino) {
        List<Range> ranges = byInode.get(ino);
        return ranges == null ? 0 : ranges.size();
    }
}
