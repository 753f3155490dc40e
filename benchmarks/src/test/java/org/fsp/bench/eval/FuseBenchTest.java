package org.fsp.bench.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FuseBenchTest {

    /** A terse version 3 line as fio 3.33 prints it, zero everywhere but the IOPS and runtime of one direction. */
    private static String terse(int iopsField, String iops, String runtimeMillis) {
        String[] f = new String[130];
        Arrays.fill(f, "0");
        f[0] = "3";
        f[1] = "fio-3.33";
        f[2] = "bench";
        f[iopsField] = iops;
        f[iopsField + 1] = runtimeMillis;
        return "fio: some warning\n" + String.join(";", f) + "\n";
    }

    @Test
    void shouldReadTheReadIopsAndRuntimeOfFiosTerseLine() throws IOException {
        Measurement m = FuseBench.fioMeasurement(terse(7, "2500", "3000"), true);
        assertEquals(7500, m.ops());
        assertEquals(3_000_000_000L, m.nanos());
        assertEquals(2500, m.opsPerSecond(), 1e-9);
    }

    @Test
    void shouldReadTheWriteFieldsForARandomWriteRun() throws IOException {
        Measurement m = FuseBench.fioMeasurement(terse(48, "42042", "1023"), false);
        assertEquals(43009, m.ops());
        assertEquals(1_023_000_000L, m.nanos());
    }

    @Test
    void shouldFailClearlyWhenFioRanNoIo() {
        IOException e = assertThrows(IOException.class, () -> FuseBench.fioMeasurement(terse(7, "0", "0"), true));
        assertEquals(true, e.getMessage().startsWith("fio ran no I/O"));
        assertThrows(IOException.class, () -> FuseBench.fioMeasurement("fio: file not found\n", true));
    }

    @Test
    void shouldRejectUnknownOptionsAndNonPositiveCounts() {
        assertThrows(IllegalArgumentException.class, () -> FuseBench.Options.parse(new String[] {"--bogus", "1"}));
        assertThrows(IllegalArgumentException.class, () -> FuseBench.Options.parse(new String[] {"--rounds", "0"}));
        assertThrows(IllegalArgumentException.class, () -> FuseBench.Options.parse(new String[] {"--rounds"}));
        FuseBench.Options o = FuseBench.Options.parse(new String[] {"--files", "100", "--seconds", "1.5"});
        assertEquals(100, o.files);
        assertEquals(1.5, o.seconds);
        assertEquals("fsp bench fuse --files 100 --seconds 1.5", o.command);
        assertEquals(List.of(), o.only, "every workload unless asked");
        assertEquals(
                List.of("O_DIRECT", "untar"), FuseBench.Options.parse(new String[] {"--only", "O_DIRECT,untar"}).only);
    }
}
