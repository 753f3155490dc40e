package org.fsp.ipc.shm;

import static org.fsp.api.fs.FileSystemService.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** rename2, access, the handle-based attribute calls and byte-range locks through the channel onto fs-core. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LinuxCallsOverChannelTest {

    @TempDir
    Path dir;

    private FsCoreBehindServer served;
    private Path socket;

    @BeforeEach
    void start() throws Exception {
        served = new FsCoreBehindServer(dir);
        socket = served.socket;
    }

    @AfterEach
    void stop() throws Exception {
        served.close();
    }

    @Test
    void shouldCarryExtendedAttributesAndTheirErrnos() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            c.writeAll("/f", new byte[] {1});
            c.symlink("/f", "/link");
            byte[] value = new byte[3000];
            java.util.Arrays.fill(value, (byte) 7);
            c.setxattr("/f", "user.big", value, XATTR_CREATE, true);
            c.setxattr("/link", "user.small", new byte[] {1, 2}, 0, true);
            assertEquals(java.util.List.of("user.big", "user.small"), c.listxattr("/f", true));
            assertEquals(java.util.List.of(), c.listxattr("/link", false));
            org.junit.jupiter.api.Assertions.assertArrayEquals(value, c.getxattr("/f", "user.big", true));
            assertEquals(Errno.EEXIST, errno(() -> c.setxattr("/f", "user.big", new byte[1], XATTR_CREATE, true)));
            assertEquals(Errno.ENODATA, errno(() -> c.getxattr("/f", "user.none", true)));
            assertEquals(Errno.ENODATA, errno(() -> c.getxattr("/link", "user.small", false)));
            assertEquals(Errno.EPERM, errno(() -> c.setxattr("/link", "user.x", new byte[1], 0, false)));
            assertEquals(Errno.EOPNOTSUPP, errno(() -> c.getxattr("/f", "system.x", true)));
            assertEquals(Errno.ERANGE, errno(() -> c.getxattr("/f", "", true)));
            assertEquals(Errno.E2BIG, errno(() -> c.setxattr("/f", "user.x", new byte[70_000], 0, true)));
            assertEquals(Errno.ENOSPC, errno(() -> c.setxattr("/f", "user.x", new byte[2000], 0, true)));
            c.removexattr("/f", "user.big", true);
            assertEquals(java.util.List.of("user.small"), c.listxattr("/f", true));
        }
    }

    private static Errno errno(org.junit.jupiter.api.function.Executable e) {
        return ((FspException) assertThrows(FileSystemException.class, e)).errno();
    }

    @Test
    void shouldCarryTheNewCallsAndTheirErrnos() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            c.writeAll("/a", new byte[] {1});
            c.writeAll("/b", new byte[] {2, 2});
            assertThrows(FileAlreadyExistsException.class, () -> c.rename("/a", "/b", RENAME_NOREPLACE));
            c.rename("/a", "/b", RENAME_EXCHANGE);
            assertEquals(2, c.stat("/a").size());
            FileSystemException bad =
                    assertThrows(FileSystemException.class, () -> c.rename("/a", "/b", RENAME_EXCHANGE | 8));
            assertEquals(Errno.EINVAL, ((FspException) bad).errno());
            c.access("/a", F_OK);
            c.access("/a", R_OK | W_OK);
            assertThrows(NoSuchFileException.class, () -> c.access("/none", F_OK));
            long h = c.open("/a", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC | OpenFlags.O_NOATIME, 0);
            c.fchmod(h, 0600);
            c.futimens(h, 3_000_000_000L, 4_000_000_000L);
            c.fchown(h, 1234, -1);
            assertEquals(0600, c.fstat(h).mode() & 07777);
            assertEquals(4_000_000_000L, c.fstat(h).mtimeNanos());
            assertEquals(1234, c.fstat(h).uid());
            c.close(h);
            // The server owns the file now that uid 1234 has it; as root the client may still do anything.
            assertThrows(AccessDeniedException.class, () -> c.access("/a", X_OK));
        }
    }

    @Test
    void shouldReleaseADeadClientsLocks() throws Exception {
        try (FspClient first = FspClient.connect(socket);
                FspClient second = FspClient.connect(socket)) {
            first.writeAll("/db", new byte[100]);
            long h1 = first.open("/db", OpenFlags.O_RDWR, 0);
            long h2 = second.open("/db", OpenFlags.O_RDWR, 0);
            assertTrue(first.setlk(h1, F_WRLCK, 0, 0));
            assertFalse(second.setlk(h2, F_RDLCK, 10, 1));
            first.close(); // the server closes its handles, and the locks go with them
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            boolean got;
            while (!(got = second.setlk(h2, F_WRLCK, 0, 0)) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(got, "the lock of a disconnected client is released");
        }
    }
}
