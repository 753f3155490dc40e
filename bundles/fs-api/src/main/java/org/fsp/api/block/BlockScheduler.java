package org.fsp.api.block;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The block I/O scheduler between the file system and a {@link BlockDevice}: it queues, orders, merges and batches
 * requests, and runs the two phases the FSP paper names, issuing and polling.
 *
 * <p>A typical sequence is: {@link #enqueue} requests from any thread; a worker thread calls {@link #issue()} (moves
 * queued requests to the device in priority order, one kernel crossing per batch) and {@link #poll()} (reaps
 * completions and completes the {@link BlockRequest}s); the submitter sees {@link BlockRequest#isDone()}. A thread that
 * must wait for its own request calls {@link #await} which keeps driving both phases, so no request starves while it
 * waits.
 */
@ProviderType
public interface BlockScheduler {

    /** Service property: the scheduling policy, e.g. {@code "fifo"} or {@code "batching"}. */
    String PROP_POLICY = "fsp.block.scheduler";

    /** The device this scheduler drives. */
    BlockDevice device();

    /**
     * Queues a request. Blocks only when the scheduler's bounded queue is full (back-pressure), driving the device
     * meanwhile.
     *
     * @throws IllegalArgumentException if the request is out of the device's range or its buffer misaligned
     */
    void enqueue(BlockRequest request);

    /** Issue phase: hands queued requests to the device. Returns how many were handed over. */
    int issue();

    /** Poll phase: reaps completions. Returns how many requests completed. */
    int poll();

    /** Drives {@link #issue()} and {@link #poll()} until {@code request} is done; returns its result. */
    int await(BlockRequest request);

    /** Requests queued or in flight. */
    int pending();

    /** The policy name, as in {@link #PROP_POLICY}. */
    String policy();
}
