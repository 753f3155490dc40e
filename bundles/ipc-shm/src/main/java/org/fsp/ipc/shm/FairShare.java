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
 * <p>A typical sequence, on a worker: {@link #tryBegin} before executing a request ({@link #WAIT}: leave it waiting and
 * call {@link #noteWaiting} before sleeping), {@link #end} with what it returned after it. Thread-safe.
 *
 * <p>A client alone is not counted at all: its requests cost no atomic operation on the lines the workers serving it
 * share (three per request were measured as part of a 30% fall of the channel experiment at 2-4 threads). A request
 * that began uncounted and ends after a second client came is simply not subtracted; only counted requests hold a
 * share, so the count stays exact.
 */
final class FairShare {

    /** {@link #tryBegin}: the client is at its share; leave the request waiting. */
    static final int WAIT = 0;
    /** {@link #tryBegin}: admitted and counted; {@link #end} subtracts it and wakes waiting workers. */
    static final int COUNTED = 1;
    /** {@link #tryBegin}: admitted uncounted, the client being alone; {@link #end} does nothing. */
    static final int ALONE = 2;

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

    /**
     * Admits a request of {@code s} if its share allows one more: {@link #COUNTED} or {@link #ALONE}, to be passed to
     * {@link #end}; {@link #WAIT} leaves it waiting.
     */
    int tryBegin(ClientSession s) {
        if (clients <= 1) {
            return ALONE;
        }
        while (true) {
            int now = s.executing.get();
            if (now >= perClient) {
                return WAIT;
            }
            if (s.executing.compareAndSet(now, now + 1)) {
                return COUNTED;
            }
        }
    }

    /**
     * A request of {@code s} that {@link #tryBegin} admitted with {@code admitted} is done: a counted one frees its
     * share and wakes the workers that left some of the client's requests waiting.
     */
    void end(ClientSession s, int admitted) {
        if (admitted != COUNTED) {
            return;
        }
        s.executing.decrementAndGet();
        // After the decrement (a full fence): a worker that marks itself waiting and then rereads executing sees one
        // or the other. A plain volatile read first: the swap, a write to a shared line, only when someone waits.
        if (s.waitingWorkers.get() == 0) {
            return;
        }
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
