package org.fsp.sched;

/**
 * The CPUs the polling workers pin themselves to, one each, so that no client thread shares a worker's CPU (uFS gives
 * its server cores of their own). On a shared CPU every hand-off between a worker and a client is a context switch
 * and either side's spin only delays the other; on separate CPUs it is a cache line. Which case a run lands in is
 * otherwise up to the kernel's wake-up placement, which pulls a woken thread towards its waker's CPU.
 *
 * <p>Workers take the highest CPUs of the process's affinity first and always leave at least one CPU unclaimed for
 * the clients; a worker that finds none free runs unpinned. {@link #mask()} is what the IPC layer publishes to
 * clients, whose threads then leave those CPUs out of their own affinity. Only CPUs 0-63 are handed out.
 */
final class WorkerCpus {

    /** CPUs the process may run on when the pool was made; 0 when pinning is off. */
    private final long allowed;
    /** CPUs claimed by a worker now; guarded by this. */
    private long claimed;

    /** A pool of {@code allowed} CPUs (0: pinning off). */
    WorkerCpus(long allowed) {
        this.allowed = allowed;
    }

    /** A pool that hands out nothing. */
    static WorkerCpus off() {
        return new WorkerCpus(0);
    }

    /**
     * Claims the highest free CPU unless that would leave the clients none; returns it, or -1 when there is none to
     * claim.
     */
    synchronized int claim() {
        long free = allowed & ~claimed;
        if (Long.bitCount(free) < 2) {
            return -1;
        }
        int cpu = 63 - Long.numberOfLeadingZeros(free);
        claimed |= 1L << cpu;
        return cpu;
    }

    /** Gives back a CPU from {@link #claim} (a negative one is ignored). */
    synchronized void release(int cpu) {
        if (cpu >= 0) {
            claimed &= ~(1L << cpu);
        }
    }

    /** The CPUs workers are pinned to now (bit i: CPU i), 0 when none is. */
    synchronized long mask() {
        return claimed;
    }
}
