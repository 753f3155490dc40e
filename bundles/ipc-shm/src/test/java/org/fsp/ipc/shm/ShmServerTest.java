package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.HandshakeDescriptor;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;
import org.fsp.linux.Libc;
import org.fsp.linux.UnixSockets;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShmServerTest {

    @TempDir
    Path dir;

    HeapFileSystemDouble fs;
    ShmServer server;
    Path socket;

    @BeforeEach
    void start() throws Exception {
        fs = new HeapFileSystemDouble();
        socket = dir.resolve("fsp.sock");
        server = new ShmServer(
                fs,
                socket,
                ShmServerConfig.DEFAULTS.withLimits(4, 8, 64).withClientsPerUid(4),
                new ThreadPerAgentModelDouble());
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void shouldKeepServingWhileTheLaneWorkersMoveBetweenThreadModels() throws Exception {
        ThreadPerAgentModelDouble one = new ThreadPerAgentModelDouble();
        ThreadPerAgentModelDouble other = new ThreadPerAgentModelDouble();
        byte[] data = new byte[40_000];
        new Random(3).nextBytes(data);
        try (FspClient c = FspClient.connect(socket)) {
            ExecutorService load = Executors.newSingleThreadExecutor();
            Future<Integer> rounds = load.submit(() -> {
                int n = 0;
                for (; n < 200; n++) {
                    c.writeAll("/f" + (n % 4), data);
                    assertArrayEquals(data, c.readAll("/f" + (n % 4)));
                }
                return n;
            });
            for (int i = 0; i < 10; i++) {
                assertTrue(server.driveWith(one) >= 0, "the lane workers changed hands");
                Thread.sleep(2);
                assertTrue(server.driveWith(other) >= 0, "the lane workers changed hands");
            }
            assertEquals(-1, server.driveWith(other), "the same model: nothing changes hands");
            assertTrue(
                    String.valueOf(server.status().get("lastHandOver")).startsWith("to another thread model, lanes"),
                    String.valueOf(server.status()));
            assertEquals(200, rounds.get(30, TimeUnit.SECONDS));
            load.shutdown();
        }
        assertEquals(10 * ShmServerConfig.DEFAULTS.workers(), one.attached());
        assertEquals(10 * ShmServerConfig.DEFAULTS.workers(), one.detached());
        assertTrue(one.agents().isEmpty(), "the lane workers left the first model");
        server.close();
        assertTrue(other.agents().isEmpty(), "closing the server detaches its lane workers");
    }

    @Test
    void shouldServeEveryOperationThroughTheChannel() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            c.noop();
            c.mkdir("/d", 0755);
            c.writeAll("/d/a", "hello".getBytes());
            assertArrayEquals("hello".getBytes(), c.readAll("/d/a"));
            FileAttributes a = c.stat("/d/a");
            assertTrue(a.isRegularFile());
            assertEquals(5, a.size());
            long h = c.open("/d/a", OpenFlags.O_RDWR, 0);
            assertEquals(5, c.fstat(h).size());
            assertEquals(3, c.pwrite(h, 5, " you".getBytes(), 0, 3));
            c.fsync(h);
            c.fdatasync(h);
            c.ftruncate(h, 7);
            byte[] buf = new byte[16];
            assertEquals(7, c.read(h, buf, 0, 16));
            assertEquals("hello y", new String(buf, 0, 7));
            assertEquals(0, c.read(h, buf, 0, 16));
            assertEquals(2, c.write(h, "!!".getBytes(), 0, 2));
            c.close(h);
            c.truncate("/d/a", 2);
            assertEquals(2, c.stat("/d/a").size());
            c.symlink("/d/a", "/d/l");
            assertEquals("/d/a", c.readlink("/d/l"));
            assertTrue(c.lstat("/d/l").isSymbolicLink());
            c.link("/d/a", "/d/b");
            c.rename("/d/b", "/d/c");
            c.chmod("/d/c", 0600);
            assertEquals(0600, c.stat("/d/c").mode() & 07777);
            c.chown("/d/c", 12, 34);
            assertEquals(12, c.stat("/d/c").uid());
            c.utimens("/d/c", 5_000, 6_000);
            assertEquals(6_000, c.stat("/d/c").mtimeNanos());
            List<String> names = c.readdir("/d").stream().map(DirEntry::name).toList();
            assertEquals(List.of("a", "c", "l"), names);
            c.unlink("/d/c");
            c.unlink("/d/l");
            assertEquals(4096, c.statfs().blockSize());
            c.sync();
            assertThrows(DirectoryNotEmptyException.class, () -> c.rmdir("/d"));
            c.unlink("/d/a");
            c.rmdir("/d");
        }
        assertEquals(0, fs.openHandles());
    }

    @Test
    void shouldMapErrnosToNioExceptionsKeepingTheErrno() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> c.stat("/nope"));
            assertEquals(Errno.ENOENT, ((FspException) missing).errno());
            assertEquals("/nope", missing.getFile());
            c.mkdir("/x", 0755);
            assertThrows(FileAlreadyExistsException.class, () -> c.mkdir("/x", 0755));
            c.writeAll("/f", new byte[1]);
            assertThrows(NotDirectoryException.class, () -> c.stat("/f/g"));
            FileSystemException badHandle = assertThrows(FileSystemException.class, () -> c.fstat(12345));
            assertEquals(Errno.EBADF, ((FspException) badHandle).errno());
            FileSystemException tooLong = assertThrows(FileSystemException.class, () -> c.stat("/" + "a".repeat(5000)));
            assertEquals(Errno.ENAMETOOLONG, ((FspException) tooLong).errno());
            FileSystemException isDir =
                    assertThrows(FileSystemException.class, () -> c.open("/x", OpenFlags.O_WRONLY, 0));
            assertEquals(Errno.EISDIR, ((FspException) isDir).errno());
            c.chmod("/f", 0);
            assertEquals(0, c.stat("/f").mode() & 0777);
        }
    }

    @Test
    void shouldSplitTransfersLargerThanASlot() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            byte[] data = new byte[5 * c.slotDataBytes() + 123];
            new Random(7).nextBytes(data);
            c.writeAll("/big", data);
            assertArrayEquals(data, c.readAll("/big"));
            long h = c.open("/big", OpenFlags.O_RDONLY, 0);
            byte[] part = new byte[3 * c.slotDataBytes()];
            assertEquals(part.length, c.pread(h, 100, part, 0, part.length));
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 100, 100 + part.length), part);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = arena.allocate(data.length + 1000);
                assertEquals(data.length, c.pread(h, 0, seg));
                assertEquals(data[data.length - 1], seg.get(ValueLayout.JAVA_BYTE, data.length - 1));
            }
            c.close(h);
        }
    }

    @Test
    void shouldMoveLargeTransfersThroughTheBulkAreaInOneRoundTripPerMebibyte() throws Exception {
        try (FspClient c = FspClient.connect(socket, 2)) {
            int mib = ChannelLayout.BULK_IO_BYTES;
            byte[] data = new byte[3 * mib + 4096 + 7];
            new Random(5).nextBytes(data);
            long h = c.open("/bulk", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            long before = server.clients().getFirst().requestsServed();
            assertEquals(data.length, c.pwrite(h, 0, data, 0, data.length));
            assertEquals(4, servedSince(before, 4), "3 MiB and a tail: 4 round trips, not 194 of 16 KiB");
            byte[] back = new byte[data.length + 100];
            before = server.clients().getFirst().requestsServed();
            assertEquals(data.length, c.pread(h, 0, back, 0, back.length));
            assertEquals(4, servedSince(before, 4));
            assertArrayEquals(data, java.util.Arrays.copyOf(back, data.length));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = arena.allocate(2 * mib);
                seg.fill((byte) 0x5A);
                assertEquals(2 * mib, c.write(h, seg), "at the handle's position (0: pwrite does not move it)");
                MemorySegment in = arena.allocate(2 * mib);
                assertEquals(2 * mib, c.pread(h, 0, in));
                assertEquals(-1, seg.mismatch(in));
            }
            c.close(h);
        }
    }

    /** Requests served since {@code before}, once at least {@code expected} are (the count follows each completion). */
    private long servedSince(long before, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        long served;
        while ((served = server.clients().getFirst().requestsServed() - before) < expected
                && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        Thread.sleep(20);
        return server.clients().getFirst().requestsServed() - before;
    }

    @Test
    void shouldServeLargeTransfersOfManyThreadsAtOnceWhenBulkBuffersRunOut() throws Exception {
        try (FspClient c = FspClient.connect(socket, 1)) {
            int threads = 4;
            int size = ChannelLayout.BULK_IO_BYTES + 3 * c.slotDataBytes();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    done.add(pool.submit(() -> {
                        byte[] out = new byte[size];
                        byte[] in = new byte[size];
                        long h = c.open("/b" + id, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
                        for (int i = 0; i < 20; i++) {
                            java.util.Arrays.fill(out, (byte) (id * 17 + i));
                            assertEquals(size, c.pwrite(h, 0, out, 0, size));
                            assertEquals(size, c.pread(h, 0, in, 0, size));
                            assertArrayEquals(out, in);
                        }
                        c.close(h);
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(50, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void shouldServeManyThreadsOnSharedLanesWithoutMixingRequests() throws Exception {
        try (FspClient c = FspClient.connect(socket, 2)) {
            int threads = 6;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    done.add(pool.submit(() -> {
                        String path = "/t" + id;
                        long h = c.open(path, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
                        byte[] out = new byte[64];
                        byte[] in = new byte[64];
                        for (int i = 0; i < 3000; i++) {
                            java.util.Arrays.fill(out, (byte) (id * 31 + i));
                            c.pwrite(h, (i % 8) * 64L, out, 0, out.length);
                            assertEquals(64, c.pread(h, (i % 8) * 64L, in, 0, in.length));
                            assertArrayEquals(out, in);
                        }
                        c.close(h);
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(50, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(2, c.laneCount());
            assertTrue(server.clients().getFirst().requestsServed() >= 6 * 6000);
            // Six threads and one spinner: most waits sleep, and each sleeper is woken by the server or by the
            // spinning thread of this client, never by its sleep's timeout.
            assertEquals(0, c.missedWakes(), "sleeps that had to time out");
        }
    }

    @Test
    void shouldServeMoreThreadsThanSlotsOnOneLane() throws Exception {
        try (FspClient c = FspClient.connect(socket, 1)) {
            int threads = 80;
            for (int t = 0; t < threads; t++) {
                c.writeAll("/many" + t, new byte[t]);
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    done.add(pool.submit(() -> {
                        String path = "/many" + id;
                        for (int i = 0; i < 300; i++) {
                            assertEquals(id, c.stat(path).size());
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(50, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        }
        assertEquals(0, fs.openHandles());
    }

    @Test
    void shouldReportClientsWithPeerCredentials() throws Exception {
        try (FspClient c = FspClient.connect(socket, 3)) {
            c.writeAll("/f", new byte[10]);
            long h = c.open("/f", OpenFlags.O_RDONLY, 0);
            ShmServer.ClientInfo info = server.clients().getFirst();
            assertEquals(ProcessHandle.current().pid(), info.pid());
            assertEquals(Libc.getuid(), info.uid());
            assertEquals(3, info.lanes());
            assertEquals(1, info.openFiles());
            assertEquals(c.clientId(), info.id());
            assertEquals(1, server.status().get("clients"));
            assertEquals(1, server.status().get("openFiles"));
            assertEquals("[2, 1]", server.status().get("lanesPerWorker"));
            c.close(h);
        }
    }

    @Test
    void shouldReleaseHandlesWhenClientDisconnects() throws Exception {
        FspClient c = FspClient.connect(socket);
        c.writeAll("/f", new byte[10]);
        c.open("/f", OpenFlags.O_RDONLY, 0);
        c.open("/f", OpenFlags.O_RDONLY, 0);
        assertEquals(2, fs.openHandles());
        c.close();
        awaitTrue(() -> server.clients().isEmpty() && fs.openHandles() == 0);
    }

    @Test
    void shouldLimitOpenFilesWithEmfileAndClientsWithEagain() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            c.writeAll("/f", new byte[1]);
            for (int i = 0; i < 8; i++) {
                c.open("/f", OpenFlags.O_RDONLY, 0);
            }
            FileSystemException e = assertThrows(FileSystemException.class, () -> c.open("/f", OpenFlags.O_RDONLY, 0));
            assertEquals(Errno.EMFILE, ((FspException) e).errno());
            assertEquals(8, fs.openHandles());
            List<FspClient> more = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    more.add(FspClient.connect(socket));
                }
                FileSystemException full = assertThrows(FileSystemException.class, () -> FspClient.connect(socket));
                assertEquals(Errno.EAGAIN, ((FspException) full).errno());
            } finally {
                more.forEach(FspClient::close);
            }
        }
    }

    @Test
    void shouldRefuseHelloWithUnknownMajorVersionAndKeepServingOthers() throws Exception {
        int silent = UnixSockets.connect(socket.toString());
        int fd = UnixSockets.connect(socket.toString());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hello = arena.allocate(HandshakeDescriptor.HELLO_BYTES, 8);
            hello.set(ValueLayout.JAVA_LONG, 0, ChannelHeaderDescriptor.MAGIC);
            hello.set(ValueLayout.JAVA_INT, 8, ChannelHeaderDescriptor.version(99, 0));
            UnixSockets.send(fd, hello, -1);
            MemorySegment welcome = arena.allocate(HandshakeDescriptor.WELCOME_BYTES, 8);
            UnixSockets.Received r = UnixSockets.receive(fd, welcome);
            assertEquals(-1, r.fd());
            assertEquals(
                    Errno.EINVAL.code(), welcome.get(ValueLayout.JAVA_INT, HandshakeDescriptor.WELCOME_STATUS_OFFSET));
            try (FspClient c = FspClient.connect(socket)) {
                c.noop();
            }
        } finally {
            Libc.close(fd);
            Libc.close(silent);
        }
    }

    @Test
    void shouldRefuseToStartWhileAnotherServerAnswersAndReplaceAStaleSocket() throws Exception {
        ShmServer second = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        java.io.IOException e = assertThrows(java.io.IOException.class, second::start);
        assertTrue(e.getMessage().contains("another server"), e.getMessage());
        Path stale = dir.resolve("stale.sock");
        Libc.close(UnixSockets.listen(stale.toString(), 1));
        assertTrue(Files.exists(stale));
        ShmServer third =
                new ShmServer(fs, stale, ShmServerConfig.DEFAULTS.withWorkers(1), new ThreadPerAgentModelDouble());
        third.start();
        try (FspClient c = FspClient.connect(stale)) {
            c.noop();
        } finally {
            third.close();
        }
        Path regular = dir.resolve("regular");
        Files.writeString(regular, "keep");
        assertThrows(
                java.io.IOException.class,
                () -> new ShmServer(fs, regular, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble()).start());
        assertEquals("keep", Files.readString(regular));
    }

    @Test
    void shouldHoldRequestsWhileNoFileSystemIsAttachedAndServeThemWhenOneComes() throws Exception {
        byte[] data = new byte[40_000];
        new Random(7).nextBytes(data);
        ExecutorService calls = Executors.newCachedThreadPool();
        try (FspClient c = FspClient.connect(socket)) {
            long h = c.open("/held", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            server.detachFileSystem(fs);
            Future<Integer> write = calls.submit(() -> c.pwrite(h, 0, data, 0, data.length));
            Future<FileAttributes> stat;
            try (FspClient late = FspClient.connect(socket)) {
                stat = calls.submit(() -> late.stat("/held"));
                Thread.sleep(300);
                assertFalse(write.isDone(), "a request ran while no file system was attached");
                assertFalse(stat.isDone(), "a request ran while no file system was attached");
                assertTrue(
                        String.valueOf(server.status().get("fileSystem")).startsWith("none for"),
                        String.valueOf(server.status()));
                long pause = server.attachFileSystem(fs);
                assertTrue(pause >= TimeUnit.MILLISECONDS.toNanos(300), "pause " + pause + " ns");
                assertEquals(data.length, write.get(10, TimeUnit.SECONDS));
                assertTrue(stat.get(10, TimeUnit.SECONDS).isRegularFile());
            }
            byte[] back = new byte[data.length];
            assertEquals(data.length, c.pread(h, 0, back, 0, back.length));
            assertArrayEquals(data, back);
            c.close(h);
        } finally {
            calls.shutdown();
        }
        assertEquals("attached", server.status().get("fileSystem"));
        assertTrue(String.valueOf(server.status().get("fileSystemPauses")).contains(" ms"));
    }

    @Test
    void shouldFailHeldRequestsWithEioOnceTheWaitLimitHasPassed() throws Exception {
        server.close();
        server = new ShmServer(
                fs, socket, ShmServerConfig.DEFAULTS.withFileSystemWait(200), new ThreadPerAgentModelDouble());
        server.start();
        try (FspClient c = FspClient.connect(socket)) {
            c.writeAll("/f", "abc".getBytes());
            server.detachFileSystem(fs);
            FileSystemException e = assertThrows(FileSystemException.class, () -> c.stat("/f"));
            assertEquals(Errno.EIO, ((FspException) e).errno());
            assertEquals(0, fs.openHandles(), "nothing reached the file system");
            server.attachFileSystem(fs);
            assertEquals(3, c.stat("/f").size());
        }
    }

    @Test
    void shouldCloseTheHandlesOfAClientThatLeftWhileNoFileSystemWasAttached() throws Exception {
        FspClient c = FspClient.connect(socket);
        c.open("/a", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        c.open("/a", OpenFlags.O_RDONLY, 0);
        assertEquals(2, fs.openHandles());
        server.detachFileSystem(fs);
        c.close();
        awaitTrue(() -> server.clients().isEmpty());
        assertEquals(2, fs.openHandles(), "closed while detached");
        server.attachFileSystem(fs);
        assertEquals(0, fs.openHandles());
    }

    @Test
    void shouldFailCallsAfterServerCloses() throws Exception {
        FspClient c = FspClient.connect(socket);
        c.noop();
        server.close();
        java.io.IOException e = assertThrows(java.io.IOException.class, c::noop);
        assertTrue(e.getMessage() != null, String.valueOf(e));
        c.close();
    }

    static void awaitTrue(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within 10 s");
            Thread.sleep(10);
        }
    }
}
