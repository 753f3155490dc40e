package org.fsp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.fsp.linux.Libc;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Which server FS Lib trusts (SO_PEERCRED checked before a byte is sent), and a socket planted by another user. */
class ServerTrustTest {

    private static final Path SOCKET = Path.of("/tmp/shared/fsp.sock");
    private static final ServerTrust.SocketFacts PRIVATE_DIR_OWNED_BY_500 = new ServerTrust.SocketFacts(500, false);
    private static final ServerTrust.SocketFacts SHARED_DIR_OWNED_BY_500 = new ServerTrust.SocketFacts(500, true);

    @Test
    void shouldTrustRootAndItsOwnUserAnywhere() {
        assertNull(ServerTrust.refusal(SOCKET, 0, 1, 1000, null, SHARED_DIR_OWNED_BY_500));
        assertNull(ServerTrust.refusal(SOCKET, 1000, 1, 1000, null, SHARED_DIR_OWNED_BY_500));
        assertNull(ServerTrust.refusal(SOCKET, 1000, 1, 1000, 77, SHARED_DIR_OWNED_BY_500));
    }

    @Test
    void shouldTrustTheSocketsOwnerOnlyInADirectoryNoOneElseWrites() {
        assertNull(ServerTrust.refusal(SOCKET, 500, 1, 1000, null, PRIVATE_DIR_OWNED_BY_500));
        String planted = ServerTrust.refusal(SOCKET, 500, 42, 1000, null, SHARED_DIR_OWNED_BY_500);
        assertNotNull(planted);
        assertTrue(planted.contains("uid 500 (pid 42)") && planted.contains("writable by other users"), planted);
        assertTrue(planted.contains("-Dfsp.server.uid=500"), planted);
        String stranger = ServerTrust.refusal(SOCKET, 501, 42, 1000, null, PRIVATE_DIR_OWNED_BY_500);
        assertTrue(stranger.contains("nor the socket's owner (uid 500)"), stranger);
    }

    @Test
    void shouldTrustExactlyTheConfiguredUidWhenOneIsGiven() {
        assertNull(ServerTrust.refusal(SOCKET, 77, 1, 1000, 77, SHARED_DIR_OWNED_BY_500));
        String owner = ServerTrust.refusal(SOCKET, 500, 1, 1000, 77, PRIVATE_DIR_OWNED_BY_500);
        assertTrue(owner.contains("fsp.server.uid expects uid 77"), owner);
    }

    @Test
    void shouldRejectAConfiguredUidThatIsNotANumber() {
        String before = System.getProperty(ServerTrust.EXPECTED_UID_PROPERTY);
        System.setProperty(ServerTrust.EXPECTED_UID_PROPERTY, "fspd");
        try {
            IOException e = assertThrows(IOException.class, () -> ServerTrust.check(SOCKET, 500, 1, 1000));
            assertTrue(e.getMessage().contains("not a uid"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(ServerTrust.EXPECTED_UID_PROPERTY);
            } else {
                System.setProperty(ServerTrust.EXPECTED_UID_PROPERTY, before);
            }
        }
    }

    /**
     * A process of another user (nobody, 65534) listens on a socket in a sticky, world-writable directory, as one
     * planted in /tmp would: connect must fail with a message naming it, and the impostor must receive nothing.
     */
    @Test
    void shouldRefuseASocketPlantedByAnotherUserBeforeSendingAnything() throws Exception {
        Assumptions.assumeTrue(Libc.getuid() == 0, "SKIPPED: needs root to run the impostor as another user");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "SKIPPED: needs setpriv (util-linux)");
        Path shared = Files.createTempDirectory(Path.of("/tmp"), "fsp-planted-");
        try {
            Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
            Files.setAttribute(shared, "unix:mode", 01777);
            Path source = shared.resolve("Impostor.java");
            Files.writeString(
                    source,
                    """
                    import java.net.*;
                    import java.nio.ByteBuffer;
                    import java.nio.channels.*;
                    public class Impostor {
                        public static void main(String[] a) throws Exception {
                            ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                            s.bind(UnixDomainSocketAddress.of(a[0]));
                            System.out.println("listening");
                            try (SocketChannel c = s.accept()) {
                                long total = 0;
                                ByteBuffer b = ByteBuffer.allocate(4096);
                                int n;
                                while ((n = c.read(b)) > 0) { total += n; b.clear(); }
                                System.out.println("received " + total);
                            }
                        }
                    }
                    """);
            Path socket = shared.resolve("fsp.sock");
            Process impostor = new ProcessBuilder(
                            "/usr/bin/setpriv",
                            "--reuid=65534",
                            "--regid=65534",
                            "--clear-groups",
                            Path.of(System.getProperty("java.home"), "bin", "java")
                                    .toString(),
                            source.toString(),
                            socket.toString())
                    .redirectErrorStream(true)
                    .start();
            try (BufferedReader out =
                    new BufferedReader(new InputStreamReader(impostor.getInputStream(), StandardCharsets.UTF_8))) {
                assertEquals("listening", out.readLine());
                IOException e = assertThrows(IOException.class, () -> FspClient.connect(socket));
                assertTrue(e.getMessage().contains("refusing the server at " + socket), e.getMessage());
                assertTrue(e.getMessage().contains("runs as uid 65534"), e.getMessage());
                assertEquals("received 0", out.readLine(), "the impostor must receive nothing");
                assertTrue(impostor.waitFor(30, TimeUnit.SECONDS));
            } finally {
                impostor.destroyForcibly();
            }
        } finally {
            try (Stream<Path> s = Files.walk(shared)) {
                List<Path> all = s.sorted(Comparator.reverseOrder()).toList();
                for (Path p : all) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
