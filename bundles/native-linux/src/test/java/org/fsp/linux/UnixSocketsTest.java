package org.fsp.linux;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixSocketsTest {

    @TempDir
    Path dir;

    /** The two ends of a connection over a UNIX socket. */
    private record Connection(int server, int client) {}

    /** A connection over a socket {@code name} in the test's directory; the listener is closed again. */
    private Connection connected(String name) throws Exception {
        String path = dir.resolve(name).toString();
        int listener = UnixSockets.listen(path, 4);
        try {
            CompletableFuture<Integer> client = CompletableFuture.supplyAsync(() -> UnixSockets.connect(path));
            int server = UnixSockets.accept(listener);
            return new Connection(server, client.get(5, TimeUnit.SECONDS));
        } finally {
            Libc.close(listener);
        }
    }

    @Test
    void aLineGoesAsOneMessageWithItsNewlineAndTheDescriptor() throws Exception {
        Connection c = connected("line.sock");
        int memfd = MemFd.createSealed("line", 4096);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(15, UnixSockets.sendLine(c.server(), "fuse-fd 0 1 ü", memfd));
            assertEquals(6, UnixSockets.sendLine(c.server(), "ready", -1));
            MemorySegment into = arena.allocate(64);
            UnixSockets.Received first = UnixSockets.receive(c.client(), into);
            assertEquals(15, first.bytes());
            assertEquals(
                    "fuse-fd 0 1 ü\n",
                    new String(into.asSlice(0, first.bytes()).toArray(ValueLayout.JAVA_BYTE), UTF_8));
            assertNotEquals(-1, first.fd());
            Libc.close(first.fd());
            UnixSockets.Received second = UnixSockets.receive(c.client(), into);
            assertEquals("ready\n", new String(into.asSlice(0, second.bytes()).toArray(ValueLayout.JAVA_BYTE), UTF_8));
            assertEquals(-1, second.fd());
        } finally {
            Libc.close(memfd);
            Libc.close(c.server());
            Libc.close(c.client());
        }
    }

    @Test
    void shouldPassSealedMemfdWithPeerCredentials() throws Exception {
        Connection c = connected("s.sock");
        int server = c.server();
        int clientFd = c.client(); // closed by the test half way, to see the server end report it
        try {
            UnixSockets.PeerCredentials cred = UnixSockets.peerCredentials(server);
            assertEquals(ProcessHandle.current().pid(), cred.pid());
            assertEquals(Libc.getuid(), cred.uid());
            assertEquals(Libc.getgid(), cred.gid());
            UnixSockets.peerGroups(server);

            int memfd = MemFd.createSealed("test", 8192);
            assertEquals(MemFd.F_SEAL_SHRINK | MemFd.F_SEAL_GROW | MemFd.F_SEAL_SEAL, MemFd.seals(memfd));
            MemorySegment mine = Libc.mmap(8192, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment hello = arena.allocateFrom("hello");
                UnixSockets.send(server, hello, memfd);
                Libc.close(memfd);
                MemorySegment into = arena.allocate(64);
                UnixSockets.Received r = UnixSockets.receive(clientFd, into);
                assertEquals(6, r.bytes());
                assertEquals("hello", into.getString(0));
                assertNotEquals(-1, r.fd());
                NativeException sealed = assertThrows(NativeException.class, () -> Libc.ftruncate(r.fd(), 0));
                assertEquals(1, sealed.errno());
                MemorySegment theirs = Libc.mmap(8192, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, r.fd(), 0);
                Libc.close(r.fd());
                theirs.set(ValueLayout.JAVA_LONG, 4096, 42L);
                assertEquals(42L, mine.get(ValueLayout.JAVA_LONG, 4096));
                Libc.munmap(theirs);
            }
            Libc.munmap(mine);

            Libc.close(clientFd);
            clientFd = -1;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment fds = arena.allocate(SocketStructs.POLLFD_SIZE, 8);
                UnixSockets.setPollFd(fds, 0, server, UnixSockets.POLLIN);
                assertEquals(1, UnixSockets.poll(fds, 1, 1000));
                assertEquals(0, UnixSockets.receive(server, arena.allocate(8)).bytes());
            }
        } finally {
            Libc.close(server);
            if (clientFd != -1) {
                Libc.close(clientFd);
            }
        }
    }

    @Test
    void shouldAcceptReceiveAndPeekWithoutBlockingOrThrowingWhenNothingWaits() throws Exception {
        String path = dir.resolve("nb.sock").toString();
        int listener = UnixSockets.listen(path, 4);
        try (Arena arena = Arena.ofConfined()) {
            Libc.setNonBlocking(listener);
            assertEquals(-1, UnixSockets.acceptNonBlocking(listener), "no connection waits");
            int client = UnixSockets.connect(path);
            int server = UnixSockets.acceptNonBlocking(listener);
            try {
                assertTrue(server >= 0);
                MemorySegment buf = arena.allocate(16);
                assertEquals(
                        -1,
                        UnixSockets.receive(server, buf, UnixSockets.MSG_DONTWAIT)
                                .bytes());
                assertEquals(false, UnixSockets.hasPendingData(server));
                MemorySegment msg = arena.allocate(24);
                UnixSockets.send(client, msg, -1);
                assertEquals(
                        16,
                        UnixSockets.receive(server, buf, UnixSockets.MSG_DONTWAIT)
                                .bytes());
                assertTrue(UnixSockets.hasPendingData(server), "8 bytes are left after the first 16");
                assertEquals(
                        8,
                        UnixSockets.receive(server, buf, UnixSockets.MSG_DONTWAIT)
                                .bytes());
                assertEquals(false, UnixSockets.hasPendingData(server));
            } finally {
                Libc.close(client);
                Libc.close(server);
            }
        } finally {
            Libc.close(listener);
        }
    }

    @Test
    void shouldRefuseConnectWhenNobodyListens() {
        NativeException e = assertThrows(
                NativeException.class,
                () -> UnixSockets.connect(dir.resolve("none.sock").toString()));
        assertTrue(e.errno() == 2 || e.errno() == 111, e.getMessage());
    }

    @Test
    void shouldWakeFutexWaiterAndTimeOutOtherwise() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment word = arena.allocate(4, 4);
            assertTrue(!Futex.await(word, 0, 1_000_000L));
            assertTrue(Futex.await(word, 1, 1_000_000L), "a word that differs returns at once");
            CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
                while (word.get(ValueLayout.JAVA_INT, 0) == 0) {
                    Futex.await(word, 0, 5_000_000_000L);
                }
                return true;
            });
            Thread.sleep(20);
            word.set(ValueLayout.JAVA_INT, 0, 1);
            Futex.wake(word, 1);
            assertTrue(waiter.get(5, TimeUnit.SECONDS));

            MemorySegment entries = arena.allocate(2L * Futex.WAITV_ENTRY_SIZE, 8);
            MemorySegment other = arena.allocate(4, 4);
            Futex.setWaitv(entries, 0, word, 1, false);
            Futex.setWaitv(entries, 1, other, 0, true);
            assertTrue(!Futex.awaitAny(entries, 2, 1_000_000L));
            other.set(ValueLayout.JAVA_INT, 0, 7);
            assertTrue(Futex.awaitAny(entries, 2, 1_000_000_000L));
            assertArrayEquals(
                    new int[] {1, 7},
                    new int[] {word.get(ValueLayout.JAVA_INT, 0), other.get(ValueLayout.JAVA_INT, 0)});
        }
    }
}
