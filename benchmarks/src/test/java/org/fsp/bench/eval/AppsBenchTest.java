package org.fsp.bench.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class AppsBenchTest {

    @Test
    void aMeasurementSurvivesTheTripFromTheClientJvm() {
        Histogram h = Measurement.newHistogram();
        h.recordValue(1_500);
        h.recordValue(2_000_000);
        Measurement m = AppsChild.decode(AppsChild.encode(new Measurement(2, 3_000_000, h)));
        assertEquals(2, m.ops());
        assertEquals(3_000_000, m.nanos());
        assertEquals(2, m.latency().getTotalCount());
        assertEquals(2_000_000, m.latency().getMaxValue(), 2_000_000 / 1000.0);
    }

    @Test
    void aMalformedAnswerFailsWithWhatItWas() {
        var e = assertThrows(IllegalArgumentException.class, () -> AppsChild.decode("12 34"));
        assertTrue(e.getMessage().contains("12 34"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AppsChild.decode("1 2 not-base64!"));
        assertThrows(IllegalArgumentException.class, () -> AppsChild.decode("x 2 AAAA"));
    }

    @Test
    void optionsHaveShortDefaultsAndRefuseNonsense() {
        AppsBench.Options o = AppsBench.Options.parse(new String[0]);
        assertEquals(2, o.rounds);
        assertEquals(AppsBench.APPS, o.apps);
        assertEquals("fsp bench apps", o.command);

        o = AppsBench.Options.parse(
                new String[] {"--rounds", "3", "--seconds", "1.5", "--only", "write,h2-tpcb", "--out", "/tmp/r"});
        assertEquals(3, o.rounds);
        assertEquals(1.5, o.seconds);
        assertEquals(
                List.of("h2-tpcb", "write"),
                o.apps.stream().map(AppsBench.App::name).toList());
        assertEquals(Path.of("/tmp/r"), o.out);

        assertThrows(IllegalArgumentException.class, () -> AppsBench.Options.parse(new String[] {"--only", "nope"}));
        assertThrows(IllegalArgumentException.class, () -> AppsBench.Options.parse(new String[] {"--rounds", "0"}));
        assertThrows(IllegalArgumentException.class, () -> AppsBench.Options.parse(new String[] {"--rounds"}));
        assertThrows(IllegalArgumentException.class, () -> AppsBench.Options.parse(new String[] {"--bogus", "1"}));
    }

    @Test
    void everyWorkloadTheBenchNamesIsOneTheClientKnows() {
        assertEquals(
                AppsChild.WORKLOADS,
                AppsBench.APPS.stream().map(AppsBench.App::name).toList());
    }
}
