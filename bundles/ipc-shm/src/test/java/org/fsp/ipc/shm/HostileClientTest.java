package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.ChannelOpcodes;
import org.fsp.api.channel.HandshakeDescriptor;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.ChannelHandoff;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;
import org.fsp.linux.Libc;
import org.fsp.linux.MemFd;
import org.fsp.linux.NativeCall;
import org.fsp.linux.NativeException;
import org.fsp.linux.SocketStructs;
import org.fsp.linux.UnixSockets;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The trust boundary, one attack per case: an input a hostile local client can send and what the server must do.
 * Each case names the attack and asserts that the honest client beside it notices nothing and that the server keeps
 * nothing (descriptors, sessions, workers) for the attacker beyond its bounds.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HostileClientTest {

    @TempDir
    Path dir;

    /** A hostile client process attacks its own channel, then is killed with SIGKILL in the middle of its requests. */
    @Test
    void shouldKeepServingOthersCorrectlyWhileAClientMisbehavesAndDies() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        ShmServerConfig config = ShmServerConfig.DEFAULTS.withLanes(2, 4);
        try (ShmServer server = new ShmServer(fs, socket, config, new ThreadPerAgentModelDouble());
                FspClient honest = startAndConnect(server, socket)) {
            honest.mkdir("/dir", 0755);
            long h = honest.open("/dir/honest", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            long seed = System.nanoTime();
            System.out.println("hostile client seed " + seed);
            try (ChildJvm hostile = ChildJvm.start(HostileClientMain.class, socket.toString(), String.valueOf(seed))) {
                assertEquals("READY 4", hostile.awaitLine("READY", 30_000));
                Random rnd = new Random(seed);
                byte[] out = new byte[3000];
                byte[] in = new byte[3000];
                long progress = 0;
                for (int round = 0; round < 4 || progress == 0; round++) {
                    for (int i = 0; i < 500; i++) {
                        rnd.nextBytes(out);
                        long at = rnd.nextInt(1 << 20);
                        assertEquals(out.length, honest.pwrite(h, at, out, 0, out.length));
                        assertEquals(in.length, honest.pread(h, at, in, 0, in.length));
                        assertArrayEquals(out, in);
                    }
                    assertEquals(
                            List.of("honest"),
                            honest.readdir("/dir").stream().map(DirEntry::name).toList());
                    progress =
                            Long.parseLong(hostile.awaitLine("PROGRESS", 30_000).substring(9));
                }
                assertTrue(progress > 0, "the server completed some hostile requests");
                assertTrue(
                        server.clients().stream()
                                .filter(c -> c.pid() == hostile.pid())
                                .allMatch(c -> c.lanes() == 4),
                        "lanes are capped at maxLanesPerClient");
                hostile.kill();
                long pid = hostile.pid();
                ShmServerTest.awaitTrue(() -> server.clients().stream().noneMatch(c -> c.pid() == pid));
            }
            ShmServerTest.awaitTrue(() -> fs.openHandles() == 1);
            byte[] last = new byte[100];
            new Random(1).nextBytes(last);
            honest.pwrite(h, 0, last, 0, last.length);
            byte[] back = new byte[100];
            honest.pread(h, 0, back, 0, back.length);
            assertArrayEquals(last, back);
            honest.close(h);
            assertEquals(0, fs.openHandles());
        }
    }

    /**
     * 1,000 connections that never say hello, opened as fast as one thread can, while honest clients connect: each
     * honest connect succeeds quickly, and the server keeps at most its per-uid bound of silent connections.
     */
    @Test
    void shouldConnectHonestClientsQuicklyWhileAThousandConnectionsStaySilent() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        ShmServerConfig config = ShmServerConfig.DEFAULTS;
        try (ShmServer server = new ShmServer(fs, socket, config, new ThreadPerAgentModelDouble())) {
            server.start();
            long[] alone = new long[10];
            for (int i = 0; i < alone.length; i++) {
                alone[i] = timedConnect(socket);
            }
            List<Integer> silent = Collections.synchronizedList(new ArrayList<>());
            Thread flood = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 1000; i++) {
                    silent.add(UnixSockets.connect(socket.toString()));
                }
            });
            List<Long> beside = new ArrayList<>();
            try {
                while (flood.isAlive() || beside.size() < 10) {
                    beside.add(timedConnect(socket));
                }
                flood.join();
                assertEquals(1000, silent.size());
                long worst = beside.stream().mapToLong(Long::longValue).max().orElseThrow();
                System.out.printf(
                        "connect alone: median %.2f ms; beside 1000 silent connections: median %.2f ms, worst %.2f ms"
                                + " over %d connects%n",
                        median(alone) / 1e6,
                        median(beside.stream().mapToLong(Long::longValue).toArray()) / 1e6,
                        worst / 1e6,
                        beside.size());
                assertTrue(worst < TimeUnit.SECONDS.toNanos(1), "an honest connect took " + worst / 1e6 + " ms");
                int uid = Libc.getuid();
                ShmServerTest.awaitTrue(
                        () -> server.pendingHandshakes().getOrDefault(uid, 0) <= config.maxPendingHandshakesPerUid());
                long dropped = server.refusals().getOrDefault(ShmServer.REFUSED_PENDING_UID, 0L);
                assertTrue(dropped >= 1000 - config.maxPendingHandshakesPerUid(), "dropped " + dropped);
                // The honest clients have closed; the server notices a close on its monitor thread, a moment later.
                ShmServerTest.awaitTrue(() -> server.clients().isEmpty());
            } finally {
                flood.join();
                silent.forEach(Libc::close);
            }
        }
    }

    /**
     * The server runs out of descriptors (this JVM's RLIMIT_NOFILE lowered to a few above what is open) while a
     * child process opens 300 connections: the connected client is still served, the new connections are refused
     * with EMFILE (a reserve descriptor frees a slot for each), the log gets a few lines, not a flood, and once the
     * limit is back a new client connects.
     */
    @Test
    void shouldServeConnectedClientsAndLogAFewLinesWhenOutOfDescriptors() throws Throwable {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        Path go = dir.resolve("go");
        ListAppender<ILoggingEvent> lines = captureWarnings();
        try (ShmServer server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
                FspClient honest = startAndConnect(server, socket);
                ChildJvm flood = ChildJvm.start(SilentConnectionsMain.class, socket.toString(), "300", go.toString())) {
            honest.writeAll("/f", new byte[4096]);
            flood.awaitLine("READY", 30_000);
            long[] saved = descriptorLimit();
            int before = lines.list.size();
            int warnings;
            long stats = 0;
            try {
                setDescriptorLimit(openDescriptors() + 6, saved[1]);
                Files.createFile(go);
                assertEquals("OPENED 300", flood.awaitLine("OPENED", 30_000));
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                while (System.nanoTime() < until
                        || server.refusals().getOrDefault(ShmServer.REFUSED_DESCRIPTORS, 0L) == 0) {
                    assertTrue(honest.stat("/f").size() == 4096);
                    stats++;
                }
                warnings = lines.list.size() - before;
            } finally {
                setDescriptorLimit(saved[0], saved[1]);
            }
            System.out.printf(
                    "out of descriptors: %d stats served, refusals %s, %d log lines%n",
                    stats, server.refusals(), warnings);
            assertTrue(server.refusals().get(ShmServer.REFUSED_DESCRIPTORS) > 0);
            assertTrue(
                    warnings <= 4,
                    "log lines while out of descriptors: " + lines.list.subList(before, before + warnings));
            flood.kill();
            try (FspClient late = FspClient.connect(socket)) {
                assertEquals(4096, late.stat("/f").size());
            }
        } finally {
            releaseWarnings(lines);
        }
    }

    /**
     * One user connects until refused: it gets half of {@code maxClients}; a client of another user (uid 65534, a
     * child process under setpriv) still connects.
     */
    @Test
    void shouldKeepSessionsForAnotherUserWhenOneUserHasTakenItsShare() throws Exception {
        assumeTrue(Libc.getuid() == 0, "needs root to start a client as uid 65534");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv from util-linux");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        List<FspClient> mine = new ArrayList<>();
        Path cp = Files.createTempDirectory("fsp-cp-");
        try (ShmServer server = new ShmServer(
                fs, socket, ShmServerConfig.DEFAULTS.withLimits(4, 1024, 0), new ThreadPerAgentModelDouble())) {
            server.start();
            FileSystemException full = assertThrows(FileSystemException.class, () -> {
                for (int i = 0; i < 4; i++) {
                    mine.add(FspClient.connect(socket));
                }
            });
            assertEquals(Errno.EAGAIN, ((FspException) full).errno());
            assertEquals(2, mine.size(), "one uid gets half of maxClients");
            mine.get(0).writeAll("/public", "hello".getBytes());
            try (ChildJvm nobody = ChildJvm.start(
                    List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
                    AbstractMultiProcessTest.worldReadableCopy(cp),
                    ClientProcessMain.class,
                    "read",
                    socket.toString(),
                    "/public")) {
                assertTrue(nobody.awaitLine("CRC", 30_000).endsWith(" 5"));
                assertEquals(0, nobody.waitFor(30_000));
            }
            assertEquals(1L, server.refusals().get(ShmServer.REFUSED_UID_FULL));
        } finally {
            mine.forEach(FspClient::close);
            AbstractMultiProcessTest.deleteTree(cp);
        }
    }

    /**
     * A file system whose SYNC takes 5 ms in the device, and that counts the syncs done and running at once, and
     * notes how many were done when a stat ran.
     */
    static class SlowSyncFileSystemDouble extends HeapFileSystemDouble {
        final AtomicLong syncs = new AtomicLong();
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger mostAtOnce = new AtomicInteger();
        volatile long syncsAtLastStat;

        @Override
        public void sync() {
            mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            running.decrementAndGet();
            syncs.incrementAndGet();
        }

        @Override
        public synchronized FileAttributes stat(Credentials who, String path) throws FsException {
            syncsAtLastStat = syncs.get();
            return super.stat(who, path);
        }
    }

    /**
     * A client keeps all 16 x 64 of its slots full of SYNC (each 5 ms in the device) while an honest client stats: the
     * honest stat waits for at most a few of the flooder's syncs (before fairness, up to one worker round of 8 lanes x
     * 16 = 128, and 283 were seen), the flooder never holds both workers, and its waiting requests show as
     * throttled.
     */
    @Test
    void shouldServeAnHonestClientBetweenTheSyncsOfAFloodingNeighbour() throws Exception {
        SlowSyncFileSystemDouble fs = new SlowSyncFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        try (ShmServer server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
                FspClient honest = startAndConnect(server, socket);
                RawChannel flooder = RawChannel.connect(socket, 16)) {
            assertEquals(16, flooder.layout.laneCount());
            AtomicBoolean stop = new AtomicBoolean();
            Thread flood = Thread.ofPlatform().start(() -> floodSyncs(flooder, stop));
            try {
                ShmServerTest.awaitTrue(() -> fs.syncs.get() > 20);
                long worst = 0;
                for (int i = 0; i < 40; i++) {
                    // Counted up to the moment the server runs the stat: the client's own wake-up afterwards is the
                    // machine's, not the server's fairness.
                    long before = fs.syncs.get();
                    honest.stat("/");
                    worst = Math.max(worst, fs.syncsAtLastStat - before);
                }
                long throttled = server.clients().stream()
                        .filter(c -> c.lanes() == 16)
                        .mapToLong(ShmServer.ClientInfo::throttled)
                        .sum();
                System.out.printf(
                        "honest stat beside a SYNC flood: at most %d syncs done during one stat; flooder throttled %d"
                                + " times%n",
                        worst, throttled);
                assertTrue(worst <= 24, "an honest stat waited for " + worst + " syncs of the flooder");
                assertEquals(1, fs.mostAtOnce.get(), "the flooder holds one worker at most (its share)");
                assertTrue(throttled > 0, "the flooder's waiting requests are counted");
            } finally {
                stop.set(true);
                flood.join();
            }
        }
    }

    /** Posts SYNC in every slot of every lane, and again in each slot as soon as it completes, until stopped. */
    private static void floodSyncs(RawChannel c, AtomicBoolean stop) {
        int lanes = c.layout.laneCount();
        int slots = c.layout.slotsPerLane();
        while (!stop.get()) {
            for (int lane = 0; lane < lanes; lane++) {
                for (int slot = 0; slot < slots; slot++) {
                    if (c.reusable(lane, slot)) {
                        c.post(lane, slot, ChannelOpcodes.SYNC);
                    }
                }
            }
            Thread.onSpinWait();
        }
    }

    /** A file system whose stat throws an {@link Error} for three paths, counting the calls. */
    static class ErrorThrowingFileSystemDouble extends HeapFileSystemDouble {
        final AtomicInteger thrown = new AtomicInteger();

        @Override
        public synchronized FileAttributes stat(Credentials who, String path) throws FsException {
            switch (path) {
                case "/stack" -> {
                    thrown.incrementAndGet();
                    throw new StackOverflowError("provoked");
                }
                case "/memory" -> {
                    thrown.incrementAndGet();
                    throw new OutOfMemoryError("provoked");
                }
                case "/assert" -> {
                    thrown.incrementAndGet();
                    throw new AssertionError("provoked");
                }
                default -> {
                    return super.stat(who, path);
                }
            }
        }
    }

    /** An Error escaping the file system completes the slot with EIO once; the request is not run again. */
    @Test
    void shouldAnswerEioOnceWhenAnErrorEscapesTheFileSystem() throws Exception {
        ErrorThrowingFileSystemDouble fs = new ErrorThrowingFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        try (ShmServer server = new ShmServer(
                        fs, socket, ShmServerConfig.DEFAULTS.withWorkers(1), new ThreadPerAgentModelDouble());
                FspClient c = startAndConnect(server, socket)) {
            for (String path : List.of("/stack", "/memory", "/assert")) {
                FileSystemException e = assertTimeoutPreemptively(
                        Duration.ofSeconds(10), () -> assertThrows(FileSystemException.class, () -> c.stat(path)));
                assertEquals(Errno.EIO, ((FspException) e).errno(), path);
            }
            assertEquals(3, fs.thrown.get(), "each request ran once");
            assertTrue(c.stat("/").isDirectory(), "the worker goes on");
        }
    }

    /**
     * A server configured with 8 KiB slots adopts a client of one with 16 KiB slots: the client's full-size reads and
     * writes work (the server keeps the session's own slot size), and a new client gets the new size.
     */
    @Test
    void shouldServeFullSizeRequestsOfAClientAdoptedByAServerWithSmallerSlots() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        ShmServer first = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        first.start();
        ShmServer second = null;
        try (FspClient c = FspClient.connect(socket)) {
            long h = c.open("/big", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            ChannelHandoff handoff = first.quiesce();
            second = ShmServer.adopt(
                    fs, handoff, ShmServerConfig.DEFAULTS.withSlots(64, 8192), new ThreadPerAgentModelDouble());
            second.start();
            byte[] out = new byte[3 * 16384];
            new Random(3).nextBytes(out);
            assertEquals(out.length, c.pwrite(h, 0, out, 0, out.length));
            byte[] in = new byte[out.length];
            assertEquals(in.length, c.pread(h, 0, in, 0, in.length));
            assertArrayEquals(out, in);
            c.close(h);
            try (RawChannel fresh = RawChannel.connect(socket, 1)) {
                assertEquals(8192, fresh.layout.slotDataBytes());
            }
        } finally {
            if (second != null) {
                second.close();
            } else if (first.isRunning()) {
                first.close();
            }
        }
    }

    /**
     * A client that has connected but not yet said hello when ipc-shm is handed over (an honest client whose process
     * was not scheduled in between) finishes its handshake with the successor: the connection crosses in the hand-off
     * instead of being closed, so the client never sees EPIPE.
     */
    @Test
    void shouldHandAConnectionThatHasNotSaidHelloYetToTheSuccessor() throws Throwable {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        ShmServer first = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        first.start();
        ShmServer second = null;
        int fd = UnixSockets.connect(socket.toString());
        try (Arena arena = Arena.ofConfined()) {
            ShmServerTest.awaitTrue(() -> !first.pendingHandshakes().isEmpty());
            ChannelHandoff handoff = first.quiesce();
            assertEquals(1, handoff.pendingFds().size(), "the silent connection crosses in the hand-off");
            second = ShmServer.adopt(fs, handoff, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
            second.start();
            UnixSockets.send(fd, RawChannel.hello(arena, 1), -1);
            MemorySegment welcome = arena.allocate(HandshakeDescriptor.WELCOME_BYTES, 8);
            UnixSockets.Received r = UnixSockets.receive(fd, welcome);
            assertEquals(0, welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_STATUS_OFFSET), "welcomed");
            assertTrue(r.fd() >= 0, "the successor passed a segment");
            Libc.close(r.fd());
            ShmServer s = second;
            ShmServerTest.awaitTrue(() -> s.clients().size() == 1);
        } finally {
            Libc.close(fd);
            if (second != null) {
                second.close();
            } else if (first.isRunning()) {
                first.close();
            }
        }
    }

    private static final int EPERM = 1;
    private static final int FALLOC_FL_KEEP_SIZE = 0x01;
    private static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    private static final int MADV_REMOVE = 9;
    private static final MethodHandle FALLOCATE = NativeCall.bind(
            "fallocate",
            FunctionDescriptor.of(NativeCall.INT, NativeCall.INT, NativeCall.INT, NativeCall.LONG, NativeCall.LONG));
    private static final MethodHandle MADVISE = NativeCall.bind(
            "madvise", FunctionDescriptor.of(NativeCall.INT, NativeCall.POINTER, NativeCall.LONG, NativeCall.INT));

    /**
     * A client's memfd comes sealed against shrinking, growing and new seals (so no SIGBUS can reach the server);
     * what it may still do, punching holes in it and MADV_REMOVE on its mapping, only zeroes its own slots: the
     * server goes on serving it and the others.
     */
    @Test
    void shouldNotNoticeWhatAClientDoesToItsOwnMemfd() throws Throwable {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        try (ShmServer server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
                FspClient honest = startAndConnect(server, socket);
                RawChannel raw = RawChannel.connect(socket, 1)) {
            long size = raw.layout.segmentBytes();
            assertEquals(MemFd.F_SEAL_SHRINK | MemFd.F_SEAL_GROW | MemFd.F_SEAL_SEAL, MemFd.seals(raw.memfd));
            assertEquals(
                    EPERM,
                    assertThrows(NativeException.class, () -> Libc.ftruncate(raw.memfd, 4096))
                            .errno());
            assertEquals(
                    EPERM,
                    assertThrows(NativeException.class, () -> Libc.ftruncate(raw.memfd, 2 * size))
                            .errno());
            assertEquals(
                    EPERM,
                    assertThrows(NativeException.class, () -> MemFd.addSeals(raw.memfd, MemFd.F_SEAL_WRITE))
                            .errno());
            raw.post(0, 0, ChannelOpcodes.NOOP);
            assertEquals(0, raw.await(0, 0, 5_000));

            int punched = (int) FALLOCATE.invokeExact(
                    NativeCall.errnoSegment(), raw.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0L, size);
            assertEquals(0, punched, "punching a hole is allowed (it only zeroes the client's pages)");
            assertEquals(0, raw.segment.get(JAVA_LONG, 0), "the header is gone for the client too");
            raw.post(0, 1, ChannelOpcodes.NOOP);
            assertEquals(0, raw.await(0, 1, 5_000));

            int removed = (int) MADVISE.invokeExact(NativeCall.errnoSegment(), raw.segment, size, MADV_REMOVE);
            assertEquals(0, removed);
            raw.post(0, 2, ChannelOpcodes.NOOP);
            assertEquals(0, raw.await(0, 2, 5_000));

            assertTrue(honest.stat("/").isDirectory());
            assertEquals(2, server.clients().size(), "the tampering client is still served");
        }
    }

    /**
     * Bulk requests whose range leaves the bulk area (past its end, negative, longer than 1 MiB, an offset that
     * overflows with its length) are refused with EINVAL before the handle is even looked up; a range inside it gets
     * as far as the handle (EBADF for a handle never opened). The honest client's large transfers go on beside.
     */
    @Test
    void shouldRefuseBulkRangesOutsideTheBulkArea() throws Throwable {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        try (ShmServer server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
                FspClient honest = startAndConnect(server, socket);
                RawChannel raw = RawChannel.connect(socket, 2)) {
            long area = raw.layout.bulkBytes();
            assertEquals(2L * ChannelLayout.BULK_IO_BYTES, area, "one bulk buffer per lane");
            long[][] outside = {
                {area - 4096, 8192},
                {-4096, 4096},
                {0, ChannelLayout.BULK_IO_BYTES + 1},
                {Long.MAX_VALUE - 10, 4096},
                {4096, -1},
                {area, 1}
            };
            int slot = 0;
            for (int opcode : new int[] {ChannelOpcodes.PREAD_BULK, ChannelOpcodes.PWRITE_BULK}) {
                for (long[] range : outside) {
                    int at = slot++;
                    raw.post(
                            0,
                            at,
                            req -> req.opcode(opcode).handle(1).length(range[1]).arg0(range[0]));
                    assertEquals(
                            -Errno.EINVAL.code(),
                            raw.await(0, at, 5_000),
                            ChannelOpcodes.name(opcode) + " " + range[0] + "+" + range[1]);
                }
                int at = slot++;
                raw.post(0, at, req -> req.opcode(opcode)
                        .handle(77)
                        .length(ChannelLayout.BULK_IO_BYTES)
                        .arg0(area - ChannelLayout.BULK_IO_BYTES));
                assertEquals(-Errno.EBADF.code(), raw.await(0, at, 5_000), "a range inside reaches the handle check");
            }
            byte[] big = new byte[3 * ChannelLayout.BULK_IO_BYTES + 5];
            new Random(11).nextBytes(big);
            honest.writeAll("/big", big);
            assertArrayEquals(big, honest.readAll("/big"));
            assertEquals(2, server.clients().size(), "the client that sent bad ranges is still served");
        }
    }

    /**
     * Malformed hellos: two descriptors, one descriptor, a hello split over two messages, trailing bytes in the hello's
     * message, bytes sent after the welcome, a hello and an immediate close. Each is refused (EINVAL) or released,
     * the honest client is served throughout, and the server's descriptor count comes back to where it was.
     */
    @Test
    void shouldRefuseMalformedHellosAndLeakNoDescriptor() throws Throwable {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        try (ShmServer server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
                FspClient honest = startAndConnect(server, socket);
                Arena arena = Arena.ofConfined()) {
            MemorySegment hello = RawChannel.hello(arena, 1);
            assertEquals(Errno.EINVAL.code(), statusAfter(socket, fd -> sendWithDescriptors(fd, hello, 2)));
            int before = openDescriptors();

            assertEquals(Errno.EINVAL.code(), statusAfter(socket, fd -> sendWithDescriptors(fd, hello, 2)));
            assertEquals(Errno.EINVAL.code(), statusAfter(socket, fd -> sendWithDescriptors(fd, hello, 1)));
            assertEquals(Errno.EINVAL.code(), statusAfter(socket, fd -> {
                UnixSockets.send(fd, hello.asSlice(0, 8), -1);
                Thread.sleep(50);
                try {
                    UnixSockets.send(fd, hello.asSlice(8), -1);
                } catch (NativeException refusedAlready) {
                    // The server answered the first part and closed.
                }
            }));
            MemorySegment longer = arena.allocate(HandshakeDescriptor.HELLO_BYTES + 8, 8);
            MemorySegment.copy(hello, 0, longer, 0, HandshakeDescriptor.HELLO_BYTES);
            assertEquals(Errno.EINVAL.code(), statusAfter(socket, fd -> UnixSockets.send(fd, longer, -1)));

            RawChannel chatty = RawChannel.connect(socket, 1);
            ShmServerTest.awaitTrue(() -> server.clients().size() == 2);
            UnixSockets.send(chatty.socketFd, arena.allocate(1), -1);
            ShmServerTest.awaitTrue(() -> server.clients().size() == 1);
            chatty.close();

            int quitter = UnixSockets.connect(socket.toString());
            UnixSockets.send(quitter, hello, -1);
            Libc.close(quitter);
            ShmServerTest.awaitTrue(() -> server.clients().size() == 1);

            assertTrue(honest.stat("/").isDirectory());
            ShmServerTest.awaitTrue(() -> openDescriptors() == before);
            assertEquals(5L, server.refusals().get(ShmServer.REFUSED_BAD_HELLO));
        }
    }

    @FunctionalInterface
    private interface SocketAction {
        void on(int fd) throws Throwable;
    }

    /** Connects, does {@code action}, and returns the status of the welcome the server answers with. */
    private static int statusAfter(Path socket, SocketAction action) throws Throwable {
        int fd = UnixSockets.connect(socket.toString());
        try (Arena arena = Arena.ofConfined()) {
            action.on(fd);
            MemorySegment welcome = arena.allocate(HandshakeDescriptor.WELCOME_BYTES, 8);
            UnixSockets.Received r = UnixSockets.receive(fd, welcome);
            assertEquals(-1, r.fd(), "no segment for a refused hello");
            assertEquals(HandshakeDescriptor.WELCOME_BYTES, r.bytes());
            return welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_STATUS_OFFSET);
        } finally {
            Libc.close(fd);
        }
    }

    private static final MethodHandle SENDMSG = NativeCall.bind(
            "sendmsg", FunctionDescriptor.of(NativeCall.LONG, NativeCall.INT, NativeCall.POINTER, NativeCall.INT));

    /** Sends {@code data} with {@code count} fresh memfds attached in one SCM_RIGHTS message, then closes ours. */
    private static void sendWithDescriptors(int fd, MemorySegment data, int count) throws Throwable {
        int[] passed = new int[count];
        for (int i = 0; i < count; i++) {
            passed[i] = MemFd.create("passed-" + i, MemFd.MFD_CLOEXEC);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = arena.allocate(SocketStructs.IOVEC_SIZE, 8);
            iov.set(JAVA_LONG, SocketStructs.IOV_BASE_OFFSET, data.address());
            iov.set(JAVA_LONG, SocketStructs.IOV_LEN_OFFSET, data.byteSize());
            long cmsgLen = SocketStructs.CMSG_DATA_OFFSET + 4L * count;
            long space = (cmsgLen + 7) & ~7L;
            MemorySegment control = arena.allocate(space, 8);
            control.set(JAVA_LONG, SocketStructs.CMSG_LEN_OFFSET, cmsgLen);
            control.set(JAVA_INT, SocketStructs.CMSG_LEVEL_OFFSET, UnixSockets.SOL_SOCKET);
            control.set(JAVA_INT, SocketStructs.CMSG_TYPE_OFFSET, UnixSockets.SCM_RIGHTS);
            for (int i = 0; i < count; i++) {
                control.set(JAVA_INT, SocketStructs.CMSG_DATA_OFFSET + 4L * i, passed[i]);
            }
            MemorySegment msg = arena.allocate(SocketStructs.MSGHDR_SIZE, 8);
            msg.set(JAVA_LONG, SocketStructs.MSG_IOV_OFFSET, iov.address());
            msg.set(JAVA_LONG, SocketStructs.MSG_IOVLEN_OFFSET, 1);
            msg.set(JAVA_LONG, SocketStructs.MSG_CONTROL_OFFSET, control.address());
            msg.set(JAVA_LONG, SocketStructs.MSG_CONTROLLEN_OFFSET, space);
            long sent = (long) SENDMSG.invokeExact(NativeCall.errnoSegment(), fd, msg, UnixSockets.MSG_NOSIGNAL);
            NativeCall.check(sent, "sendmsg");
        } finally {
            Arrays.stream(passed).forEach(Libc::close);
        }
    }

    private static final int RLIMIT_NOFILE = 7;
    private static final MethodHandle GETRLIMIT =
            NativeCall.bind("getrlimit", FunctionDescriptor.of(NativeCall.INT, NativeCall.INT, NativeCall.POINTER));
    private static final MethodHandle SETRLIMIT =
            NativeCall.bind("setrlimit", FunctionDescriptor.of(NativeCall.INT, NativeCall.INT, NativeCall.POINTER));

    /** This process's RLIMIT_NOFILE: soft, hard. */
    private static long[] descriptorLimit() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(16, 8);
            NativeCall.check((int) GETRLIMIT.invokeExact(NativeCall.errnoSegment(), RLIMIT_NOFILE, r), "getrlimit");
            return new long[] {r.get(JAVA_LONG, 0), r.get(JAVA_LONG, 8)};
        }
    }

    private static void setDescriptorLimit(long soft, long hard) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(16, 8);
            r.set(JAVA_LONG, 0, soft);
            r.set(JAVA_LONG, 8, hard);
            NativeCall.check((int) SETRLIMIT.invokeExact(NativeCall.errnoSegment(), RLIMIT_NOFILE, r), "setrlimit");
        }
    }

    /** Descriptors open in this process (the server's, since it runs here), from /proc/self/fd. */
    private static int openDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return (int) fds.count();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Collects what the server logs at WARN and above. */
    private static ListAppender<ILoggingEvent> captureWarnings() {
        Logger logger = (Logger) LoggerFactory.getLogger(ShmServer.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.addFilter(new ch.qos.logback.core.filter.Filter<>() {
            @Override
            public ch.qos.logback.core.spi.FilterReply decide(ILoggingEvent e) {
                return e.getLevel().isGreaterOrEqual(Level.WARN)
                        ? ch.qos.logback.core.spi.FilterReply.NEUTRAL
                        : ch.qos.logback.core.spi.FilterReply.DENY;
            }
        });
        lines.start();
        logger.addAppender(lines);
        return lines;
    }

    private static void releaseWarnings(ListAppender<ILoggingEvent> lines) {
        ((Logger) LoggerFactory.getLogger(ShmServer.class)).detachAppender(lines);
    }

    private static long timedConnect(Path socket) throws IOException {
        long start = System.nanoTime();
        try (FspClient c = FspClient.connect(socket)) {
            c.noop();
        }
        return System.nanoTime() - start;
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static FspClient startAndConnect(ShmServer server, Path socket) throws Exception {
        server.start();
        return FspClient.connect(socket);
    }
}
