package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.fsp.client.FspClient;
import org.fsp.linux.UnixSockets;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A server that accepts on a listening socket bound by someone else, as fspd does under {@code --supervise}. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShmServerInheritedSocketTest {

    @TempDir
    Path dir;

    @Test
    void shouldServeOnTheInheritedSocketAndLeaveItsFileAtClose() throws Exception {
        Path socket = dir.resolve("fsp.sock");
        int listenFd = UnixSockets.listen(socket.toString(), 16);
        // A client that connects before any server runs waits in the backlog, then is served.
        CompletableFuture<FspClient> early = CompletableFuture.supplyAsync(() -> {
            try {
                return FspClient.connect(socket);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Thread.sleep(200);
        ShmServer server = new ShmServer(
                new HeapFileSystemDouble(), socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        server.useInheritedSocket(listenFd);
        server.start();
        try (FspClient c = FspClient.connect(socket);
                FspClient waited = early.get(30, TimeUnit.SECONDS)) {
            c.writeAll("/f", "hello".getBytes(StandardCharsets.UTF_8));
            assertEquals("hello", new String(waited.readAll("/f"), StandardCharsets.UTF_8));
        } finally {
            server.close();
        }
        assertTrue(
                Files.exists(socket, LinkOption.NOFOLLOW_LINKS),
                "the socket file is its owner's to remove, not the server's");
    }

    @Test
    void shouldRefuseToChangeTheSocketOfARunningServer() throws Exception {
        ShmServer server = new ShmServer(
                new HeapFileSystemDouble(),
                dir.resolve("own.sock"),
                ShmServerConfig.DEFAULTS,
                new ThreadPerAgentModelDouble());
        server.start();
        try {
            assertThrows(IllegalStateException.class, () -> server.useInheritedSocket(3));
        } finally {
            server.close();
        }
    }

    @Test
    void componentShouldReadTheDescriptorFromTheFrameworkProperty() {
        assertEquals(-1, ShmServerComponent.inheritedListenFd(null));
        assertEquals(-1, ShmServerComponent.inheritedListenFd(""));
        assertEquals(7, ShmServerComponent.inheritedListenFd(" 7 "));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ShmServerComponent.inheritedListenFd("seven"));
        assertTrue(e.getMessage().contains("fsp.socket.listenFd"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ShmServerComponent.inheritedListenFd("-2"));
    }
}
