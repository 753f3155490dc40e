package org.fsp.ipc.shm;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.SessionRecords;
import org.fsp.linux.Libc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connected clients of one {@link ShmServer}: the session table, the round-robin of their lanes over the lane
 * workers, and the release of everything a client held when it goes.
 *
 * <p>A typical sequence is: the handshake takes an id with {@link #newId()}, {@link #add}s the session and
 * {@link #assignLane assigns} each of its lanes; the monitor {@link #release}s it when its socket closes (and
 * {@link #forgetRecords forgets} its exactly-once records, since it will not re-issue anything). Thread safe: the
 * monitor thread adds and releases, the shell and status read.
 */
final class ClientTable {

    private static final Logger LOG = LoggerFactory.getLogger(ClientTable.class);

    private final Map<Long, ClientSession> sessions = new ConcurrentHashMap<>();
    private final AtomicLong nextClientId = new AtomicLong(1);
    /** The server's lane workers (its own list: workers come with start and go with close or quiesce). */
    private final List<LaneWorker> workers;

    private final FairShare share;
    private final FileSystemGate gate;
    private final ReadLeases leases;
    private final DirectoryWatches watches;
    /** Guards the round-robin of lanes over workers (the monitor thread assigns while the server's lock may be held). */
    private final Object laneLock = new Object();
    /** Under {@link #laneLock}. */
    private int nextWorker;

    ClientTable(List<LaneWorker> workers, FairShare share, FileSystemGate gate) {
        this(workers, share, gate, null);
    }

    /** A table that also ends a released client's read leases in {@code leases} (null: none kept). */
    ClientTable(List<LaneWorker> workers, FairShare share, FileSystemGate gate, ReadLeases leases) {
        this(workers, share, gate, leases, null);
    }

    /** A table that also ends a released client's read leases and directory watches (null: none kept). */
    ClientTable(
            List<LaneWorker> workers,
            FairShare share,
            FileSystemGate gate,
            ReadLeases leases,
            DirectoryWatches watches) {
        this.watches = watches;
        this.workers = workers;
        this.share = share;
        this.gate = gate;
        this.leases = leases;
    }

    /** A client number not used before on this socket (numbers continue across a hand-over). */
    long newId() {
        return nextClientId.getAndIncrement();
    }

    /** The number the next client gets. */
    long nextId() {
        return nextClientId.get();
    }

    /** Continues numbering where a predecessor stopped. */
    void continueIdsFrom(long next) {
        nextClientId.set(next);
    }

    /** Adds a session whose lanes are (or are about to be) assigned. */
    void add(ClientSession s) {
        sessions.put(s.id, s);
        share.clientsChanged(sessions.size());
    }

    int size() {
        return sessions.size();
    }

    /** Clients connected with {@code uid}. */
    long ofUid(int uid) {
        return sessions.values().stream()
                .filter(x -> x.credentials.uid() == uid)
                .count();
    }

    /** The sessions now (a live view). */
    Collection<ClientSession> all() {
        return sessions.values();
    }

    /** The sessions now, as an array the monitor polls over. */
    ClientSession[] snapshot() {
        return sessions.values().toArray(ClientSession[]::new);
    }

    /** Forgets every session without releasing it: they were handed to a successor. */
    void clear() {
        sessions.clear();
    }

    void assignLane(ClientSession s, int lane, long head) {
        synchronized (laneLock) {
            workers.get(nextWorker).add(s, lane, head);
            nextWorker = (nextWorker + 1) % workers.size();
        }
    }

    /** Releases everything {@code s} held: lanes, open files, segment, socket. Idempotent. */
    void release(ClientSession s) {
        if (!s.markReleased()) {
            return;
        }
        sessions.remove(s.id);
        share.clientsChanged(sessions.size());
        for (LaneWorker w : List.copyOf(workers)) {
            w.remove(s);
        }
        if (leases != null) {
            leases.sessionEnded(s);
        }
        if (watches != null) {
            watches.sessionEnded(s);
        }
        gate.closeHandles(s.credentials, s.files.closeAll());
        s.awaitNoBulkCopies(TimeUnit.SECONDS.toNanos(5));
        closeArena(s);
        Libc.close(s.socketFd);
        LOG.info("released {} after {} requests", s, s.requestsServed.sum());
    }

    /**
     * The client left while this server runs: it will not re-issue anything, so its exactly-once records can go. (A
     * client whose server dies keeps them: the next server finds them in the journal.)
     */
    void forgetRecords(ClientSession s) {
        if (s.hasToken() && s.tokenClaimed && gate.current() instanceof SessionRecords rs) {
            rs.forget(s.tokenHigh, s.tokenLow);
        }
    }

    private static void closeArena(ClientSession s) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            try {
                s.arena.close();
                return;
            } catch (IllegalStateException e) {
                if (!s.arena.scope().isAlive() || System.nanoTime() > deadline) {
                    if (s.arena.scope().isAlive()) {
                        LOG.error("{}: segment still in use after 5 s; leaving it mapped", s, e);
                    }
                    return;
                }
                Thread.onSpinWait();
            }
        }
    }
}
