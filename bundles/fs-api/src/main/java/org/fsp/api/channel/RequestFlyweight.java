package org.fsp.api.channel;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.api.channel.SlotDescriptor.*;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Reads and writes the request part of a slot ({@link SlotDescriptor}) and its state word. Wrap it over a slot in the
 * shared segment (the client, which writes requests) or over the server's private copy of one (the server, which
 * must never read a field twice from memory the client can change). Not thread-safe: one flyweight per thread.
 */
public final class RequestFlyweight {

    private static final VarHandle INT = JAVA_INT.varHandle();

    private MemorySegment segment;
    private long base;

    /** Points this flyweight at the slot header that starts at {@code offset}. */
    public RequestFlyweight wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.base = offset;
        return this;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long offset() {
        return base;
    }

    /** Acquire load of the state word: what the other side published before its release store is visible after. */
    public int stateAcquire() {
        return (int) INT.getAcquire(segment, base + STATE_OFFSET);
    }

    /**
     * Publishes a filled request: release store, so the server that reads SUBMITTED also reads every field and data
     * byte written before.
     */
    public void publishSubmitted() {
        INT.setRelease(segment, base + STATE_OFFSET, SUBMITTED);
    }

    /** Gives the slot back after the response was read: release, so our reads finish before the slot is reused. */
    public void releaseEmpty() {
        INT.setRelease(segment, base + STATE_OFFSET, EMPTY);
    }

    /** Atomically replaces the state word if it holds {@code expected}; full fence semantics. */
    public boolean compareAndSetState(int expected, int value) {
        return INT.compareAndSet(segment, base + STATE_OFFSET, expected, value);
    }

    public int opcode() {
        return segment.get(JAVA_INT, base + OPCODE_OFFSET);
    }

    public RequestFlyweight opcode(int v) {
        segment.set(JAVA_INT, base + OPCODE_OFFSET, v);
        return this;
    }

    public long handle() {
        return segment.get(JAVA_LONG, base + HANDLE_OFFSET);
    }

    public RequestFlyweight handle(long v) {
        segment.set(JAVA_LONG, base + HANDLE_OFFSET, v);
        return this;
    }

    /** Byte offset in the file. */
    public long fileOffset() {
        return segment.get(JAVA_LONG, base + OFFSET_OFFSET);
    }

    public RequestFlyweight fileOffset(long v) {
        segment.set(JAVA_LONG, base + OFFSET_OFFSET, v);
        return this;
    }

    /** Bytes to read or write, or the new size for truncate. */
    public long length() {
        return segment.get(JAVA_LONG, base + LENGTH_OFFSET);
    }

    public RequestFlyweight length(long v) {
        segment.set(JAVA_LONG, base + LENGTH_OFFSET, v);
        return this;
    }

    public int flags() {
        return segment.get(JAVA_INT, base + FLAGS_OFFSET);
    }

    public RequestFlyweight flags(int v) {
        segment.set(JAVA_INT, base + FLAGS_OFFSET, v);
        return this;
    }

    public int mode() {
        return segment.get(JAVA_INT, base + MODE_OFFSET);
    }

    public RequestFlyweight mode(int v) {
        segment.set(JAVA_INT, base + MODE_OFFSET, v);
        return this;
    }

    public long arg0() {
        return segment.get(JAVA_LONG, base + ARG0_OFFSET);
    }

    public RequestFlyweight arg0(long v) {
        segment.set(JAVA_LONG, base + ARG0_OFFSET, v);
        return this;
    }

    public long arg1() {
        return segment.get(JAVA_LONG, base + ARG1_OFFSET);
    }

    public RequestFlyweight arg1(long v) {
        segment.set(JAVA_LONG, base + ARG1_OFFSET, v);
        return this;
    }

    /** Bytes of path 1 at the start of the data buffer. */
    public int path1Length() {
        return segment.get(JAVA_INT, base + PATH1_LENGTH_OFFSET);
    }

    public RequestFlyweight path1Length(int v) {
        segment.set(JAVA_INT, base + PATH1_LENGTH_OFFSET, v);
        return this;
    }

    /** Bytes of path 2, right after path 1 in the data buffer. */
    public int path2Length() {
        return segment.get(JAVA_INT, base + PATH2_LENGTH_OFFSET);
    }

    public RequestFlyweight path2Length(int v) {
        segment.set(JAVA_INT, base + PATH2_LENGTH_OFFSET, v);
        return this;
    }

    /** Client sequence of a recorded request; 0 when the request is not recorded. */
    public long sequence() {
        return segment.get(JAVA_LONG, base + SEQUENCE_OFFSET);
    }

    public RequestFlyweight sequence(long v) {
        segment.set(JAVA_LONG, base + SEQUENCE_OFFSET, v);
        return this;
    }

    /** The client's record key for {@link #sequence()}. */
    public int recordKey() {
        return segment.get(JAVA_INT, base + RECORD_KEY_OFFSET);
    }

    public RequestFlyweight recordKey(int v) {
        segment.set(JAVA_INT, base + RECORD_KEY_OFFSET, v);
        return this;
    }

    /** Zeroes every request field, so that a reused slot carries nothing from its last request. */
    public RequestFlyweight clear() {
        segment.asSlice(base + OPCODE_OFFSET, REQUEST_BYTES - OPCODE_OFFSET).fill((byte) 0);
        segment.set(JAVA_LONG, base + SEQUENCE_OFFSET, 0L);
        segment.set(JAVA_INT, base + RECORD_KEY_OFFSET, 0);
        return this;
    }
}
