package org.fsp.api.channel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The change-event area of a channel segment (minor 3): a one-to-one ring in which the server tells the client of
 * changes in the directories it watches ({@link ChannelOpcodes#WATCH_ADD}), so that a {@code WatchService} needs no
 * polling. It follows the bulk area ({@link ChannelLayout#segmentBytes()}), only for a client whose hello said minor 3
 * or later; the welcome says so ({@link HandshakeDescriptor#FEATURE_CHANGE_EVENTS}) and the header gives its bytes
 * ({@link ChannelHeaderDescriptor#EVENT_BYTES_OFFSET}). Offsets below are from the area's start.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |        Head (64 bits: bytes ever written; server writes)      |    0
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |        Wake sequence (futex word; server bumps and wakes)     |    8
 *  +---------------------------------------------------------------+
 *  |        Overflow (1: an event did not fit; client clears)      |   12
 *  +---------------------------------------------------------------+
 *  |        Epoch (server bumps when it forgot the watches)        |   16
 *  +---------------------------------------------------------------+
 *  |                    ... padding to 128 ...                     |
 *  +---------------------------------------------------------------+
 *  |        Tail (64 bits: bytes consumed; client writes,          |  128
 *  |        own cache lines)                                       |
 *  +---------------------------------------------------------------+
 *  |        Waiting (1: the client sleeps on the wake sequence)    |  136
 *  +---------------------------------------------------------------+
 *  |                    ... padding to 4096 ...                    |
 *  +---------------------------------------------------------------+
 *  |        Ring of records, ring bytes (a power of two)           | 4096
 *  +---------------------------------------------------------------+
 *
 *  record (8-byte aligned, never wraps the ring's end):
 *  +---------------------------------------------------------------+
 *  |                    Record bytes (with padding)                |  0
 *  +---------------------------------------------------------------+
 *  |                    Watch id (0: padding record)               |  4
 *  +-------------------------------+-------------------------------+
 *  |             Kind              |        Name length (bytes)    |  8
 *  +-------------------------------+-------------------------------+
 *  |                    Name (UTF-8) ... pad to 8                  | 12
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Protocol: the server writes a record at {@code head mod ring bytes}, a padding record first where the record
 * would cross the ring's end, and publishes the new head with a release store. It never trusts the tail: a tail behind
 * {@code head - ring bytes} or ahead of the head counts as a full ring, so a hostile client only loses its own events.
 * An event that does not fit sets the overflow word instead. Waking is a Dekker pair: the server publishes the head,
 * fences and, if the waiting word is set, bumps the wake sequence and wakes it (a shared futex: two processes map the
 * word); the client reads the wake sequence, sets waiting, fences, re-reads the head and only then sleeps on the
 * sequence. A padding record has watch id 0 and may be just 8 bytes (the record bytes to the ring's end).
 *
 * <p>The epoch changes when the server forgot the session's watches (an ipc-shm hand-over to a new version, a change
 * of file system): the client then registers its watches again, and reports that events may have been lost.
 */
public final class ChangeEventsDescriptor {

    /** The first channel minor version with change events. */
    public static final int MINOR_VERSION = 3;

    public static final int HEAD_OFFSET;
    public static final int WAKE_SEQUENCE_OFFSET;
    public static final int OVERFLOW_OFFSET;
    public static final int EPOCH_OFFSET;
    /** The client's consumed bytes, on cache lines of its own (adjacent-line prefetch: two lines from the head). */
    public static final int TAIL_OFFSET;

    public static final int WAITING_OFFSET;
    /** Where the ring starts: the area's second page. */
    public static final int RING_OFFSET = ChannelLayout.PAGE_BYTES;
    /** The ring's bytes a server of this version gives: about 4000 events of short names. */
    public static final int RING_BYTES = 64 * 1024;
    /** The area's bytes a server of this version gives. */
    public static final int AREA_BYTES = RING_OFFSET + RING_BYTES;
    /** The largest ring either side accepts, bytes. */
    public static final int MAX_RING_BYTES = 16 << 20;

    public static final int RECORD_BYTES_OFFSET = 0;
    public static final int RECORD_WATCH_OFFSET = 4;
    public static final int RECORD_KIND_OFFSET = 8;
    public static final int RECORD_NAME_LENGTH_OFFSET = 10;
    public static final int RECORD_NAME_OFFSET = 12;
    public static final int RECORD_ALIGNMENT = 8;
    /** The longest name a record carries, bytes (NAME_MAX). */
    public static final int MAX_NAME_BYTES = 255;

    /** Kind of a padding record: skip to the ring's start. */
    public static final int PADDING = 0;
    /** A name was made in the watched directory (create, mkdir, link, symlink, rename into it). */
    public static final int CREATE = 1;
    /** A name of the watched directory went (unlink, rmdir, rename out of it). */
    public static final int DELETE = 2;
    /** The inode a name of the watched directory refers to changed (data or attributes). */
    public static final int MODIFY = 3;
    /** The watched directory itself was removed: the watch is gone, no event follows for it. */
    public static final int GONE = 4;

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final VarHandle LONG = JAVA_LONG.varHandle();

    static {
        int offset = 0;
        HEAD_OFFSET = offset;
        offset += 8;
        WAKE_SEQUENCE_OFFSET = offset;
        offset += 4;
        OVERFLOW_OFFSET = offset;
        offset += 4;
        EPOCH_OFFSET = offset;
        offset = 2 * ChannelLayout.CACHE_LINE_BYTES;
        TAIL_OFFSET = offset;
        offset += 8;
        WAITING_OFFSET = offset;
    }

    private ChangeEventsDescriptor() {}

    /** Whether {@code areaBytes} is an area this side can use: a header page and a power-of-two ring. */
    public static boolean validAreaBytes(long areaBytes) {
        long ring = areaBytes - RING_OFFSET;
        return ring >= ChannelLayout.PAGE_BYTES && ring <= MAX_RING_BYTES && Long.bitCount(ring) == 1;
    }

    /** The bytes of a record carrying a name of {@code nameLength} bytes, padding included. */
    public static int recordBytes(int nameLength) {
        return (RECORD_NAME_OFFSET + nameLength + RECORD_ALIGNMENT - 1) & -RECORD_ALIGNMENT;
    }

    /** The head as the server last published it (an acquire load: the records before it are written). */
    public static long head(MemorySegment segment, long area) {
        return (long) LONG.getAcquire(segment, area + HEAD_OFFSET);
    }

    /** Publishes the head (a release store, after the records it covers); the server only. */
    public static void head(MemorySegment segment, long area, long head) {
        LONG.setRelease(segment, area + HEAD_OFFSET, head);
    }

    /** The tail as the client last stored it (an acquire load); untrusted on the server. */
    public static long tail(MemorySegment segment, long area) {
        return (long) LONG.getAcquire(segment, area + TAIL_OFFSET);
    }

    /** Gives consumed bytes back (a release store, after the records were read); the client only. */
    public static void tail(MemorySegment segment, long area, long tail) {
        LONG.setRelease(segment, area + TAIL_OFFSET, tail);
    }

    public static int wakeSequence(MemorySegment segment, long area) {
        return (int) INT.getVolatile(segment, area + WAKE_SEQUENCE_OFFSET);
    }

    /** Bumps the wake sequence (the server, before it wakes the word). */
    public static void bumpWakeSequence(MemorySegment segment, long area) {
        INT.getAndAdd(segment, area + WAKE_SEQUENCE_OFFSET, 1);
    }

    /** The wake sequence word, for a futex call. */
    public static MemorySegment wakeWord(MemorySegment segment, long area) {
        return segment.asSlice(area + WAKE_SEQUENCE_OFFSET, 4);
    }

    /** Whether the client sleeps or is about to (a volatile load: the server's half of the Dekker pair). */
    public static boolean waiting(MemorySegment segment, long area) {
        return (int) INT.getVolatile(segment, area + WAITING_OFFSET) != 0;
    }

    /** Sets or clears the waiting word (a volatile store: the client's half of the Dekker pair). */
    public static void waiting(MemorySegment segment, long area, boolean waiting) {
        INT.setVolatile(segment, area + WAITING_OFFSET, waiting ? 1 : 0);
    }

    /** Marks that an event did not fit (the server). */
    public static void setOverflow(MemorySegment segment, long area) {
        INT.setVolatile(segment, area + OVERFLOW_OFFSET, 1);
    }

    /** Whether an event was lost since the last call, clearing the mark (the client). */
    public static boolean takeOverflow(MemorySegment segment, long area) {
        return (int) INT.getAndSet(segment, area + OVERFLOW_OFFSET, 0) != 0;
    }

    public static int epoch(MemorySegment segment, long area) {
        return (int) INT.getAcquire(segment, area + EPOCH_OFFSET);
    }

    /** Bumps the epoch: the server forgot this session's watches. */
    public static void bumpEpoch(MemorySegment segment, long area) {
        INT.getAndAdd(segment, area + EPOCH_OFFSET, 1);
    }

    /**
     * Writes a record at byte {@code at} of the ring (from {@link #RING_OFFSET}); the caller checked it fits before
     * the ring's end. {@code name} is UTF-8, at most {@link #MAX_NAME_BYTES}. Returns the record's bytes.
     */
    public static int putRecord(MemorySegment segment, long area, int at, int watchId, int kind, byte[] name) {
        long r = area + RING_OFFSET + at;
        int bytes = recordBytes(name.length);
        segment.set(JAVA_INT, r + RECORD_BYTES_OFFSET, bytes);
        segment.set(JAVA_INT, r + RECORD_WATCH_OFFSET, watchId);
        segment.set(JAVA_SHORT, r + RECORD_KIND_OFFSET, (short) kind);
        segment.set(JAVA_SHORT, r + RECORD_NAME_LENGTH_OFFSET, (short) name.length);
        MemorySegment.copy(name, 0, segment, JAVA_BYTE, r + RECORD_NAME_OFFSET, name.length);
        return bytes;
    }

    /** Writes a padding record of {@code bytes} (at least 8) at byte {@code at} of the ring, up to its end. */
    public static void putPadding(MemorySegment segment, long area, int at, int bytes) {
        long r = area + RING_OFFSET + at;
        segment.set(JAVA_INT, r + RECORD_BYTES_OFFSET, bytes);
        segment.set(JAVA_INT, r + RECORD_WATCH_OFFSET, 0);
    }

    public static int recordBytesAt(MemorySegment segment, long area, int at) {
        return segment.get(JAVA_INT, area + RING_OFFSET + at + RECORD_BYTES_OFFSET);
    }

    public static int watchIdAt(MemorySegment segment, long area, int at) {
        return segment.get(JAVA_INT, area + RING_OFFSET + at + RECORD_WATCH_OFFSET);
    }

    public static int kindAt(MemorySegment segment, long area, int at) {
        return Short.toUnsignedInt(segment.get(JAVA_SHORT, area + RING_OFFSET + at + RECORD_KIND_OFFSET));
    }

    public static int nameLengthAt(MemorySegment segment, long area, int at) {
        return Short.toUnsignedInt(segment.get(JAVA_SHORT, area + RING_OFFSET + at + RECORD_NAME_LENGTH_OFFSET));
    }

    /** Copies the name of the record at {@code at} out ({@code length} bytes, checked by the caller). */
    public static byte[] nameAt(MemorySegment segment, long area, int at, int length) {
        byte[] name = new byte[length];
        MemorySegment.copy(segment, JAVA_BYTE, area + RING_OFFSET + at + RECORD_NAME_OFFSET, name, 0, length);
        return name;
    }
}
