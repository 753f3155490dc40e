package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile client process attacks its own channel while an honest client checks every answer it gets; then the
 * hostile one is killed with SIGKILL in the middle of its requests.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HostileClientTest {

    @TempDir
    Path dir;

    @Test
    void shouldKeepServingOthersCorrectlyWhileAClientMisbehavesAndDies() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("fsp.sock");
        ShmServerConfig config = ShmServerConfig.DEFAULTS.withLanes(2, 4);
        try (ShmServer server = new ShmServer(fs, socket, config);
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

    private static FspClient startAndConnect(ShmServer server, Path socket) throws Exception {
        server.start();
        return FspClient.connect(socket);
    }
}
