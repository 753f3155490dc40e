package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.junit.jupiter.api.Test;

class OpenFileTableTest {

    @Test
    void shouldNotAnswerToAClosedAndReusedNumber() throws Exception {
        OpenFileTable t = new OpenFileTable(4);
        long a = t.add(100);
        assertEquals(100, t.remove(a));
        long b = t.add(200);
        assertNotEquals(a, b);
        assertEquals(
                Errno.EBADF, assertThrows(FsException.class, () -> t.lookup(a)).errno());
        assertEquals(200, t.lookup(b));
    }

    @Test
    void shouldRejectForeignAndMalformedNumbers() {
        OpenFileTable t = new OpenFileTable(4);
        for (long h : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 32, (1L << 32) | 3}) {
            assertEquals(
                    Errno.EBADF,
                    assertThrows(FsException.class, () -> t.lookup(h)).errno());
        }
    }

    @Test
    void shouldLimitWithEmfileAndRefuseAfterCloseAll() throws Exception {
        OpenFileTable t = new OpenFileTable(2);
        t.add(1);
        t.add(2);
        assertEquals(
                Errno.EMFILE, assertThrows(FsException.class, () -> t.add(3)).errno());
        long[] held = t.closeAll();
        java.util.Arrays.sort(held);
        assertArrayEquals(new long[] {1, 2}, held);
        assertEquals(-1, t.add(4));
        assertEquals(0, t.size());
    }
}
