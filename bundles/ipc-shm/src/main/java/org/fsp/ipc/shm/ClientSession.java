package org.fsp.ipc.shm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.fs.Credentials;

/**
 * Everything the server holds for one connected client: who it is (from SO_PEERCRED, fixed at connect), its segment
 * and geometry, its open files, its counters, and the socket whose closing means the client is gone.
 *
 * <p>The segment belongs to a shared {@link Arena}: releasing the session closes the arena, after which any worker
 * that still touches the segment gets an {@link IllegalStateException} instead of a fault, and the mapping is unmapped.
 */
final class ClientSession {

    final long id;
    final Credentials credentials;
    final ChannelLayout layout;
    final MemorySegment segment;
    final Arena arena;
    final int socketFd;
    final OpenFileTable files;
    final long connectedAtMillis;
    /**
     * Offset of the segment's change-event area ({@link ChangeEventsDescriptor}), or -1 for none. Known from the
     * server's own mapping (what the segment holds beyond its layout), never from the header the client can write.
     */
    final long eventArea;
    /** Bytes of the change-event ring, 0 without an area. */
    final int eventRingBytes;
    /** The client's session token (both zero: none, the client is not recoverable). */
    final long tokenHigh;

    final long tokenLow;
    /** Set once the file system confirmed the token belongs to this client's uid. */
    volatile boolean tokenClaimed;

    final LongAdder requestsServed = new LongAdder();
    /** Requests of this client executing now, across workers ({@link FairShare}). */
    final AtomicInteger executing = new AtomicInteger();
    /** Requests that waited in their slot because the client was at its {@link FairShare} (each counted once). */
    final LongAdder throttled = new LongAdder();
    /** Bit i: lane worker i left requests of this client waiting and wants a wake-up when its share frees up. */
    final AtomicLong waitingWorkers = new AtomicLong();

    private final AtomicBoolean released = new AtomicBoolean();

    ClientSession(
            long id,
            Credentials credentials,
            ChannelLayout layout,
            MemorySegment segment,
            Arena arena,
            int socketFd,
            int maxOpenFiles,
            long connectedAtMillis) {
        this(id, credentials, layout, segment, arena, socketFd, maxOpenFiles, connectedAtMillis, 0, 0);
    }

    ClientSession(
            long id,
            Credentials credentials,
            ChannelLayout layout,
            MemorySegment segment,
            Arena arena,
            int socketFd,
            int maxOpenFiles,
            long connectedAtMillis,
            long tokenHigh,
            long tokenLow) {
        this.tokenHigh = tokenHigh;
        this.tokenLow = tokenLow;
        this.id = id;
        this.connectedAtMillis = connectedAtMillis;
        this.credentials = credentials;
        this.layout = layout;
        this.segment = segment;
        this.arena = arena;
        this.socketFd = socketFd;
        this.files = new OpenFileTable(maxOpenFiles);
        long extra = segment.byteSize() - layout.segmentBytes();
        boolean events = ChangeEventsDescriptor.validAreaBytes(extra);
        this.eventArea = events ? layout.segmentBytes() : -1;
        this.eventRingBytes = events ? (int) (extra - ChangeEventsDescriptor.RING_OFFSET) : 0;
    }

    /**
     * Bulk requests whose data the file system is copying into or out of this segment right now. The segment is not
     * unmapped while any is (a copy that met an unmapped segment would fail inside the file system, mid-operation).
     */
    private final AtomicInteger bulkCopies = new AtomicInteger();

    /** True if the client presented a session token: its recorded requests are answered at most once. */
    boolean hasToken() {
        return tokenHigh != 0 || tokenLow != 0;
    }

    /** True until the session is released; workers skip released sessions. */
    boolean isOpen() {
        return !released.get();
    }

    /**
     * Before the file system touches the segment itself: false (nothing held) if the session is released already.
     * The increment before the check, and {@link #markReleased} before {@link #awaitNoBulkCopies}'s read: one of the
     * two sides always sees the other.
     */
    boolean beginBulkCopy() {
        bulkCopies.incrementAndGet();
        if (released.get()) {
            bulkCopies.decrementAndGet();
            return false;
        }
        return true;
    }

    void endBulkCopy() {
        bulkCopies.decrementAndGet();
    }

    /** After {@link #markReleased}: waits until no bulk copy runs, at most {@code maxNanos}; false if one still does. */
    boolean awaitNoBulkCopies(long maxNanos) {
        long deadline = System.nanoTime() + maxNanos;
        while (bulkCopies.get() != 0) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            LockSupport.parkNanos(50_000);
        }
        return true;
    }

    /** Marks the session released; true only for the one caller that does it. */
    boolean markReleased() {
        return released.compareAndSet(false, true);
    }

    @Override
    public String toString() {
        return "client " + id + " (" + credentials + ")";
    }
}
