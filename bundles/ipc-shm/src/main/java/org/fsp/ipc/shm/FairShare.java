package org.fsp.ipc.shm;

import java.util.List;

/**
 * Each client's share of the lane workers, as the workers enforce it: while more than one client is connected, at
 * most {@code perClient} requests of one client execute at once, across all workers. A worker that finds a client at
 * its share leaves that client's requests waiting in their slots (they are not refused) and serves the next client;
 * when one of the client's requests completes, the workers that left some waiting are woken. So a client that floods
 * slow requests (SYNC, FSYNC, reads that miss the cache) holds at most {@code perClient} workers in the device, and
 * the others keep serving its neighbours. A client alone may use every worker.
 *
 * <p>A typical sequence, on a worker: {@link #tryBegin} before executing a request (false: leave it waiting and call
 * {@link #noteWaiting} before sleeping), {@link #end} after it. Thread-safe.
 */
final class FairShare {

    private final int perClient;
    private final List<LaneWorker> workers;
    /** Clients connected; written by the server when sessions come and go. */
    private volatile int clients;

    /** @param workers the server's lane workers (a live list), indexed by {@link LaneWorker#index()} */
    FairShare(int perClient, List<LaneWorker> workers) {
        if (perClient < 1) {
            throw new IllegalArgumentException("perClient " + perClient);
        }
        this.perClient = perClient;
        this.workers = workers;
    }

    int perClient() {
        return perClient;
    }

    void clientsChanged(int connected) {
        clients = connected;
    }

    /** Counts a request of {@code s} as executing if its share allows one more; false leaves it waiting. */
    boolean tryBegin(ClientSession s) {
        if (clients <= 1) {
            s.executing.incrementAndGet();
            return true;
        }
        while (true) {
            int now = s.executing.get();
            if (now >= perClient) {
                return false;
            }
            if (s.executing.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    /** A request of {@code s} counted by {@link #tryBegin} is done: wakes the workers that left some of it waiting. */
    void end(ClientSession s) {
        s.executing.decrementAndGet();
        // After the decrement: a worker that marks itself waiting and then rereads executing sees one or the other.
        long waiting = s.waitingWorkers.getAndSet(0);
        while (waiting != 0) {
            int index = Long.numberOfTrailingZeros(waiting);
            waiting &= waiting - 1;
            List<LaneWorker> ws = workers;
            if (index < ws.size()) {
                ws.get(index).wakeUp();
            }
        }
    }

    /**
     * Before {@code worker} sleeps with requests of {@code s} left waiting: asks to be woken when the client's share
     * frees up. Returns false if it is free already (the worker should not sleep).
     */
    boolean noteWaiting(ClientSession s, LaneWorker worker) {
        s.waitingWorkers.getAndUpdate(m -> m | (1L << worker.index()));
        return !mayBegin(s);
    }

    /** Whether {@link #tryBegin} would allow a request of {@code s} now. */
    boolean mayBegin(ClientSession s) {
        return clients <= 1 || s.executing.get() < perClient;
    }
}
