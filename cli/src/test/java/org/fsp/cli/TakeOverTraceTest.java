package org.fsp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TakeOverTraceTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void shouldEndEachPhaseWhereTheNextBeginsAndTheLastAtServing() {
        TakeOverTrace t = new TakeOverTrace(1000 * MS, false);
        t.begin("hand-over", 1000 * MS);
        t.begin("org.fsp.block.nvme", 1002 * MS);
        t.begin("org.fsp.fs.core", 1040 * MS);
        t.end("serving", 1100 * MS);
        assertEquals(Map.of("hand-over", 2L, "block-nvme", 38L, "fs-core", 60L), t.phaseMillis());
        assertEquals(
                List.of("hand-over", "block-nvme", "fs-core"),
                List.copyOf(t.phaseMillis().keySet()));
    }

    @Test
    void shouldAddUpARepeatedPhaseAndIgnoreBeginningsAfterServing() {
        TakeOverTrace t = new TakeOverTrace(0, false);
        t.begin("start-level", 0);
        t.begin("org.fsp.ipc.shm", 5 * MS);
        t.begin("start-level", 7 * MS);
        t.end("serving", 10 * MS);
        t.begin("org.fsp.admin", 300 * MS);
        assertEquals(Map.of("start-level", 8L, "ipc-shm", 2L), t.phaseMillis());
    }

    @Test
    void shouldEncodeForTheControlLineWithoutPhasesUnderAMillisecond() {
        TakeOverTrace t = new TakeOverTrace(0, false);
        t.begin("supervisor-word", 0);
        t.begin("org.fsp.block.nvme", MS / 2);
        t.end("serving", 12 * MS);
        assertEquals("block-nvme=11", t.encoded());
        assertEquals("block-nvme 11 ms", TakeOverTrace.readable(t.encoded()));
        assertEquals("", TakeOverTrace.readable("-"));
        assertEquals("a 1 ms, b 2 ms", TakeOverTrace.readable("a=1,b=2"));
    }
}
