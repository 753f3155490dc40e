package org.fsp.client.nio;

import java.nio.channels.OverlappingFileLockException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The locks this JVM holds on each file of one FSP file system, so that a second overlapping lock from this JVM is an
 * {@link OverlappingFileLockException}, as the platform's FileChannel does (its FileLockTable): FSP's locks belong to
 * handles and would let two channels of one JVM wait on each other instead.
 */
final class LockRegistry {

    private final Map<Long, List<FspFileLock>> byInode = new HashMap<>();

    synchronized void add(long ino, FspFileLock lock) {
        List<FspFileLock> held = byInode.computeIfAbsent(ino, k -> new ArrayList<>());
        for (FspFileLock l : held) {
            if (l.overlaps(lock.position(), lock.size())) {
                throw new OverlappingFileLockException();
            }
        }
        held.add(lock);
    }

    synchronized void remove(long ino, FspFileLock lock) {
        List<FspFileLock> held = byInode.get(ino);
        if (held != null) {
            held.remove(lock);
            if (held.isEmpty()) {
                byInode.remove(ino);
            }
        }
    }

    /** The locks of {@code channel}, removed: it is closing, and its handle's locks go with it in fs-core. */
    synchronized List<FspFileLock> removeAll(long ino, FspFileChannel channel) {
        List<FspFileLock> held = byInode.get(ino);
        List<FspFileLock> out = new ArrayList<>();
        if (held != null) {
            held.removeIf(l -> {
                if (l.owningChannel() == channel) {
                    out.add(l);
                    return true;
                }
                return false;
            });
            if (held.isEmpty()) {
                byInode.remove(ino);
            }
        }
        return out;
    }
}
