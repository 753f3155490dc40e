package org.fsp.api.block;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A block device driven by polling: the driver contract (io_uring, RAM, NVMe).
 *
 * <p>A typical sequence is: {@link #submitWrite} several blocks, {@link #submitFlush}, {@link #submit} once (one
 * kernel crossing for the whole batch), then {@link #poll} until every tag has completed.
 *
 * <p>Buffers are caller-provided native segments whose address and length are multiples of {@link #bufferAlignment()}
 * (4096 for O_DIRECT); the caller must keep a buffer alive and untouched until its request completes. Submission
 * methods return {@code false} when the device's queue is full (back-pressure); they never block. Implementations
 * are safe for concurrent submitters and pollers; completions go to whichever thread polls, identified by the tag
 * the submitter chose.
 *
 * <p>Results follow the kernel's convention: bytes transferred ({@code >= 0}) or a negated {@link org.fsp.api.fs.Errno} value.
 */
@ProviderType
public interface BlockDevice extends AutoCloseable {

    /** Service property: the driver kind, one of {@code "io_uring"}, {@code "ram"}, {@code "nvme"}. */
    String PROP_DRIVER = "fsp.block.driver";

    /** Bytes per block; a power of two, at least 512. */
    int blockSize();

    /** Capacity in blocks. */
    long blockCount();

    /** Required alignment of buffer addresses and lengths, in bytes. */
    int bufferAlignment();

    /** The most requests that may be submitted and not yet completed. */
    int queueDepth();

    /**
     * Queues a read of {@code buffer.byteSize() / blockSize()} blocks starting at {@code block}.
     *
     * @return false if the queue is full; nothing was queued
     * @throws IllegalArgumentException if the range lies outside the device or the buffer is misaligned
     * @throws IllegalStateException if the device is closed
     */
    boolean submitRead(long block, MemorySegment buffer, long tag);

    /** Queues a write; same rules as {@link #submitRead}. */
    boolean submitWrite(long block, MemorySegment buffer, long tag);

    /**
     * Queues a flush: completes after every write that completed before it was submitted is durable on the medium.
     */
    boolean submitFlush(long tag);

    /**
     * Hands every queued request to the device in one batch.
     *
     * @return the number of requests handed over
     */
    int submit();

    /**
     * Collects up to {@code max} completions without blocking and reports each to {@code handler} on this thread.
     *
     * @return the number of completions reported
     */
    int poll(CompletionHandler handler, int max);

    /** Requests submitted and not yet reported by {@link #poll}. */
    int inFlight();

    /**
     * The park of a spin-then-park waiter: blocks until a completion is ready for {@link #poll} or about
     * {@code timeoutNanos} passed, so that a thread waiting for the device leaves the CPU to whoever must run for
     * the request to finish. May return at once (nothing in flight, another thread already waiting); callers loop.
     * The default yields, for devices that cannot wait; drivers with a kernel wait (io_uring) override it.
     *
     * @return true if a completion is ready for {@link #poll}
     */
    default boolean awaitCompletion(long timeoutNanos) {
        Thread.yield();
        return false;
    }

    /** A one-line description for operators: driver, path, mode (e.g. SQPOLL, IOPOLL, plain), geometry. */
    String describe();

    /**
     * Whether what was written (completed, not yet flushed) outlives this process: true for an image file, a block
     * device or a controller; false for memory that dies with the process (then nothing is worth keeping for the
     * next process, such as fs-core's journal shadow).
     */
    default boolean outlivesProcess() {
        return true;
    }

    /** Waits for in-flight requests, releases the device. Further submissions throw {@link IllegalStateException}. */
    @Override
    void close();

    /** Receives completions during {@link #poll}; must not block. */
    @FunctionalInterface
    interface CompletionHandler {
        /**
         * @param tag the submitter's tag
         * @param result bytes transferred, or a negated errno
         */
        void onComplete(long tag, int result);
    }
}
