package org.fsp.api.channel;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.api.channel.SlotDescriptor.*;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Reads and writes the response part of a slot ({@link SlotDescriptor}) and completes it. The server writes result
 * and payload length, then {@link #complete}; the client reads them after its acquire load saw COMPLETED. Not
 * thread-safe: one flyweight per thread.
 */
public final class ResponseFlyweight {

    private static final VarHandle INT = JAVA_INT.varHandle();

    private MemorySegment segment;
    private long base;

    /** Points this flyweight at the slot header that starts at {@code offset}. */
    public ResponseFlyweight wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.base = offset;
        return this;
    }

    /** Result: the value (>= 0) or minus the errno. */
    public long result() {
        return segment.get(JAVA_LONG, base + RESULT_OFFSET);
    }

    public ResponseFlyweight result(long v) {
        segment.set(JAVA_LONG, base + RESULT_OFFSET, v);
        return this;
    }

    /** Bytes of payload the server wrote to the data buffer. */
    public int payloadLength() {
        return segment.get(JAVA_INT, base + PAYLOAD_LENGTH_OFFSET);
    }

    public ResponseFlyweight payloadLength(int v) {
        segment.set(JAVA_INT, base + PAYLOAD_LENGTH_OFFSET, v);
        return this;
    }

    /** The handle's position after a read or write, bytes. */
    public long position() {
        return segment.get(JAVA_LONG, base + POSITION_OFFSET);
    }

    public ResponseFlyweight position(long v) {
        segment.set(JAVA_LONG, base + POSITION_OFFSET, v);
        return this;
    }

    /** When the server answered, ns of CLOCK_MONOTONIC; 0 from a server that does not say. */
    public long completedAt() {
        return segment.get(JAVA_LONG, base + COMPLETED_AT_OFFSET);
    }

    public ResponseFlyweight completedAt(long v) {
        segment.set(JAVA_LONG, base + COMPLETED_AT_OFFSET, v);
        return this;
    }

    /** A PREAD's read lease ({@link SlotDescriptor#LEASE_OFFSET}); 0 for none. */
    public long lease() {
        return segment.get(JAVA_LONG, base + LEASE_OFFSET);
    }

    public ResponseFlyweight lease(long v) {
        segment.set(JAVA_LONG, base + LEASE_OFFSET, v);
        return this;
    }

    /**
     * Publishes the response: an atomic swap to COMPLETED, which is a release (the client that reads COMPLETED reads
     * the result and payload written before) and returns the previous word, so the caller learns whether a client
     * sleeps on it ({@link SlotDescriptor#WAITER}) and must be woken.
     */
    public int complete() {
        return (int) INT.getAndSet(segment, base + STATE_OFFSET, COMPLETED);
    }
}
