package org.fsp.fs.core.provenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.Credentials;
import org.fsp.fs.core.provenance.ProvenanceTracker.FileProvenance;
import org.fsp.fs.core.provenance.ProvenanceTracker.Process;
import org.junit.jupiter.api.Test;

class ProvenanceTrackerTest {

    private static final Credentials EDITOR = new Credentials(100, 1000, 1000, new int[0]);
    private static final Credentials COMPILER = new Credentials(200, 1001, 1001, new int[0]);

    private final AtomicLong clock = new AtomicLong(1_000);
    private final List<Integer> lookedUp = new ArrayList<>();
    private final ProvenanceTracker tracker = new ProvenanceTracker(clock::get, pid -> {
        lookedUp.add(pid);
        return pid == 100 ? "vim" : pid == 200 ? "cc" : null;
    });

    @Test
    void shouldRecordTheCreatorAndTheLastWriterWithTheirCommandNames() {
        tracker.created(EDITOR, 17);
        clock.set(2_000);
        tracker.written(EDITOR, 17);
        clock.set(3_000);
        tracker.written(COMPILER, 17);

        FileProvenance p = tracker.of(17);
        assertEquals(new Process(100, 1000, "vim"), p.creator());
        assertEquals(1_000, p.createdAtMillis());
        assertEquals(new Process(200, 1001, "cc"), p.lastWriter());
        assertEquals(3_000, p.lastWrittenAtMillis());
    }

    @Test
    void shouldReadACommandNameOncePerProcessNotOncePerWrite() {
        tracker.created(EDITOR, 1);
        for (int k = 0; k < 100; k++) {
            clock.incrementAndGet();
            tracker.written(EDITOR, 1);
            tracker.written(EDITOR, 2);
        }
        assertEquals(List.of(100), lookedUp);
        assertSame(tracker.of(1).lastWriter(), tracker.of(2).lastWriter(), "one record per process");
        assertEquals(clock.get(), tracker.of(2).lastWrittenAtMillis());
    }

    @Test
    void shouldReadTheCommandNameAgainWhenItsPidMayHaveBeenReused() {
        tracker.written(EDITOR, 1);
        clock.addAndGet(ProvenanceTracker.PROCESS_REFRESH_MILLIS);
        tracker.written(COMPILER, 1);
        tracker.written(EDITOR, 1);
        assertEquals(List.of(100, 200, 100), lookedUp);
    }

    @Test
    void shouldKeepPidAndUidOfAProcessThatExitedBeforeItsNameWasRead() {
        Credentials gone = new Credentials(300, 5, 5, new int[0]);
        tracker.written(gone, 9);
        assertEquals(new Process(300, 5, "?"), tracker.of(9).lastWriter());
        assertNull(tracker.of(9).creator(), "created before tracking began");
    }

    @Test
    void shouldForgetAFreedInodeSoThatItsNumberStartsClean() {
        tracker.created(EDITOR, 5);
        tracker.freed(5);
        assertNull(tracker.of(5));
        assertEquals(0, tracker.files());
        tracker.created(COMPILER, 5);
        assertEquals("cc", tracker.of(5).creator().command());
        assertNull(tracker.of(5).lastWriter());
    }

    @Test
    void shouldRoundTripEveryRecordAndTheStartOfTrackingThroughItsBytes() throws IOException {
        tracker.created(EDITOR, 1);
        tracker.written(COMPILER, 1);
        tracker.written(EDITOR, 2);
        tracker.created(COMPILER, 3);
        tracker.created(new Credentials(0, 0, 0, new int[0]), 4);

        ProvenanceTracker next = new ProvenanceTracker(() -> 99_999, pid -> "other");
        next.created(EDITOR, 77);
        next.decode(tracker.encode());

        assertEquals(4, next.files());
        assertNull(next.of(77), "decode replaces what the new tracker had");
        assertEquals(1_000, next.sinceMillis());
        for (long ino = 1; ino <= 4; ino++) {
            assertEquals(tracker.of(ino), next.of(ino), "inode " + ino);
        }
        assertTrue(tracker.encode().length < 200, "processes are written once: " + tracker.encode().length);
    }

    @Test
    void shouldRefuseBytesOfAnotherFormatAndKeepItsRecords() {
        tracker.created(EDITOR, 1);
        byte[] good = tracker.encode();
        byte[] newerFormat = good.clone();
        ByteBuffer.wrap(newerFormat).putInt(4, 2);
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 3);
        byte[] padded = java.util.Arrays.copyOf(good, good.length + 1);

        IOException e = assertThrows(IOException.class, () -> tracker.decode(newerFormat));
        assertTrue(e.getMessage().contains("format 2"), e.getMessage());
        assertThrows(IOException.class, () -> tracker.decode(truncated));
        assertThrows(IOException.class, () -> tracker.decode(padded));
        assertThrows(IOException.class, () -> tracker.decode(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
        assertEquals("vim", tracker.of(1).creator().command());
    }
}
