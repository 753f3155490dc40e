package org.fsp.api.channel;

/**
 * One slot of a lane: a state word, the request written by the client, and the response written by the server. The
 * slot's data buffer lies elsewhere in the lane ({@link ChannelLayout#dataOffset}); it carries paths (the first of
 * {@code path1Length} bytes, the second right after), write data, and replies (read data, attributes, entries).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |   State (futex word: EMPTY, SUBMITTED, COMPLETED | WAITER)    |  0
 *  +---------------------------------------------------------------+
 *  |                            Opcode                             |  4
 *  +---------------------------------------------------------------+
 *  |                     Handle (64 bits)                          |  8
 *  +---------------------------------------------------------------+
 *  |                Offset (64 bits, bytes in the file)            | 16
 *  +---------------------------------------------------------------+
 *  |           Length (64 bits, bytes; new size for truncate)      | 24
 *  +---------------------------------------------------------------+
 *  |                  Flags (open flags)                           | 32
 *  +---------------------------------------------------------------+
 *  |                  Mode (permission bits)                       | 36
 *  +---------------------------------------------------------------+
 *  |     Arg0 (64 bits: uid, atime ns, readdir cookie)             | 40
 *  +---------------------------------------------------------------+
 *  |     Arg1 (64 bits: gid, mtime ns, readdir max entries)        | 48
 *  +---------------------------------------------------------------+
 *  |              Path 1 length (bytes in data)                    | 56
 *  +---------------------------------------------------------------+
 *  |              Path 2 length (bytes in data, after path 1)      | 60
 *  +===============================================================+
 *  |    Result (64 bits: >= 0 value, < 0 minus the errno)          | 64
 *  +---------------------------------------------------------------+
 *  |               Payload length (bytes in data)                  | 72
 *  +---------------------------------------------------------------+
 *  |                   padding                                     | 76
 *  +===============================================================+
 *  |    Sequence (64 bits: client sequence of a recorded request,  | 80
 *  |              0 for a request that is not recorded)            |
 *  +---------------------------------------------------------------+
 *  |    Record key (the client's key for the sequence's record)    | 88
 *  +---------------------------------------------------------------+
 *  |                   padding                                     | 92
 *  +===============================================================+
 *  |    Position (64 bits: the handle's position after a read or   | 96
 *  |              write; for an O_APPEND write where it ended)     |
 *  +---------------------------------------------------------------+
 *  |    Completed at (64 bits: the server's CLOCK_MONOTONIC, ns,   | 104
 *  |              when it answered; 0 from older servers)          |
 *  +---------------------------------------------------------------+
 *  |    Lease (64 bits, minor 2: a PREAD's read lease, generation  | 112
 *  |              shifted left 8 bits, or the word index; 0: none) |
 *  +---------------------------------------------------------------+
 *  |                   ... padding to 128 bytes ...                |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>State machine: the client owns an {@link #EMPTY} slot, fills it and publishes {@link #SUBMITTED} with a release
 * store; the server sees it with an acquire load, copies the request out, executes it, writes the response and
 * publishes {@link #COMPLETED} with an atomic swap (release); the client reads the response after an acquire load and
 * returns the slot to {@link #EMPTY}. A client that stops spinning sets {@link #WAITER} in the state word and sleeps
 * on it; the server's swap returns the old word, and only when it holds WAITER does the server call futex wake.
 * Request and response share the slot but are never in use at the same time, so they need no separate cache lines.
 *
 * <p>Sequence and record key (channel minor version 1) belong to the request although they lie after the response
 * fields: a server copies them out with the rest ({@link #REQUEST_COPY_BYTES}). A request whose sequence is not zero
 * is answered at most once per (session token, key, sequence): see {@code docs/recovery.md}.
 */
public final class SlotDescriptor {

    public static final int STATE_OFFSET;
    public static final int OPCODE_OFFSET;
    public static final int HANDLE_OFFSET;
    public static final int OFFSET_OFFSET;
    public static final int LENGTH_OFFSET;
    public static final int FLAGS_OFFSET;
    public static final int MODE_OFFSET;
    public static final int ARG0_OFFSET;
    public static final int ARG1_OFFSET;
    public static final int PATH1_LENGTH_OFFSET;
    public static final int PATH2_LENGTH_OFFSET;
    /** Bytes of the request part, which the server copies out as a whole before reading any field. */
    public static final int REQUEST_BYTES;

    public static final int RESULT_OFFSET;
    public static final int PAYLOAD_LENGTH_OFFSET;
    /** Client sequence number of a recorded request (64 bits), 0 when not recorded. */
    public static final int SEQUENCE_OFFSET;
    /** The client's record key for {@link #SEQUENCE_OFFSET} (32 bits, 0 to {@link #RECORD_KEYS} - 1). */
    public static final int RECORD_KEY_OFFSET;
    /** Response: the handle's position after a read or write, bytes (64 bits). */
    public static final int POSITION_OFFSET;
    /**
     * Response: when the server answered, ns of CLOCK_MONOTONIC (Java's {@code System.nanoTime()} on Linux, one clock
     * for every process of the machine); 0 from a server that does not write it. A client that slept learns from it
     * how soon the answer came, without the wake-up's own delay.
     */
    public static final int COMPLETED_AT_OFFSET;
    /**
     * Response (minor 2): the read lease a PREAD that asked for one was granted ({@link ChannelHeaderDescriptor}):
     * {@code generation << 8 | word}, or 0 for none.
     */
    public static final int LEASE_OFFSET;
    /** Bytes of the header a server copies out before reading any request field: request, sequence and key. */
    public static final int REQUEST_COPY_BYTES;
    /** Record keys one session may use. */
    public static final int RECORD_KEYS = 4096;

    public static final int SLOT_HEADER_BYTES = 2 * ChannelLayout.CACHE_LINE_BYTES;

    public static final int EMPTY = 0;
    public static final int SUBMITTED = 1;
    public static final int COMPLETED = 2;
    /** Or-ed into the state by a client that sleeps on the word. */
    public static final int WAITER = 0x100;
    /** The state without the waiter bit. */
    public static final int STATE_MASK = 0xFF;

    static {
        int offset = 0;
        STATE_OFFSET = offset;
        offset += 4;
        OPCODE_OFFSET = offset;
        offset += 4;
        HANDLE_OFFSET = offset;
        offset += 8;
        OFFSET_OFFSET = offset;
        offset += 8;
        LENGTH_OFFSET = offset;
        offset += 8;
        FLAGS_OFFSET = offset;
        offset += 4;
        MODE_OFFSET = offset;
        offset += 4;
        ARG0_OFFSET = offset;
        offset += 8;
        ARG1_OFFSET = offset;
        offset += 8;
        PATH1_LENGTH_OFFSET = offset;
        offset += 4;
        PATH2_LENGTH_OFFSET = offset;
        offset += 4;
        REQUEST_BYTES = offset;
        RESULT_OFFSET = offset;
        offset += 8;
        PAYLOAD_LENGTH_OFFSET = offset;
        offset += 4;
        offset += 4; // padding to 8
        SEQUENCE_OFFSET = offset;
        offset += 8;
        RECORD_KEY_OFFSET = offset;
        offset += 4;
        offset += 4; // padding to 8
        REQUEST_COPY_BYTES = offset;
        POSITION_OFFSET = offset;
        offset += 8;
        COMPLETED_AT_OFFSET = offset;
        offset += 8;
        LEASE_OFFSET = offset;
    }

    /** The lease word index of a {@link #LEASE_OFFSET} value. */
    public static int leaseWord(long lease) {
        return (int) (lease & 0xFF);
    }

    /** The generation of a {@link #LEASE_OFFSET} value. */
    public static long leaseGeneration(long lease) {
        return lease >>> 8;
    }

    /** The {@link #LEASE_OFFSET} value for {@code generation} in word {@code word}. */
    public static long lease(long generation, int word) {
        return (generation << 8) | word;
    }

    private SlotDescriptor() {}
}
