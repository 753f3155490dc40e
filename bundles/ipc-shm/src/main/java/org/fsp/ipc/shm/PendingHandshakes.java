package org.fsp.ipc.shm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.fsp.linux.UnixSockets.PeerCredentials;

/**
 * The connections accepted whose hello has not come yet, oldest first, with the bounds that keep silent connections
 * from crowding out honest ones: at most {@code maxPerUid} per user (SO_PEERCRED is known at accept, before any byte is
 * read) and {@code maxTotal} in all. When a new connection would break a bound, the oldest connection of the user over
 * its bound goes first, and over the total bound the oldest of the user holding the most: a user who floods the
 * socket pushes out only its own connections, and a fresh connection (an honest client says hello at once) always
 * gets its chance.
 *
 * <p>A typical sequence, on the acceptor thread only (not thread-safe): {@link #add} at accept and close what it
 * returns; {@link #remove} when the hello came; {@link #expired} each tick and close those; {@link #perUid} for the
 * shell.
 */
final class PendingHandshakes {

    /** One connection waiting for its hello; {@code acceptedAtNanos} from {@link System#nanoTime()}. */
    record Pending(int fd, PeerCredentials peer, long acceptedAtNanos) {}

    /** Why {@link #add} dropped a connection. */
    enum Eviction {
        /** Its user had {@code maxPerUid} connections waiting. */
        UID_BOUND,
        /** {@code maxTotal} connections were waiting; its user held the most. */
        TOTAL_BOUND
    }

    /** A connection {@link #add} dropped, and why. */
    record Dropped(Pending pending, Eviction why) {}

    private final int maxTotal;
    private final int maxPerUid;
    /** By descriptor, in accept order. */
    private final LinkedHashMap<Integer, Pending> byFd = new LinkedHashMap<>();

    private final Map<Integer, Integer> countByUid = new HashMap<>();

    PendingHandshakes(int maxTotal, int maxPerUid) {
        if (maxTotal < 1 || maxPerUid < 1) {
            throw new IllegalArgumentException("bounds must be positive: " + maxTotal + ", " + maxPerUid);
        }
        this.maxTotal = maxTotal;
        this.maxPerUid = maxPerUid;
    }

    /**
     * Adds {@code p} and returns the connections dropped to stay within the bounds (the caller closes them); {@code p}
     * itself is never among them.
     */
    List<Dropped> add(Pending p) {
        List<Dropped> dropped = new ArrayList<>(1);
        int uid = p.peer().uid();
        if (countByUid.getOrDefault(uid, 0) >= maxPerUid) {
            dropped.add(new Dropped(removeOldestOf(uid), Eviction.UID_BOUND));
        } else if (byFd.size() >= maxTotal) {
            dropped.add(new Dropped(removeOldestOf(heaviestUid()), Eviction.TOTAL_BOUND));
        }
        byFd.put(p.fd(), p);
        countByUid.merge(uid, 1, Integer::sum);
        return dropped;
    }

    /** Removes and returns the pending connection on {@code fd}, or null. */
    Pending remove(int fd) {
        Pending p = byFd.remove(fd);
        if (p != null) {
            uncount(p.peer().uid());
        }
        return p;
    }

    /** Removes and returns the connections accepted at or before {@code acceptedBeforeNanos}, oldest first. */
    List<Pending> expired(long acceptedBeforeNanos) {
        List<Pending> out = new ArrayList<>();
        for (Iterator<Pending> it = byFd.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.acceptedAtNanos() - acceptedBeforeNanos > 0) {
                break;
            }
            it.remove();
            uncount(p.peer().uid());
            out.add(p);
        }
        return out;
    }

    /** Removes and returns every pending connection, oldest first. */
    List<Pending> removeAll() {
        List<Pending> out = List.copyOf(byFd.values());
        byFd.clear();
        countByUid.clear();
        return out;
    }

    /** The oldest pending connection, or null when none waits. */
    Pending oldest() {
        return byFd.isEmpty() ? null : byFd.values().iterator().next();
    }

    /** All pending connections, oldest first (a copy). */
    List<Pending> all() {
        return List.copyOf(byFd.values());
    }

    int size() {
        return byFd.size();
    }

    /** Pending connections per uid. */
    SortedMap<Integer, Integer> perUid() {
        return new TreeMap<>(countByUid);
    }

    private int heaviestUid() {
        int uid = -1;
        int most = 0;
        for (Map.Entry<Integer, Integer> e : countByUid.entrySet()) {
            if (e.getValue() > most) {
                most = e.getValue();
                uid = e.getKey();
            }
        }
        return uid;
    }

    private Pending removeOldestOf(int uid) {
        for (Iterator<Pending> it = byFd.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.peer().uid() == uid) {
                it.remove();
                uncount(uid);
                return p;
            }
        }
        throw new IllegalStateException("no pending connection of uid " + uid);
    }

    private void uncount(int uid) {
        countByUid.computeIfPresent(uid, (k, n) -> n == 1 ? null : n - 1);
    }
}
