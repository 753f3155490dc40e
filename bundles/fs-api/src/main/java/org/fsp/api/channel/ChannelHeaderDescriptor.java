package org.fsp.api.channel;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

/**
 * The first page of every channel segment: what it is, which version of this format, and its geometry. Written once
 * by the server before the descriptor is passed; the {@code serverState} word, on its own cache line, and the server
 * CPU mask, which changes only when the server's workers do, are the only fields that change later.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                        Magic ("FSPCHAN1")                     |  0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |        Major version          |         Minor version         |  8
 *  +---------------------------------------------------------------+
 *  |                         Lane count                            | 12
 *  +---------------------------------------------------------------+
 *  |                        Slots per lane                         | 16
 *  +---------------------------------------------------------------+
 *  |                    Slot data bytes (per slot)                 | 20
 *  +---------------------------------------------------------------+
 *  |                     Segment bytes (64 bits)                   | 24
 *  +---------------------------------------------------------------+
 *  |                      Client id (64 bits)                      | 32
 *  +---------------------------------------------------------------+
 *  |                          Server pid                           | 40
 *  +---------------------------------------------------------------+
 *  |           Bulk bytes (minor 1; 0 from a minor-0 server)        | 44
 *  +---------------------------------------------------------------+
 *  |      Server CPUs (64-bit mask; 0 from an older server)         | 48
 *  +---------------------------------------------------------------+
 *  |   Change-event area bytes (minor 3; 0: none, or older server)  | 56
 *  +---------------------------------------------------------------+
 *  |                        ... padding ...                        | 60..63
 *  +---------------------------------------------------------------+
 *  |      Server state (own cache line; written by the server)     | 64
 *  +---------------------------------------------------------------+
 *  |   Client wakers (own cache line; written by the client)       | 128
 *  +---------------------------------------------------------------+
 *  |   Client waker heartbeat (64 bits, CLOCK_MONOTONIC ns)         | 136
 *  +---------------------------------------------------------------+
 *  |                        ... padding ...                        |
 *  +---------------------------------------------------------------+
 *  |   Read lease words (minor 2): 256 x 64 bits, written by the   | 2048
 *  |   server; 0 = no lease, else the lease's generation           |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Read leases (minor 2): a PREAD that asks for one ({@link ChannelOpcodes#PREAD_WANTS_LEASE}) may be granted a
 * lease word, whose generation the answer names ({@link SlotDescriptor#LEASE_OFFSET}). While the word still holds that
 * generation no other caller has changed the file since the read, so the client may answer later reads of the data
 * it got from memory. The server clears the word (a release store) before it answers a call that changes the file's
 * data, so a read that starts after such a call returned finds the lease gone. The words are in memory the client
 * can write: a client that forges one only misleads itself.
 *
 * <p>Change events (minor 3): a segment of a client that said hello with minor 3 or later ends with a change-event
 * area ({@link ChangeEventsDescriptor}) of {@link #EVENT_BYTES_OFFSET} bytes after the bulk area; the segment bytes
 * count it.
 */
public final class ChannelHeaderDescriptor {

    /** "FSPCHAN1" in ASCII, big-endian reading. */
    public static final long MAGIC = 0x4653_5043_4841_4E31L;
    /** The major version of this format: a reader refuses any other major. */
    public static final int MAJOR_VERSION = 1;
    /**
     * The minor version: additions a reader of the same major may ignore. 1 added the bulk area and the session token,
     * 2 read leases, 3 change events.
     */
    public static final int MINOR_VERSION = 3;
    /** The first minor version with read leases. */
    public static final int LEASES_MINOR_VERSION = 2;
    /** Where the read lease words start: the second half of the header page. */
    public static final int LEASES_OFFSET = 2048;
    /** Read lease words in the header. */
    public static final int LEASE_WORDS = 256;

    public static final int MAGIC_OFFSET;
    public static final int VERSION_OFFSET;
    public static final int LANE_COUNT_OFFSET;
    public static final int SLOTS_PER_LANE_OFFSET;
    public static final int SLOT_DATA_BYTES_OFFSET;
    public static final int SEGMENT_BYTES_OFFSET;
    public static final int CLIENT_ID_OFFSET;
    public static final int SERVER_PID_OFFSET;
    /** Bytes of the bulk area ({@link ChannelLayout#bulkBytes()}); zero in the padding of a minor-0 header. */
    public static final int BULK_BYTES_OFFSET;
    /**
     * Bytes of the change-event area after the bulk area ({@link ChangeEventsDescriptor}); zero in the padding of an
     * older server's header, and for a client that said hello with a minor below 3.
     */
    public static final int EVENT_BYTES_OFFSET;
    /**
     * The CPUs the server's polling workers are pinned to (bit i: CPU i, 0-63), 0 when none is (or an older server):
     * a client thread keeps off them when other CPUs remain, so that a worker and a client never take turns on one
     * CPU. Read by a client thread once, at its first call.
     */
    public static final int SERVER_CPUS_OFFSET;
    /** Server state word: {@link #SERVER_SERVING} or {@link #SERVER_CLOSED}; its own cache line. */
    public static final int SERVER_STATE_OFFSET;
    /**
     * Client waker count: how many of the client's threads are spinning now and wake the client's sleeping threads
     * themselves. While it is above zero the server does not make the futex wake for a completed slot whose waiter
     * sleeps: that system call would run on the server's worker, which on a machine with few cores is the scarce one,
     * while the spinning client thread has nothing better to do. Zero in the padding of an older client's header, so
     * the server then wakes as before; a client that leaves it set wrongly only delays its own sleepers until their
     * sleep times out.
     */
    public static final int CLIENT_WAKERS_OFFSET;
    /**
     * When a client waker last scanned for answered sleepers, {@code System.nanoTime()} (CLOCK_MONOTONIC, the same
     * clock in both processes). The server leaves a wake to the client only while this is recent
     * ({@link #WAKER_STALE_NANOS}): a waker the scheduler has taken off its core would otherwise hold the sleepers up.
     */
    public static final int CLIENT_WAKER_HEARTBEAT_OFFSET;
    /** A waker heartbeat older than this does not count: the server wakes the sleeper itself. */
    public static final long WAKER_STALE_NANOS = 20_000;
    /** Bytes of the header: one page, so that lanes start page-aligned. */
    public static final int HEADER_BYTES = 4096;

    public static final int SERVER_SERVING = 1;
    public static final int SERVER_CLOSED = 2;

    static {
        int offset = 0;
        MAGIC_OFFSET = offset;
        offset += 8;
        VERSION_OFFSET = offset;
        offset += 4;
        LANE_COUNT_OFFSET = offset;
        offset += 4;
        SLOTS_PER_LANE_OFFSET = offset;
        offset += 4;
        SLOT_DATA_BYTES_OFFSET = offset;
        offset += 4;
        SEGMENT_BYTES_OFFSET = offset;
        offset += 8;
        CLIENT_ID_OFFSET = offset;
        offset += 8;
        SERVER_PID_OFFSET = offset;
        offset += 4;
        BULK_BYTES_OFFSET = offset;
        offset += 4;
        SERVER_CPUS_OFFSET = offset;
        offset += 8;
        EVENT_BYTES_OFFSET = offset;
        offset += 4;
        offset = ChannelLayout.CACHE_LINE_BYTES;
        SERVER_STATE_OFFSET = offset;
        offset += ChannelLayout.CACHE_LINE_BYTES;
        CLIENT_WAKERS_OFFSET = offset;
        offset += 8;
        CLIENT_WAKER_HEARTBEAT_OFFSET = offset;
    }

    private ChannelHeaderDescriptor() {}

    private static final java.lang.invoke.VarHandle LONG = JAVA_LONG.varHandle();

    /** Lease word {@code index} as the server last stored it (an acquire load); 0 means no lease. */
    public static long leaseWord(MemorySegment segment, int index) {
        return (long) LONG.getAcquire(segment, (long) LEASES_OFFSET + 8L * index);
    }

    /** Stores lease word {@code index} (a release store); the server only. */
    public static void leaseWord(MemorySegment segment, int index, long generation) {
        LONG.setRelease(segment, (long) LEASES_OFFSET + 8L * index, generation);
    }

    /** The minor version packed in a version word. */
    public static int minorOf(int version) {
        return version & 0xFFFF;
    }

    /** Major and minor packed as written at {@link #VERSION_OFFSET}. */
    public static int version(int major, int minor) {
        return (major << 16) | (minor & 0xFFFF);
    }

    /** Writes the header of a fresh segment without a change-event area. */
    public static void write(MemorySegment segment, ChannelLayout layout, long clientId, int serverPid) {
        write(segment, layout, 0, clientId, serverPid);
    }

    /**
     * Writes the header of a fresh segment whose change-event area has {@code eventBytes} (0: none); the server does
     * this before passing the descriptor.
     */
    public static void write(
            MemorySegment segment, ChannelLayout layout, int eventBytes, long clientId, int serverPid) {
        segment.set(JAVA_LONG, MAGIC_OFFSET, MAGIC);
        segment.set(JAVA_INT, VERSION_OFFSET, version(MAJOR_VERSION, MINOR_VERSION));
        segment.set(JAVA_INT, LANE_COUNT_OFFSET, layout.laneCount());
        segment.set(JAVA_INT, SLOTS_PER_LANE_OFFSET, layout.slotsPerLane());
        segment.set(JAVA_INT, SLOT_DATA_BYTES_OFFSET, layout.slotDataBytes());
        segment.set(JAVA_LONG, SEGMENT_BYTES_OFFSET, layout.segmentBytes() + eventBytes);
        segment.set(JAVA_LONG, CLIENT_ID_OFFSET, clientId);
        segment.set(JAVA_INT, SERVER_PID_OFFSET, serverPid);
        segment.set(JAVA_INT, BULK_BYTES_OFFSET, layout.bulkBytes());
        segment.set(JAVA_INT, EVENT_BYTES_OFFSET, eventBytes);
        segment.set(JAVA_INT, SERVER_STATE_OFFSET, SERVER_SERVING);
    }

    /** Publishes the CPUs the server's workers are pinned to ({@link #SERVER_CPUS_OFFSET}); the server only. */
    public static void publishServerCpus(MemorySegment segment, long mask) {
        segment.set(JAVA_LONG, SERVER_CPUS_OFFSET, mask);
    }

    /** The CPUs the server's workers are pinned to, as last published (0: none). */
    public static long serverCpus(MemorySegment segment) {
        return segment.get(JAVA_LONG, SERVER_CPUS_OFFSET);
    }

    /** The change-event area's bytes as the header declares them (0: none); checked by {@link #check}. */
    public static int eventBytes(MemorySegment segment) {
        return segment.get(JAVA_INT, EVENT_BYTES_OFFSET);
    }

    /**
     * Checks magic and major version and returns the geometry the header declares. Throws
     * {@link IllegalStateException} with a message that says what is wrong, e.g. a major version this reader does not
     * know.
     */
    public static ChannelLayout check(MemorySegment segment) {
        if (segment.byteSize() < HEADER_BYTES) {
            throw new IllegalStateException(
                    "channel segment of " + segment.byteSize() + " bytes has no room for a header");
        }
        long magic = segment.get(JAVA_LONG, MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new IllegalStateException("not an FSP channel segment (magic 0x" + Long.toHexString(magic) + ")");
        }
        checkVersion(segment.get(JAVA_INT, VERSION_OFFSET));
        ChannelLayout layout = ChannelLayout.of(
                segment.get(JAVA_INT, LANE_COUNT_OFFSET),
                segment.get(JAVA_INT, SLOTS_PER_LANE_OFFSET),
                segment.get(JAVA_INT, SLOT_DATA_BYTES_OFFSET),
                segment.get(JAVA_INT, BULK_BYTES_OFFSET));
        long declared = segment.get(JAVA_LONG, SEGMENT_BYTES_OFFSET);
        int events = eventBytes(segment);
        if (events != 0 && !ChangeEventsDescriptor.validAreaBytes(events)) {
            throw new IllegalStateException("channel segment declares a change-event area of " + events + " bytes");
        }
        if (declared != layout.segmentBytes() + events || segment.byteSize() < declared) {
            throw new IllegalStateException("channel segment declares " + declared + " bytes, geometry needs "
                    + layout.segmentBytes() + " and " + events + " of change events, mapped " + segment.byteSize());
        }
        return layout;
    }

    /** Refuses a packed version whose major this reader does not know, saying so. */
    public static void checkVersion(int packed) {
        int major = packed >>> 16;
        if (major != MAJOR_VERSION) {
            throw new IllegalStateException("FSP channel version " + major + "." + (packed & 0xFFFF)
                    + " is not supported: this side knows major version " + MAJOR_VERSION + " only");
        }
    }
}
