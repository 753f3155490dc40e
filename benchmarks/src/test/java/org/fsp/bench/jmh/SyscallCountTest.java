package org.fsp.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyscallCountTest {

    /** The table of {@code strace -f -c -o FILE}, as strace 6.1 writes it (an error count only where there are errors). */
    private static final List<String> TABLE = List.of(
            "% time     seconds  usecs/call     calls    errors syscall",
            "------ ----------- ----------- --------- --------- ----------------",
            " 61.20    0.012001          12      1001        17 futex",
            " 20.00    0.004000           4      1000           read",
            "  9.80    0.001960          65        30           futex_waitv",
            "  0.00    0.000000           0         8           mmap",
            "------ ----------- ----------- --------- --------- ----------------",
            "100.00    0.019601           9      2039        17 total");

    @Test
    void shouldReadTheTotalAndTheFutexCallsFromTheCallsColumn() throws IOException {
        var counts = SyscallCount.parse(TABLE, 5);

        assertEquals(2039, counts.total());
        assertEquals(1031, counts.futex());
        assertEquals(5, counts.requestPathFutexCalls());
    }

    @Test
    void shouldRejectOutputWithoutATotalRow() {
        assertThrows(IOException.class, () -> SyscallCount.parse(TABLE.subList(0, 5), 0));
    }
}
