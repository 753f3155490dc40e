package org.fsp.bench.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportTest {

    @Test
    void theRunStartsWithTheCommandTheMachineAndTheRounds() {
        FuseBench.Options o = FuseBench.Options.parse(new String[] {"--rounds", "4", "--seconds", "1.5"});
        Map<String, String> run = Report.run(o);
        assertEquals(
                List.of("command", "finished", "cores", "kernel", "java", "rounds", "seconds"),
                List.copyOf(run.keySet()));
        assertEquals("fsp bench fuse --rounds 4 --seconds 1.5", run.get("command"));
        assertEquals("4", run.get("rounds"));
        assertEquals("1.5", run.get("seconds"));
        run.put("loadavg", "0.1 0.2 0.3");
        assertEquals("loadavg", List.copyOf(run.keySet()).getLast(), "a benchmark's own facts come after");
    }

    @Test
    void failedWorkloadsAreListedBelowTheTable() {
        assertEquals("| t |\n", Report.withFailures("| t |\n", List.of()));
        assertEquals(
                "| t |\n\nFailed (no figures):\n- h2: timed out\n- lucene: EIO\n",
                Report.withFailures("| t |\n", List.of("h2: timed out", "lucene: EIO")));
    }

    @Test
    void withoutRowsNoTargetIsMetOrMissed() {
        assertTrue(Report.targets(List.of()).startsWith("targets: 0 met, 0 missed (load average at the end: "));
    }
}
