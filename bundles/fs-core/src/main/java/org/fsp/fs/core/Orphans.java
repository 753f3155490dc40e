package org.fsp.fs.core;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.fsp.api.fs.FsException;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;

/**
 * Files unlinked while open when the file system stopped (orphans: allocated inodes with no links) on one mount. A
 * plain mount after a crash frees them; a mount with a session table keeps them for a grace period, so that the
 * clients which had them open re-attach to them across a restart of fspd (docs/recovery.md), and frees the ones
 * nobody re-opened when it ends. A typical sequence is: {@link #afterCrash} in the mount, {@link #startGraceTimer},
 * then either the timer's end, {@link #stopGraceTimer} before a hand-over (the next version decides), or
 * {@link #freeKept} at unmount.
 */
final class Orphans {

    private final FsCore fs;
    /** How long a mount after a crash keeps orphans and awaited sessions' records for re-attaching clients, ms. */
    private final long graceMillis = Long.getLong(FrameworkProperties.RECOVERY_GRACE_MILLIS, 30_000);
    /** Files unlinked while open that this mount kept for their clients; freed when the grace period ends. */
    private final Set<Long> kept = ConcurrentHashMap.newKeySet();

    private Thread graceTimer;

    Orphans(FsCore fs) {
        this.fs = fs;
    }

    /**
     * After a crash: with a session table and a grace period, orphans are kept for the clients that will re-attach
     * to them; otherwise freed now. Returns how many were freed.
     */
    int afterCrash() throws IOException {
        if (fs.sessions == null || graceMillis <= 0) {
            return freeAll();
        }
        prefetchInodeBlocksInUse();
        Geometry g = fs.geometry;
        for (long ino = Geometry.ROOT_INO + 1; ino < g.inodeCount(); ino++) {
            if (fs.alloc.inodeInUse(ino) && nlink(ino) == 0) {
                kept.add(ino);
            }
        }
        return 0;
    }

    /** Frees every orphan now; returns how many. */
    private int freeAll() throws IOException {
        int freed = 0;
        prefetchInodeBlocksInUse();
        Geometry g = fs.geometry;
        for (long ino = Geometry.ROOT_INO + 1; ino < g.inodeCount(); ino++) {
            if (!fs.alloc.inodeInUse(ino) || nlink(ino) != 0) {
                continue;
            }
            Inode i = fs.table.get(ino);
            try (Journal.Handle h = fs.journal.begin()) {
                i.lock.lock();
                try {
                    fs.destroy(h.tx(), i);
                } finally {
                    i.lock.unlock();
                }
            }
            freed++;
        }
        if (freed > 0) {
            fs.journal.commitUpTo(fs.journal.runningSeq());
        }
        return freed;
    }

    /**
     * Starts reading every inode-table block that holds an inode in use, each run of consecutive ones as one prefetch,
     * so the orphan scan after a crash waits for the device about once instead of once per block.
     */
    private void prefetchInodeBlocksInUse() {
        Geometry g = fs.geometry;
        // Past a quarter of the cache the prefetched blocks would push each other out before the scan reaches them.
        long budget = fs.cache.capacity() / 4;
        long runStart = -1;
        long runEnd = -1; // exclusive
        for (long ino = Geometry.ROOT_INO + 1; ino < g.inodeCount() && budget > 0; ino++) {
            if (!fs.alloc.inodeInUse(ino)) {
                continue;
            }
            long block = g.inodeBlock(ino);
            if (block == runEnd - 1) {
                continue;
            }
            if (block != runEnd) {
                if (runStart >= 0) {
                    fs.cache.prefetch(runStart, (int) (runEnd - runStart));
                }
                runStart = block;
            }
            runEnd = block + 1;
            budget--;
        }
        if (runStart >= 0) {
            fs.cache.prefetch(runStart, (int) (runEnd - runStart));
        }
    }

    /** The link count of allocated inode {@code ino} on the device, or -1 for an inode never written. */
    private int nlink(long ino) throws IOException {
        Geometry g = fs.geometry;
        Buffer b = fs.cache.get(g.inodeBlock(ino), true);
        try {
            int base = g.inodeOffset(ino);
            return InodeDescriptor.isZero(b.data(), base)
                    ? -1
                    : b.data().get(Layout.INT, base + InodeDescriptor.NLINK_OFFSET);
        } finally {
            fs.cache.release(b);
        }
    }

    /** Starts the grace period if anything waits for a client: kept orphans or records of awaited sessions. */
    void startGraceTimer() {
        int awaited = fs.sessions == null ? 0 : fs.sessions.awaited();
        if (kept.isEmpty() && awaited == 0) {
            return;
        }
        FsCore.LOG.info(
                "keeping {} files unlinked while open and the records of {} sessions for {} ms",
                kept.size(),
                awaited,
                graceMillis);
        graceTimer = Thread.ofPlatform().daemon().name("fsp-recovery-grace").start(this::graceLoop);
    }

    /**
     * Ends the grace period's thread before a hand-over. Left running, it would wake after the hand-over, write
     * through a scheduler gate that no longer leads to a scheduler, wait there until the gate's limit and fail, and
     * keep this version's classes loaded all the while; what it would have freed is the next version's to decide.
     */
    void stopGraceTimer() {
        if (graceTimer == null) {
            return;
        }
        graceTimer.interrupt();
        boolean interrupted = false;
        while (graceTimer.isAlive()) {
            try {
                graceTimer.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** At unmount: the grace period ends now. */
    void interruptGraceTimer() {
        if (graceTimer != null) {
            graceTimer.interrupt();
        }
    }

    /** Orphans kept now, for fsp:status. */
    int keptCount() {
        return kept.size();
    }

    /** Waits out the grace period, then frees the kept orphans nobody re-opened and erases the awaited records. */
    private void graceLoop() {
        try {
            Thread.sleep(graceMillis);
        } catch (InterruptedException e) {
            return;
        }
        try {
            int freed = freeKept();
            int erased = 0;
            if (fs.sessions != null) {
                for (long[] t : fs.sessions.awaitedTokens()) {
                    try (Journal.Handle h = fs.journal.begin()) {
                        erased += fs.sessions.erase(h.tx(), t[0], t[1]);
                    }
                }
            }
            fs.journal.commitUpTo(fs.journal.runningSeq());
            FsCore.LOG.info(
                    "grace period over: freed {} unclaimed orphans, erased {} records of sessions gone", freed, erased);
        } catch (IOException | RuntimeException e) {
            FsCore.LOG.warn("could not end the grace period cleanly: {}", e.toString());
        }
    }

    /** Frees the kept orphans that no handle holds; returns how many. */
    int freeKept() throws FsException {
        int freed = 0;
        for (long ino : List.copyOf(kept)) {
            kept.remove(ino);
            if (!fs.alloc.inodeInUse(ino)) {
                continue; // re-opened, closed and freed already
            }
            Boolean gone = fs.run(tx -> {
                Inode i = fs.table.get(ino);
                i.lock.lock();
                try {
                    boolean free = i.nlink == 0 && i.openCount == 0 && !i.freed;
                    fs.maybeDestroy(tx, i);
                    return free;
                } finally {
                    i.lock.unlock();
                }
            });
            if (gone) {
                freed++;
            }
        }
        return freed;
    }
}
