package org.fsp.ipc.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.handoff.FuseHandoff;
import org.fsp.linux.Libc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The FUSE-over-io_uring queues of one mount: one {@link FuseUringQueue} per possible CPU and serving thread, their
 * set-up once INIT has settled io_uring, the fall-back to {@code /dev/fuse} reads when one cannot be set up, and the
 * words {@code fsp:mount} shows for the transport. A typical sequence is: {@link #decided} before INIT,
 * {@link #start} from a thread of its own once INIT's answer is written, {@link #stop} at close or hand-over.
 *
 * <p>Guarded by itself, not by the mount's lock: a queue's start waits for the kernel, which may wait for a request
 * that a thread holding the mount's lock would serve.
 */
final class UringQueues {

    private static final Logger LOG = LoggerFactory.getLogger(UringQueues.class);

    private final Path mountPoint;
    private final int threadsPerQueue;
    private final int queueDepth;
    private final List<FuseUringQueue> queues = new ArrayList<>();
    /** A predecessor's held requests, answered (and their entries taken over) by the queues {@link #start} makes. */
    private List<FuseHandoff.HeldRequest> toAdopt = List.of();
    /** What holds the buffers of entries taken over from predecessors: freed at {@link #stop}, or handed on. */
    private final List<AutoCloseable> adoptedBuffers = new ArrayList<>();
    /** Which transport serves, in words, while no queue does. */
    private String transportInUse = "classic";
    /** Set once io_uring setup failed and the connection went back to /dev/fuse: what rings remain only drain. */
    private boolean fellBack;

    UringQueues(Path mountPoint, int threadsPerQueue, int queueDepth) {
        this.mountPoint = mountPoint;
        this.threadsPerQueue = threadsPerQueue;
        this.queueDepth = queueDepth;
    }

    /** Before INIT: whether INIT asks for io_uring, and if not, {@code why}. */
    synchronized void decided(boolean uring, String why) {
        transportInUse = uring ? "classic until INIT settles io_uring" : "classic (" + why + ")";
    }

    /** INIT was answered without FUSE_OVER_IO_URING: the kernel stays with {@code /dev/fuse} reads. */
    synchronized void notSettled() {
        if (transportInUse.startsWith("classic until")) {
            transportInUse = "classic (the kernel did not settle FUSE_OVER_IO_URING at INIT)";
        }
    }

    /**
     * Registers the queues on the mount's descriptor {@code fd}, served by {@code dispatcher}. If one cannot be set
     * up, the others stop and the connection is turned back to {@code /dev/fuse} reads, with one log line. With
     * {@code nudge}, requests that queued while no entry was registered (a live upgrade) are fetched too.
     */
    synchronized void start(int fd, FuseDispatcher dispatcher, boolean nudge) {
        if (!queues.isEmpty()) {
            return;
        }
        int cpus = possibleCpus();
        String failure = null;
        // The held requests given to a queue, which answers them even if it then fails (FuseUringQueue.run).
        List<FuseHandoff.HeldRequest> given = new ArrayList<>();
        // Several rings may serve one CPU queue: the kernel hands a request to any free entry of the queue, so a
        // request that waits on the device holds one thread and not the whole queue.
        for (int q = 0; q < cpus && failure == null; q++) {
            AtomicInteger servingOnCpu = new AtomicInteger();
            List<List<FuseHandoff.HeldRequest>> adoptBy = adoptedBy(q);
            for (int k = 0; k < threadsPerQueue && failure == null; k++) {
                FuseUringQueue queue = new FuseUringQueue(
                        "fuse-uring-" + q + "." + k, q, fd, queueDepth, dispatcher, servingOnCpu, adoptBy.get(k));
                given.addAll(adoptBy.get(k));
                failure = queue.start();
                if (failure == null || queue.serving()) {
                    // A queue whose registrations were refused still serves the entries it took over (it drains).
                    queues.add(queue);
                } else {
                    queue.stop(false);
                }
                if (failure != null) {
                    failure = "queue " + q + ": " + failure;
                }
            }
        }
        if (failure == null) {
            toAdopt = List.of();
            transportInUse = "io_uring";
            LOG.info(
                    "FSP at {} served by FUSE-over-io_uring: {} CPU queues, each served by {} threads of {} entries",
                    mountPoint,
                    cpus,
                    threadsPerQueue,
                    queueDepth);
            if (nudge) {
                nudgeQueues(cpus);
            }
            return;
        }
        answerHeldOfQueuesNotStarted(fd, dispatcher, given);
        // Rings that serve entries taken over from the predecessor stay: the kernel may still hand them requests it
        // queued for their CPU before the refusal. New requests come by /dev/fuse.
        List<FuseUringQueue> draining = new ArrayList<>();
        for (FuseUringQueue q : queues) {
            if (q.serving() && q.adoptedAny()) {
                draining.add(q);
            } else {
                q.stop(false);
            }
        }
        queues.clear();
        queues.addAll(draining);
        fellBack = true;
        toAdopt = List.of();
        boolean back = FuseUringQueue.fallBackToClassic(fd);
        transportInUse = "classic (io_uring setup failed: " + failure + ")"
                + (draining.isEmpty() ? "" : "; " + draining.size() + " rings serve what the kernel queued for them");
        LOG.warn(
                "FUSE-over-io_uring could not be set up at {} ({}); {}",
                mountPoint,
                failure,
                back
                        ? "serving by /dev/fuse read/write instead"
                        : "and the kernel did not take the connection back: requests may wait until unmount");
    }

    /**
     * After a queue failed to start: the requests the predecessor held for the queues that never started get their
     * answers from a queue of no entries of its own per CPU queue (it registers nothing, answers what it was given by
     * commit id, and then drains those entries like a queue whose registrations were refused), so that no program
     * waits for an answer no version will give.
     */
    private void answerHeldOfQueuesNotStarted(int fd, FuseDispatcher dispatcher, List<FuseHandoff.HeldRequest> given) {
        Map<Integer, List<FuseHandoff.HeldRequest>> left = new TreeMap<>();
        for (FuseHandoff.HeldRequest h : toAdopt) {
            if (given.stream().noneMatch(g -> g == h)) {
                left.computeIfAbsent(h.qid(), q -> new ArrayList<>()).add(h);
            }
        }
        for (Map.Entry<Integer, List<FuseHandoff.HeldRequest>> e : left.entrySet()) {
            List<FuseHandoff.HeldRequest> held = e.getValue();
            FuseUringQueue answering = new FuseUringQueue(
                    "fuse-uring-" + e.getKey() + ".answer",
                    e.getKey(),
                    fd,
                    held.size(),
                    dispatcher,
                    new AtomicInteger(),
                    held,
                    true);
            String failure = answering.start();
            if (failure != null) {
                LOG.error(
                        "{} requests held for CPU queue {} at {} could not be answered: {}",
                        held.size(),
                        e.getKey(),
                        mountPoint,
                        failure);
            } else {
                LOG.info("answered {} requests held for CPU queue {} at {}", held.size(), e.getKey(), mountPoint);
            }
            queues.add(answering);
        }
    }

    /**
     * Stops the queues; each closes its ring. With {@code drain} (a hand-over: the connection lives on) each first
     * answers until its ring is quiet, which narrows the instant in which the kernel can hand a request to an entry
     * being cancelled.
     */
    synchronized void stop(boolean drain) {
        for (FuseUringQueue q : queues) {
            q.stop(drain);
        }
        queues.clear();
        for (AutoCloseable b : adoptedBuffers) {
            try {
                b.close();
            } catch (Exception e) {
                LOG.warn("cannot free the buffers of entries taken over at {}: {}", mountPoint, e.getMessage());
            }
        }
        adoptedBuffers.clear();
    }

    /** What {@link #handOver} gives the successor: the held requests and what holds their entries' buffers. */
    record Handed(List<FuseHandoff.HeldRequest> held, List<AutoCloseable> buffers) {}

    /** Before {@link #start}: the predecessor's held requests, to be answered by the queues of their CPU. */
    synchronized void adopt(List<FuseHandoff.HeldRequest> held, List<AutoCloseable> buffers) {
        toAdopt = List.copyOf(held);
        adoptedBuffers.addAll(buffers);
    }

    /** Held requests of CPU queue {@code q}, dealt out round robin to its {@link #threadsPerQueue} threads. */
    private List<List<FuseHandoff.HeldRequest>> adoptedBy(int q) {
        List<List<FuseHandoff.HeldRequest>> by = new ArrayList<>();
        for (int k = 0; k < threadsPerQueue; k++) {
            by.add(new ArrayList<>());
        }
        int next = 0;
        for (FuseHandoff.HeldRequest h : toAdopt) {
            if (h.qid() == q) {
                by.get(next++ % threadsPerQueue).add(h);
            }
        }
        return by;
    }

    /**
     * Stops the queues so that their entries go to the next version with no request lost. Every queue holds the
     * requests that come instead of answering them; from threads on each CPU, as many STATFS requests as that CPU's
     * queues have entries make sure that every entry soon holds one (a program's, or a STATFS); then each ring is
     * closed, which cancels nothing because no entry is free, while new requests wait in the kernel for the
     * successor's entries. If the entries are not all occupied within {@link #OCCUPY_NANOS}, the hold is called off:
     * the held requests are answered here and the queues stop as at unmount ({@link #stop} with drain).
     *
     * @return the held requests and their buffers, or null if no queue serves or the hold was called off
     */
    synchronized Handed handOver() {
        if (queues.isEmpty()) {
            return null;
        }
        if (fellBack) {
            // The kernel sends new requests by /dev/fuse; the rings that only drained have nothing to hand on.
            stop(true);
            return null;
        }
        for (FuseUringQueue q : queues) {
            q.hold();
        }
        int[] entriesOf = new int[possibleCpus()];
        for (FuseUringQueue q : queues) {
            entriesOf[q.qid()] += q.entries();
        }
        for (int cpu = 0; cpu < entriesOf.length; cpu++) {
            occupyFrom(cpu, entriesOf[cpu]);
        }
        long deadline = System.nanoTime() + OCCUPY_NANOS;
        boolean all = false;
        while (!all && System.nanoTime() < deadline) {
            all = true;
            for (FuseUringQueue q : queues) {
                all &= q.occupied();
            }
            if (!all) {
                LockSupport.parkNanos(500_000);
            }
        }
        if (!all) {
            LOG.warn(
                    "FUSE-over-io_uring at {}: not every ring entry was occupied within {} ms; the rings close as at"
                            + " unmount, and a request the kernel hands out meanwhile can fail with ECANCELED",
                    mountPoint,
                    OCCUPY_NANOS / 1_000_000);
            for (FuseUringQueue q : queues) {
                q.release();
            }
            stop(true);
            return null;
        }
        List<FuseHandoff.HeldRequest> held = new ArrayList<>();
        List<AutoCloseable> buffers = new ArrayList<>(adoptedBuffers);
        for (FuseUringQueue q : queues) {
            held.addAll(q.stopForHandOver());
            buffers.add(q.buffers());
        }
        queues.clear();
        adoptedBuffers.clear();
        LOG.info(
                "FUSE-over-io_uring at {}: {} requests held for the next version, its rings closed",
                mountPoint,
                held.size());
        return new Handed(held, buffers);
    }

    /** How long a hand-over waits for every ring entry to hold a request. */
    static final long OCCUPY_NANOS = 2_000_000_000L;

    /**
     * {@code count} STATFS requests (never cached by the kernel) from threads on CPU {@code cpu}, each waiting for its
     * answer, which the next version gives: they occupy the ring entries of that CPU's queue that no program does.
     */
    private void occupyFrom(int cpu, int count) {
        for (int i = 0; i < count; i++) {
            statfsFrom(cpu, "fsp-fuse-uring-occupy-" + cpu + "." + i, "occupying");
        }
    }

    /**
     * Starts a thread on CPU {@code cpu} that asks the mount for its sizes: one STATFS (never cached by the kernel) on
     * that CPU's queue, answered whenever a version of this front end serves the queue. {@code why} goes in its log.
     */
    private Thread statfsFrom(int cpu, String name, String why) {
        return Thread.ofPlatform().daemon().name(name).start(() -> {
            try {
                Libc.pinCurrentThreadTo(cpu);
                Files.getFileStore(mountPoint).getTotalSpace();
            } catch (IOException | RuntimeException e) {
                LOG.info("{} io_uring queue {} at {}: {}", why, cpu, mountPoint, e.getMessage());
            }
        });
    }

    /** Requests the queues answered. */
    synchronized long served() {
        long served = 0;
        for (FuseUringQueue q : queues) {
            served += q.served();
        }
        return served;
    }

    /** The transport in use, in words; {@code classic} describes the {@code /dev/fuse} channels. */
    synchronized String describe(String classic) {
        if (queues.isEmpty() || fellBack) {
            return "/dev/fuse read/write, " + classic + "; " + transportInUse;
        }
        long[] served = new long[queues.size()];
        for (int q = 0; q < queues.size(); q++) {
            served[q] = queues.get(q).served();
        }
        return "io_uring (FUSE-over-io_uring), " + queues.size() / threadsPerQueue + " CPU queues, each served by "
                + threadsPerQueue + " threads of " + queueDepth + " entries, requests per thread "
                + Arrays.toString(served) + "; /dev/fuse read/write for FORGET, INTERRUPT and notices on " + classic;
    }

    /**
     * Makes the kernel look at the requests that queued while no entry was registered. A new entry only takes
     * requests that arrive after it; those already waiting in its queue are fetched by the next COMMIT_AND_FETCH of
     * that queue. So one STATFS (never cached by the kernel) is sent from each CPU, by a thread pinned to it: its
     * answer's commit fetches whatever waits behind it.
     */
    private void nudgeQueues(int cpus) {
        for (int q = 0; q < cpus; q++) {
            Thread t = statfsFrom(q, "fsp-fuse-uring-nudge-" + q, "nudging");
            try {
                t.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The kernel's FUSE queues: one per possible CPU ({@code /sys/devices/system/cpu/possible}, e.g. "0-1"). */
    static int possibleCpus() {
        try {
            String s = Files.readString(Path.of("/sys/devices/system/cpu/possible"))
                    .trim();
            int n = 0;
            for (String range : s.split(",")) {
                String[] ends = range.split("-");
                n += ends.length == 1 ? 1 : Integer.parseInt(ends[1]) - Integer.parseInt(ends[0]) + 1;
            }
            return n;
        } catch (IOException | RuntimeException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }
}
