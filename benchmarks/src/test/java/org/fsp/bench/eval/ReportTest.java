package org.fsp.bench.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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

    @Test
    void theSummarySaysWhereTheResultsWentAndHowTheTargetsFared() {
        FuseBench.Options o = FuseBench.Options.parse(new String[] {"--rounds", "2", "--out", "/tmp/r"});
        PrintStream before = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            Report.printSummary(o, "| t |", List.of(Path.of("/tmp/r/ratios.png")), List.of());
        } finally {
            System.setOut(before);
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.startsWith(System.lineSeparator() + "Medians of 2 rounds; ratios are FSP / kernel."), text);
        assertTrue(text.contains("results: /tmp/r/results.json, /tmp/r/table.md"), text);
        assertTrue(text.contains("chart:   /tmp/r/ratios.png"), text);
        assertTrue(text.contains("targets: 0 met, 0 missed"), text);
    }
}
