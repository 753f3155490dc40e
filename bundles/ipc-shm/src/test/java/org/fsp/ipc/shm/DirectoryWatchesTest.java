package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The change-event ring as the server writes it, decoded as a client reads it, and the checks of WATCH_ADD. */
class DirectoryWatchesTest {

    @TempDir
    Path dir;

    private static ClientSession session(boolean withEvents) {
        ChannelLayout layout = ChannelLayout.of(1, 64, 8192);
        Arena arena = Arena.ofShared();
        MemorySegment seg =
                arena.allocate(layout.segmentBytes() + (withEvents ? ChangeEventsDescriptor.AREA_BYTES : 0), 4096);
        return new ClientSession(1, Credentials.ROOT, layout, seg, arena, -1, 16, 0);
    }

    /** A record as a client decodes it. */
    private record Event(int watch, int kind, String name) {}

    @Test
    void shouldWriteRecordsThatDecodeInOrderAcrossManyWrapsOfTheRing() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        ClientSession s = session(true);
        DirectoryWatches.Ring r = new DirectoryWatches.Ring(s);
        MemorySegment seg = s.segment;
        long area = s.eventArea;
        List<Event> written = new ArrayList<>();
        List<Event> read = new ArrayList<>();
        long tail = 0;
        for (int i = 0; i < 50_000; i++) {
            String name = "n".repeat(rnd.nextInt(1, 256)) + i;
            name = name.substring(0, Math.min(255, name.length()));
            Event e = new Event(1 + rnd.nextInt(5), ChangeEventsDescriptor.CREATE + rnd.nextInt(3), name);
            if (DirectoryWatches.append(r, e.watch(), e.kind(), e.name())) {
                written.add(e);
            } else {
                // Full: the client reads everything, then the event fits.
                tail = drain(seg, area, tail, read);
                assertTrue(ChangeEventsDescriptor.takeOverflow(seg, area), "seed " + seed);
                assertTrue(DirectoryWatches.append(r, e.watch(), e.kind(), e.name()), "seed " + seed);
                written.add(e);
            }
            if (rnd.nextInt(50) == 0) {
                tail = drain(seg, area, tail, read);
            }
        }
        drain(seg, area, tail, read);
        assertTrue(ChangeEventsDescriptor.head(seg, area) > 10L * ChangeEventsDescriptor.RING_BYTES);
        assertEquals(merged(written), read, "seed " + seed);
    }

    /** What the ring keeps of {@code written}: consecutive unread equal MODIFYs are one; here none are consecutive. */
    private static List<Event> merged(List<Event> written) {
        List<Event> out = new ArrayList<>();
        for (Event e : written) {
            if (!out.isEmpty()
                    && e.kind() == ChangeEventsDescriptor.MODIFY
                    && out.getLast().equals(e)) {
                continue;
            }
            out.add(e);
        }
        return out;
    }

    /** Reads every record from {@code tail} to the head as FS Lib does, skipping padding; returns the new tail. */
    private static long drain(MemorySegment seg, long area, long tail, List<Event> out) {
        long head = ChangeEventsDescriptor.head(seg, area);
        while (tail < head) {
            int at = (int) (tail % ChangeEventsDescriptor.RING_BYTES);
            int bytes = ChangeEventsDescriptor.recordBytesAt(seg, area, at);
            assertTrue(bytes >= 8 && bytes % 8 == 0 && at + bytes <= ChangeEventsDescriptor.RING_BYTES, "" + bytes);
            int watch = ChangeEventsDescriptor.watchIdAt(seg, area, at);
            if (watch != 0) {
                int length = ChangeEventsDescriptor.nameLengthAt(seg, area, at);
                assertEquals(ChangeEventsDescriptor.recordBytes(length), bytes);
                out.add(new Event(
                        watch,
                        ChangeEventsDescriptor.kindAt(seg, area, at),
                        new String(ChangeEventsDescriptor.nameAt(seg, area, at, length), StandardCharsets.UTF_8)));
            }
            tail += bytes;
        }
        assertEquals(head, tail);
        ChangeEventsDescriptor.tail(seg, area, tail);
        return tail;
    }

    @Test
    void shouldMergeAModifyOfTheSameNameOnlyWhileTheFirstIsUnread() {
        ClientSession s = session(true);
        DirectoryWatches.Ring r = new DirectoryWatches.Ring(s);
        assertTrue(DirectoryWatches.append(r, 1, ChangeEventsDescriptor.MODIFY, "f"));
        long head = ChangeEventsDescriptor.head(s.segment, s.eventArea);
        assertTrue(DirectoryWatches.append(r, 1, ChangeEventsDescriptor.MODIFY, "f"));
        assertEquals(head, ChangeEventsDescriptor.head(s.segment, s.eventArea), "merged with the unread one");
        assertTrue(DirectoryWatches.append(r, 2, ChangeEventsDescriptor.MODIFY, "f"));
        assertTrue(ChangeEventsDescriptor.head(s.segment, s.eventArea) > head, "another watch's is its own");
        head = ChangeEventsDescriptor.head(s.segment, s.eventArea);
        ChangeEventsDescriptor.tail(s.segment, s.eventArea, head);
        assertTrue(DirectoryWatches.append(r, 2, ChangeEventsDescriptor.MODIFY, "f"));
        assertTrue(ChangeEventsDescriptor.head(s.segment, s.eventArea) > head, "read already: a new record");
    }

    @Test
    void shouldRefuseWatchesWithTheErrnoInotifyGives() throws Exception {
        try (FsCoreBehindServer served = new FsCoreBehindServer(dir)) {
            DirectoryWatches w = new DirectoryWatches();
            w.listeningTo(served.fs);
            served.fs.addChangeListener(w);
            ClientSession s = session(true);
            served.fs.mkdir(Credentials.ROOT, "/private", 0700);
            Credentials stranger = new Credentials(1, 1000, 1000, new int[0]);
            assertEquals(Errno.EACCES, errno(() -> w.add(s, served.fs, stranger, "/private")));
            assertEquals(
                    Errno.EOPNOTSUPP,
                    errno(() -> w.add(session(false), served.fs, Credentials.ROOT, "/private")),
                    "a session without an event area");
            assertEquals(1, w.add(s, served.fs, Credentials.ROOT, "/private"));
            assertEquals(1, w.add(s, served.fs, Credentials.ROOT, "/private"), "the same directory: the same id");
            for (int i = 1; i < DirectoryWatches.MAX_WATCHES_PER_SESSION; i++) {
                served.fs.mkdir(Credentials.ROOT, "/d" + i, 0755);
                w.add(s, served.fs, Credentials.ROOT, "/d" + i);
            }
            served.fs.mkdir(Credentials.ROOT, "/one-too-many", 0755);
            assertEquals(Errno.ENOSPC, errno(() -> w.add(s, served.fs, Credentials.ROOT, "/one-too-many")));
            w.sessionEnded(s);
            assertEquals(0, w.held());
            assertFalse(ChangeEventsDescriptor.takeOverflow(s.segment, s.eventArea));
        }
    }

    private interface FsCall {
        void run() throws FsException;
    }

    private static Errno errno(FsCall call) {
        return assertThrows(FsException.class, call::run).errno();
    }
}
