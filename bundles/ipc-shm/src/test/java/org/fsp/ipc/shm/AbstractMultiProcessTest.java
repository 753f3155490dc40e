package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.linux.Libc;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients in separate JVMs: real processes, real memfd sharing, real SO_PEERCRED, real SIGKILL. Run against every
 * file system behind the server (the heap double, fs-core on a RAM device) by the subclasses.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
abstract class AbstractMultiProcessTest {

    @TempDir
    Path dir;

    ShmServer server;
    Path socket;

    /** A fresh, empty file system whose root everybody may traverse and only root may write. */
    abstract FileSystemService newFileSystem() throws Exception;

    /** Handles the file system holds open right now. */
    abstract int openHandles();

    /** Releases what {@link #newFileSystem} made. */
    abstract void closeFileSystem() throws Exception;

    @BeforeEach
    void start() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        socket = dir.resolve("fsp.sock");
        server = new ShmServer(newFileSystem(), socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        server.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        closeFileSystem();
    }

    @Test
    void shouldShareFilesBetweenClientProcesses() throws Exception {
        int size = 300_000;
        String expected;
        try (ChildJvm writer = ChildJvm.start(
                ClientProcessMain.class, "write", socket.toString(), "/shared", String.valueOf(size), "42")) {
            expected = writer.awaitLine("CRC", 30_000).substring(4);
            assertEquals(0, writer.waitFor(30_000));
        }
        try (ChildJvm reader = ChildJvm.start(ClientProcessMain.class, "read", socket.toString(), "/shared")) {
            assertEquals("CRC " + expected + " " + size, reader.awaitLine("CRC", 30_000));
            assertEquals(0, reader.waitFor(30_000));
        }
        byte[] data = new byte[size];
        new Random(42).nextBytes(data);
        CRC32 crc = new CRC32();
        crc.update(data);
        assertEquals(String.valueOf(crc.getValue()), expected);
        try (FspClient c = FspClient.connect(socket)) {
            byte[] back = c.readAll("/shared");
            assertEquals(size, back.length);
            CRC32 here = new CRC32();
            here.update(back);
            assertEquals(crc.getValue(), here.getValue());
        }
        ShmServerTest.awaitTrue(() -> server.clients().isEmpty() && openHandles() == 0);
    }

    @Test
    void shouldReleaseEverythingOfAClientKilledMidRequestWhileOthersContinue() throws Exception {
        try (FspClient survivor = FspClient.connect(socket)) {
            long mine = survivor.open("/mine", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            try (ChildJvm victim = ChildJvm.start(ClientProcessMain.class, "loop", socket.toString(), "/victim")) {
                victim.awaitLine("READY", 30_000);
                ShmServerTest.awaitTrue(() ->
                        server.clients().stream().anyMatch(i -> i.pid() == victim.pid() && i.requestsServed() > 2_000));
                assertEquals(4, openHandles());
                long killedAt = System.nanoTime();
                victim.kill();
                ShmServerTest.awaitTrue(() -> server.clients().stream().noneMatch(i -> i.pid() == victim.pid()));
                ShmServerTest.awaitTrue(() -> openHandles() == 1);
                System.out.printf(
                        "released a SIGKILLed client's 3 handles and segment %.1f ms after the kill%n",
                        (System.nanoTime() - killedAt) / 1e6);
            }
            byte[] block = "still here".getBytes();
            for (int i = 0; i < 1000; i++) {
                survivor.pwrite(mine, i, block, 0, block.length);
            }
            byte[] back = new byte[block.length];
            survivor.pread(mine, 999, back, 0, back.length);
            assertEquals("still here", new String(back));
            assertEquals(1, server.clients().size());
            survivor.close(mine);
        }
    }

    @Test
    void shouldDenyAnotherUserAccessToARootOnlyFile() throws Exception {
        assumeTrue(Libc.getuid() == 0, "needs root to start a client as uid 65534");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv from util-linux");
        try (FspClient root = FspClient.connect(socket)) {
            root.writeAll("/private", "secret".getBytes());
            root.chmod("/private", 0600);
            root.writeAll("/public", "hello".getBytes());
            root.chmod("/public", 0644);
        }
        Path cp = Files.createTempDirectory("fsp-cp-");
        try {
            String classPath = worldReadableCopy(cp);
            try (ChildJvm nobody = ChildJvm.start(
                    List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
                    classPath,
                    ClientProcessMain.class,
                    "probe",
                    socket.toString(),
                    "/private",
                    "/public")) {
                assertEquals("PRIVATE-READ DENIED EACCES", nobody.awaitLine("PRIVATE-READ", 30_000));
                assertEquals("PUBLIC-READ OK 5", nobody.awaitLine("PUBLIC-READ", 30_000));
                assertEquals("PUBLIC-WRITE DENIED EACCES", nobody.awaitLine("PUBLIC-WRITE", 30_000));
                assertEquals(0, nobody.waitFor(30_000));
            }
        } finally {
            deleteTree(cp);
        }
        try (FspClient root = FspClient.connect(socket)) {
            assertEquals("hello", new String(root.readAll("/public")));
        }
    }

    /** Copies this JVM's class path to {@code into}, readable by everyone (root's Maven repository is not). */
    static String worldReadableCopy(Path into) throws IOException {
        Files.setPosixFilePermissions(into, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String entry : ChildJvm.testClassPath().split(java.io.File.pathSeparator)) {
            Path from = Path.of(entry);
            if (!Files.exists(from)) {
                continue;
            }
            Path to = into.resolve(n++ + "-" + from.getFileName());
            if (Files.isDirectory(from)) {
                try (Stream<Path> walk = Files.walk(from)) {
                    for (Path p : (Iterable<Path>) walk::iterator) {
                        Path target = to.resolve(from.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(target);
                            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
                        } else {
                            Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
                        }
                    }
                }
            } else {
                Files.copy(from, to);
                Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-r--r--"));
            }
            entries.add(to.toString());
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
