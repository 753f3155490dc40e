package org.fsp.ipc.fuse;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import org.fsp.api.sched.FutexWaitSet;
import org.fsp.linux.Futex;
import org.fsp.linux.Libc;
import org.fsp.linux.UnixSockets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bridge with a listening socket standing in for {@code /dev/fuse} (both report readiness through poll): a sleep
 * begun on a channel ends when its descriptor becomes readable, and not before.
 */
class FuseWakeBridgeTest {

    @TempDir
    Path dir;

    /** Records what a worker's futex_waitv would wait on. */
    private static final class RecordingWaitSet implements FutexWaitSet {
        MemorySegment word;
        int expected;

        @Override
        public boolean add(MemorySegment w, int e, boolean processPrivate) {
            assertTrue(processPrivate, "the bridge's words are private to fspd");
            word = w;
            expected = e;
            return true;
        }
    }

    @Test
    void shouldWakeASleepingChannelWhenItsDescriptorBecomesReadable() {
        String path = dir.resolve("fuse-standin.sock").toString();
        int listener = UnixSockets.listen(path, 4);
        FuseChannel channel = new FuseChannel("fuse-test", listener, null);
        FuseWakeBridge bridge = FuseWakeBridge.start("fsp-fuse-wake-test", List.of(channel));
        int client = -1;
        try {
            RecordingWaitSet set = new RecordingWaitSet();
            assertTrue(channel.beginSleep(set), "a bridged channel may sleep on its word");
            Futex.await(set.word, set.expected, 100_000_000L);
            assertFalse(changed(set), "no request: the word is left alone");

            client = UnixSockets.connect(path);
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (!changed(set) && System.nanoTime() < deadline) {
                Futex.await(set.word, set.expected, 100_000_000L);
            }
            assertNotEquals(set.expected, set.word.get(ValueLayout.JAVA_INT, 0), "readiness ends the sleep");
            channel.endSleep();

            RecordingWaitSet again = new RecordingWaitSet();
            assertTrue(channel.beginSleep(again));
            deadline = System.nanoTime() + 2_000_000_000L;
            while (!changed(again) && System.nanoTime() < deadline) {
                Futex.await(again.word, again.expected, 100_000_000L);
            }
            assertTrue(changed(again), "still readable when the next sleep begins: that sleep ends at once too");
        } finally {
            bridge.stop();
            if (client >= 0) {
                Libc.close(client);
            }
            Libc.close(listener);
        }
    }

    private static boolean changed(RecordingWaitSet set) {
        return set.word.get(ValueLayout.JAVA_INT, 0) != set.expected;
    }
}
