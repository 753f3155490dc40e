package org.fsp.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchHostTest {

    @Test
    void theLoadAverageIsTheFirstThreeFigures(@TempDir Path dir) throws IOException {
        Path loadavg = Files.writeString(dir.resolve("loadavg"), "0.52 0.58 0.59 1/467 12345\n");
        assertEquals("0.52 0.58 0.59", BenchHost.loadAverage(loadavg));
    }

    @Test
    void anUnreadableOrShortFileIsUnknown(@TempDir Path dir) throws IOException {
        assertEquals("unknown", BenchHost.loadAverage(dir.resolve("missing")));
        assertEquals("unknown", BenchHost.loadAverage(Files.writeString(dir.resolve("short"), "0.5")));
    }

    @Test
    void theDistributionIsFspHomeWhenSet() {
        String before = System.getProperty("fsp.home");
        try {
            System.setProperty("fsp.home", "/opt/fsp");
            assertEquals(Path.of("/opt/fsp"), BenchHost.distribution());
            System.clearProperty("fsp.home");
            assertEquals(Path.of("distribution/target/fsp"), BenchHost.distribution());
        } finally {
            if (before != null) {
                System.setProperty("fsp.home", before);
            }
        }
    }
}
