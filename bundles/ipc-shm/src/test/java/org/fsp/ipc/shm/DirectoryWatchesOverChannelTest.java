package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.api.channel.ChannelOpcodes;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.ChangeEvents;
import org.fsp.client.FspClient;
import org.fsp.fs.core.FsCore;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Directory watches through real channels onto fs-core: FS Lib's event thread hears of each change in a watched
 * directory, whoever makes it (another client, the file system directly as the FUSE mount does), without polling;
 * a client that lies about its ring's tail loses only its own events.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DirectoryWatchesOverChannelTest {

    @TempDir
    Path dir;

    private FsCoreBehindServer served;
    private FsCore fs;

    @BeforeEach
    void start() throws Exception {
        served = new FsCoreBehindServer(dir);
        fs = served.fs;
    }

    @AfterEach
    void stop() throws Exception {
        served.close();
    }

    /** Records what a watch is told, as "CREATE name", "OVERFLOW" or "GONE". */
    private static final class Recording implements ChangeEvents.Sink {
        final BlockingQueue<String> seen = new LinkedBlockingQueue<>();

        @Override
        public void event(int kind, String name) {
            String k =
                    switch (kind) {
                        case ChangeEventsDescriptor.CREATE -> "CREATE";
                        case ChangeEventsDescriptor.DELETE -> "DELETE";
                        case ChangeEventsDescriptor.MODIFY -> "MODIFY";
                        default -> "kind " + kind;
                    };
            seen.add(k + " " + name);
        }

        @Override
        public void overflow() {
            seen.add("OVERFLOW");
        }

        @Override
        public void gone() {
            seen.add("GONE");
        }

        String next() throws InterruptedException {
            String s = seen.poll(5, TimeUnit.SECONDS);
            if (s == null) {
                throw new AssertionError("no event within 5 s");
            }
            return s;
        }

        void expect(String... events) throws InterruptedException {
            for (String e : events) {
                assertEquals(e, next());
            }
        }

        void expectNothingMore() throws InterruptedException {
            assertNull(seen.poll(300, TimeUnit.MILLISECONDS));
        }
    }

    @Test
    void shouldReportCreateModifyDeleteAndRenamesInAndOutOfAWatchedDirectory() throws Exception {
        try (FspClient watcher = FspClient.connect(served.socket);
                FspClient other = FspClient.connect(served.socket)) {
            other.mkdir("/d", 0755);
            other.writeAll("/outside", new byte[] {1});
            Recording r = new Recording();
            watcher.addWatch("/d", r);

            other.mkdir("/d/sub", 0755);
            r.expect("CREATE sub");
            long h = other.open("/d/f", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644);
            r.expect("CREATE f");
            other.pwrite(h, 0, new byte[] {1, 2, 3}, 0, 3);
            r.expect("MODIFY f");
            other.close(h);
            other.rename("/d/f", "/d/g");
            r.expect("DELETE f", "CREATE g");
            other.rename("/d/g", "/moved-out");
            r.expect("DELETE g");
            other.rename("/outside", "/d/moved-in");
            r.expect("CREATE moved-in");
            // A change through the file system itself, as the FUSE mount makes it.
            fs.unlink(Credentials.ROOT, "/d/moved-in");
            r.expect("DELETE moved-in");
            // A change of a file that has left the directory is not the watch's.
            other.writeAll("/moved-out", new byte[] {9});
            r.expectNothingMore();
        }
    }

    @Test
    void shouldCarryAWatchAcrossAHandOverOfTheServerWithAnOverflowBetween() throws Exception {
        ShmServer next = null;
        try (FspClient watcher = FspClient.connect(served.socket);
                FspClient other = FspClient.connect(served.socket)) {
            other.mkdir("/d", 0755);
            Recording r = new Recording();
            watcher.addWatch("/d", r);
            other.mkdir("/d/before", 0755);
            r.expect("CREATE before");

            // The successor starts with no watches; the client sees the ring's epoch change, registers again and
            // reports an overflow, after which events come as before.
            next = ShmServer.adopt(
                    fs, served.server.quiesce(), ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
            next.start();
            r.expect("OVERFLOW");
            other.mkdir("/d/after", 0755);
            r.expect("CREATE after");
            other.rmdir("/d/before");
            r.expect("DELETE before");
            r.expectNothingMore();
        } finally {
            if (next != null) {
                next.close();
            }
        }
    }

    @Test
    void shouldReportAModifyOfEachNameAHardLinkedFileHas() throws Exception {
        try (FspClient c = FspClient.connect(served.socket)) {
            c.mkdir("/d", 0755);
            c.writeAll("/d/a", new byte[] {1});
            c.link("/d/a", "/d/b");
            Recording r = new Recording();
            c.addWatch("/d", r);
            long h = c.open("/d/a", OpenFlags.O_WRONLY, 0);
            c.pwrite(h, 0, new byte[] {2}, 0, 1);
            c.close(h);
            String first = r.next();
            String second = r.next();
            assertTrue(
                    (first + second).equals("MODIFY aMODIFY b") || (first + second).equals("MODIFY bMODIFY a"),
                    first + ", " + second);
        }
    }

    @Test
    void shouldEndTheWatchWithGoneWhenTheWatchedDirectoryIsRemoved() throws Exception {
        try (FspClient c = FspClient.connect(served.socket)) {
            c.mkdir("/d", 0755);
            Recording r = new Recording();
            c.addWatch("/d", r);
            c.rmdir("/d");
            r.expect("GONE");
            assertTrue(status().startsWith("0 watches"), status());
            c.mkdir("/d", 0755);
            r.expectNothingMore();
        }
    }

    @Test
    void shouldRefuseToWatchWhatIsNotAnExistingDirectory() throws Exception {
        try (FspClient c = FspClient.connect(served.socket)) {
            c.writeAll("/file", new byte[] {1});
            assertThrows(NotDirectoryException.class, () -> c.addWatch("/file", new Recording()));
            assertThrows(NoSuchFileException.class, () -> c.addWatch("/missing", new Recording()));
            assertTrue(status().startsWith("0 watches"), status());
        }
    }

    @Test
    void shouldDropTheWatchesOfASessionThatEnds() throws Exception {
        FspClient c = FspClient.connect(served.socket);
        c.mkdir("/d", 0755);
        c.mkdir("/e", 0755);
        c.addWatch("/d", new Recording());
        c.addWatch("/e", new Recording());
        assertTrue(status().startsWith("2 watches"), status());
        c.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!status().startsWith("0 watches") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(status().startsWith("0 watches"), status());
        // Changes in the directories it watched find nobody to tell (and no unmapped segment to write to).
        fs.mkdir(Credentials.ROOT, "/d/x", 0755);
    }

    @Test
    void shouldRemoveAWatchAndRefuseAnUnknownOne() throws Exception {
        try (RawChannel raw = RawChannel.connect(served.socket, 1)) {
            fs.mkdir(Credentials.ROOT, "/w", 0755);
            long id = watchAdd(raw, 0, "/w");
            raw.post(0, 1, req -> req.opcode(ChannelOpcodes.WATCH_REMOVE).handle(id + 7));
            assertEquals(-22, raw.await(0, 1, 5_000), "EINVAL for a watch it does not have");
            raw.post(0, 2, req -> req.opcode(ChannelOpcodes.WATCH_REMOVE).handle(id));
            assertEquals(0, raw.await(0, 2, 5_000));
            assertTrue(status().startsWith("0 watches"), status());
        }
    }

    @Test
    void shouldTreatAnImpossibleTailAsAFullRingOfThatClientOnly() throws Exception {
        try (RawChannel raw = RawChannel.connect(served.socket, 1);
                FspClient honest = FspClient.connect(served.socket)) {
            fs.mkdir(Credentials.ROOT, "/w", 0755);
            long area = raw.eventArea;
            assertTrue(area > 0, "a minor-3 hello gets a change-event area");
            int id = (int) watchAdd(raw, 0, "/w");
            Recording r = new Recording();
            honest.addWatch("/w", r);

            long[] aheadOrBehind = {Long.MAX_VALUE, 8, -ChangeEventsDescriptor.RING_BYTES - 8, Long.MIN_VALUE};
            for (int i = 0; i < aheadOrBehind.length; i++) {
                long head = ChangeEventsDescriptor.head(raw.segment, area);
                long hostile = aheadOrBehind[i] == Long.MAX_VALUE || aheadOrBehind[i] == Long.MIN_VALUE
                        ? aheadOrBehind[i]
                        : head + aheadOrBehind[i];
                ChangeEventsDescriptor.tail(raw.segment, area, hostile);
                fs.mkdir(Credentials.ROOT, "/w/n" + i, 0755);
                assertEquals(
                        head, ChangeEventsDescriptor.head(raw.segment, area), "nothing written for tail " + hostile);
                assertTrue(ChangeEventsDescriptor.takeOverflow(raw.segment, area), "overflow for tail " + hostile);
                r.expect("CREATE n" + i);
            }

            // An honest tail again: the next event is written where the ring's head is, and decodes.
            long head = ChangeEventsDescriptor.head(raw.segment, area);
            ChangeEventsDescriptor.tail(raw.segment, area, head);
            fs.mkdir(Credentials.ROOT, "/w/after", 0755);
            int at = (int) (head % ChangeEventsDescriptor.RING_BYTES);
            assertEquals(id, ChangeEventsDescriptor.watchIdAt(raw.segment, area, at));
            assertEquals(ChangeEventsDescriptor.CREATE, ChangeEventsDescriptor.kindAt(raw.segment, area, at));
            assertEquals("after", new String(ChangeEventsDescriptor.nameAt(raw.segment, area, at, 5)));
            r.expect("CREATE after");

            // A tail that never moves: the ring fills, then overflows, and stays within its bytes.
            for (int i = 0; i < 3000; i++) {
                fs.mkdir(Credentials.ROOT, "/w/many", 0755);
                fs.rmdir(Credentials.ROOT, "/w/many");
            }
            long used = ChangeEventsDescriptor.head(raw.segment, area) - head;
            assertTrue(used <= ChangeEventsDescriptor.RING_BYTES, used + " bytes unread");
            assertTrue(ChangeEventsDescriptor.takeOverflow(raw.segment, area));
            assertTrue(status().contains("overflows") && !status().contains(" 0 overflows"), status());
        }
    }

    /** WATCH_ADD of {@code path} in slot 0 of {@code lane}; asserts success and returns the watch id. */
    private static long watchAdd(RawChannel raw, int lane, String path) {
        raw.post(lane, 0, req -> {
            req.opcode(ChannelOpcodes.WATCH_ADD);
            raw.putPath1(lane, 0, req, path);
        });
        long id = raw.await(lane, 0, 5_000);
        assertTrue(id >= 1, "watch id " + id);
        return id;
    }

    private String status() {
        return (String) served.server.status().get("changeEvents");
    }
}
