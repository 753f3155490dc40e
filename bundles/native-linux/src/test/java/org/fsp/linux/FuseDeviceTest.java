package org.fsp.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FuseDeviceTest {

    /** FUSE_INIT's opcode: the first request of every connection. */
    private static final int FUSE_INIT = 26;

    @TempDir
    Path dir;

    @Test
    void shouldEncodeTheCloneIoctlAsTheKernelHeaderDoes() {
        assertEquals(0x8004E500L, FuseDevice.FUSE_DEV_IOC_CLONE);
    }

    @Test
    void shouldMountReadInitThroughACloneAndDetach() throws Exception {
        assumeTrue(Libc.getuid() == 0, "skipped: mounting FUSE needs root");
        assumeTrue(Files.exists(Path.of(FuseDevice.PATH)), "skipped: no /dev/fuse");
        int fd = FuseDevice.open(true);
        int clone = -1;
        try (Arena arena = Arena.ofConfined()) {
            FuseDevice.mount(
                    "fsp-test",
                    dir.toString(),
                    "fuse.fsptest",
                    FuseDevice.MS_NOSUID | FuseDevice.MS_NODEV,
                    FuseDevice.mountOptions(fd, 0, 0));
            assertTrue(Files.readString(Path.of("/proc/self/mountinfo")).contains(dir.toString()));
            clone = FuseDevice.cloneOf(fd, true);
            MemorySegment pollfd = arena.allocate(8);
            assertTrue(FuseDevice.pollIn(clone, pollfd, 5_000), "INIT is queued after mount");
            MemorySegment buf = arena.allocate(1 << 20 | 8192, 8);
            long n = FuseDevice.read(clone, buf);
            assertTrue(n >= 40 + 16, "INIT has a header and a body: " + n);
            assertEquals(n, buf.get(ValueLayout.JAVA_INT, 0));
            assertEquals(FUSE_INIT, buf.get(ValueLayout.JAVA_INT, 4));
            assertEquals(-1, FuseDevice.read(fd, buf), "nothing else is queued before INIT is answered");
        } finally {
            FuseDevice.umount(dir.toString(), FuseDevice.MNT_DETACH);
            if (clone >= 0) {
                Libc.close(clone);
            }
            Libc.close(fd);
        }
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + dir + " "));
    }
}
