package org.fsp.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibcTest {

    @TempDir
    Path dir;

    @Test
    void shouldReportErrnoOfFailedOpen() {
        NativeException e = assertThrows(
                NativeException.class, () -> Libc.open(dir.resolve("missing").toString(), Libc.O_RDONLY, 0));
        assertEquals(2, e.errno());
        assertTrue(e.getMessage().contains("No such file"), e.getMessage());
    }

    @Test
    void shouldShareWritesThroughSharedMapping() throws Exception {
        Path file = dir.resolve("map");
        int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0600);
        try {
            Libc.ftruncate(fd, 4096);
            MemorySegment map = Libc.mmap(4096, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
            map.set(ValueLayout.JAVA_LONG, 8, 0x1122334455667788L);
            Libc.munmap(map);
            Libc.fsync(fd);
        } finally {
            Libc.close(fd);
        }
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(4096, bytes.length);
        assertEquals(0x11, bytes[15] & 0xff);
        assertEquals(0x88, bytes[8] & 0xff);
    }

    @Test
    void shouldReportOwnProcessIds() {
        assertEquals(ProcessHandle.current().pid(), Libc.getpid());
    }
}
