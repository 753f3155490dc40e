package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.fs.core.FsCore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Read leases through real channels onto fs-core: a client answers repeated positioned reads from its own memory, and
 * any change of the file, by another client, by itself or through the file system directly (as the FUSE mount does),
 * is seen by the very next read.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReadLeasesOverChannelTest {

    @TempDir
    Path dir;

    private FsCoreBehindServer served;
    private Path socket;
    private FsCore fs;
    private ShmServer server;

    @BeforeEach
    void start() throws Exception {
        served = new FsCoreBehindServer(dir);
        socket = served.socket;
        fs = served.fs;
        server = served.server;
    }

    @AfterEach
    void stop() throws Exception {
        served.close();
    }

    @Test
    void shouldAnswerRepeatedReadsFromTheClientAndSeeEveryChangeAtTheNextRead() throws Exception {
        try (FspClient reader = FspClient.connect(socket);
                FspClient writer = FspClient.connect(socket)) {
            reader.writeAll("/f", filled(3 * 4096, 1));
            long r = reader.open("/f", OpenFlags.O_RDONLY, 0);
            byte[] got = new byte[4096];
            // A handle asks for a lease from its third read on (one read once, as a whole small file is, gains none).
            for (int i = 0; i < 3; i++) {
                reader.pread(r, 4096, got, 0, 4096);
            }
            assertEquals(0, reader.cachedReads(), "the first reads go to the server");
            long before = reader.cachedReads();
            for (int i = 0; i < 10; i++) {
                assertEquals(4096, reader.pread(r, 4096, got, 0, 4096));
            }
            assertEquals(10, reader.cachedReads() - before, "repeated reads come from the client's copy");
            assertArrayEquals(filled(4096, 1), got);

            // Another client changes the block: the next read sees it.
            long w = writer.open("/f", OpenFlags.O_WRONLY, 0);
            writer.pwrite(w, 4096, filled(4096, 2), 0, 4096);
            reader.pread(r, 4096, got, 0, 4096);
            assertArrayEquals(filled(4096, 2), got, "a write by another client ends the lease");

            // So does a change through the file system itself (the FUSE mount's path), and the reader's own write.
            reader.pread(r, 4096, got, 0, 4096);
            long fsHandle = fs.open(Credentials.ROOT, "/f", OpenFlags.O_WRONLY, 0);
            fs.pwrite(Credentials.ROOT, fsHandle, 4096, MemorySegment.ofArray(filled(4096, 3)));
            fs.close(Credentials.ROOT, fsHandle);
            reader.pread(r, 4096, got, 0, 4096);
            assertArrayEquals(filled(4096, 3), got, "a write through the file system ends the lease");
            long own = reader.open("/f", OpenFlags.O_WRONLY, 0);
            reader.pread(r, 4096, got, 0, 4096);
            reader.pwrite(own, 4096, filled(4096, 4), 0, 4096);
            reader.pread(r, 4096, got, 0, 4096);
            assertArrayEquals(filled(4096, 4), got, "the reader's own write ends its lease");

            // A truncate: reads past the new end return nothing.
            reader.pread(r, 8192, got, 0, 4096);
            writer.ftruncate(w, 4096);
            assertEquals(0, reader.pread(r, 8192, got, 0, 4096), "a truncate ends the lease");

            String leases = String.valueOf(server.status().get("readLeases"));
            assertTrue(leases.contains("revoked") && !leases.contains(" 0 revoked"), leases);
            writer.close(w);
            reader.close(own);
            reader.close(r);
        }
    }

    @Test
    void shouldKeepNoCopyOfABlockThatEndOfFileCutShort() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            c.writeAll("/short", filled(4096 + 100, 5));
            long h = c.open("/short", OpenFlags.O_RDONLY, 0);
            byte[] got = new byte[8192];
            assertEquals(4196, c.pread(h, 0, got, 0, 8192));
            assertEquals(4196, c.pread(h, 0, got, 0, 8192));
            assertEquals(4196, c.pread(h, 0, got, 0, 8192), "the third read asks for a lease");
            long before = c.cachedReads();
            assertEquals(4196, c.pread(h, 0, got, 0, 8192), "end of file is the server's answer");
            assertEquals(before, c.cachedReads());
            assertEquals(4096, c.pread(h, 0, got, 0, 4096));
            assertEquals(before + 1, c.cachedReads(), "the whole first block is kept");
            assertArrayEquals(Arrays.copyOf(filled(4096 + 100, 5), 4096), Arrays.copyOf(got, 4096));
            c.close(h);
        }
    }

    @Test
    void shouldReadAWideWindowThroughTheBulkAreaOnceAHandleMostlyHits() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            byte[] data = new byte[1 << 20];
            new java.util.Random(9).nextBytes(data);
            c.writeAll("/wide", data);
            long h = c.open("/wide", OpenFlags.O_RDONLY, 0);
            byte[] got = new byte[4096];
            for (int i = 0; i < 6; i++) {
                c.pread(h, 0, got, 0, 4096); // two plain reads, a window under a lease, then hits
            }
            // A miss far from the first window: the handle's copy answers most reads, so it reads 256 KiB at once.
            c.pread(h, 600 << 10, got, 0, 4096);
            long before = c.cachedReads();
            for (long at = 512 << 10; at < 768 << 10; at += 4096) {
                assertEquals(4096, c.pread(h, at, got, 0, 4096));
                assertArrayEquals(Arrays.copyOfRange(data, (int) at, (int) at + 4096), got);
            }
            assertEquals(64, c.cachedReads() - before, "the whole 256 KiB window around the miss is kept");
            c.close(h);
        }
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
