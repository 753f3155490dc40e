package org.fsp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.HandshakeDescriptor;
import org.fsp.api.fs.Errno;
import org.fsp.linux.Libc;
import org.fsp.linux.UnixSockets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FS Lib against a scripted peer that answers the hello with a chosen welcome. */
class FspClientHandshakeTest {

    @TempDir
    Path dir;

    @Test
    void shouldRefuseAServerOfAnUnknownMajorVersionSayingSo() throws Exception {
        IOException e = assertThrows(IOException.class, () -> connectTo(ChannelHeaderDescriptor.version(2, 1), 0));
        assertTrue(e.getMessage().contains("version 2.1 is not supported"), e.getMessage());
    }

    @Test
    void shouldReportARefusalAsItsErrno() throws Exception {
        FileSystemException e = assertThrows(
                FileSystemException.class, () -> connectTo(ChannelHeaderDescriptor.version(1, 0), Errno.EAGAIN.code()));
        assertEquals(Errno.EAGAIN, ((FspException) e).errno());
    }

    @Test
    void shouldSayWhenNoServerListens() {
        IOException e = assertThrows(IOException.class, () -> FspClient.connect(dir.resolve("none.sock")));
        assertTrue(e.getMessage().startsWith("no FSP server at"), e.getMessage());
    }

    private void connectTo(int version, int status) throws Exception {
        Path socket = dir.resolve("peer.sock");
        int listener = UnixSockets.listen(socket.toString(), 1);
        try {
            CompletableFuture<Void> peer = CompletableFuture.runAsync(() -> {
                int fd = UnixSockets.accept(listener);
                try (Arena arena = Arena.ofConfined()) {
                    UnixSockets.receive(fd, arena.allocate(HandshakeDescriptor.HELLO_BYTES, 8));
                    MemorySegment welcome = arena.allocate(HandshakeDescriptor.WELCOME_BYTES, 8);
                    welcome.set(ValueLayout.JAVA_LONG, HandshakeDescriptor.MAGIC_OFFSET, ChannelHeaderDescriptor.MAGIC);
                    welcome.set(ValueLayout.JAVA_INT, HandshakeDescriptor.VERSION_OFFSET, version);
                    welcome.set(ValueLayout.JAVA_INT, HandshakeDescriptor.WELCOME_STATUS_OFFSET, status);
                    UnixSockets.send(fd, welcome, -1);
                } finally {
                    Libc.close(fd);
                }
            });
            try (FspClient c = FspClient.connect(socket)) {
                c.noop();
            } finally {
                peer.get(10, TimeUnit.SECONDS);
            }
        } finally {
            Libc.close(listener);
        }
    }
}
