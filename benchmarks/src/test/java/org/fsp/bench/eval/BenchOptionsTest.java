package org.fsp.bench.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchOptionsTest {

    /** A benchmark that profiles, with one option of its own ({@code --depth}). */
    static final class Sample extends BenchOptions {
        int depth = 1;

        Sample() {
            super(3, 2, true);
        }

        static Sample parse(String... args) {
            Sample s = new Sample();
            s.parse(args, 0, "sample", "sample-", "fsp-sample-");
            return s;
        }

        @Override
        boolean option(String name, String value) {
            if (name.equals("--depth")) {
                depth = atLeastOne(name, value);
                return true;
            }
            return false;
        }
    }

    @Test
    void theDefaultsStandAndThePathsAreFilledIn() {
        Sample s = Sample.parse();
        assertEquals("sample", s.command);
        assertEquals(3, s.rounds);
        assertEquals(2, s.seconds);
        assertEquals("2G", s.size);
        assertEquals(1, s.depth);
        assertFalse(s.profile);
        assertTrue(s.out.getFileName().toString().startsWith("sample-"), s.out.toString());
        assertTrue(s.work.getFileName().toString().startsWith("fsp-sample-"), s.work.toString());
        assertNotNull(s.fspd);
    }

    @Test
    void theSharedOptionsTheBenchmarksOwnAndItsFlagsAreRead() {
        Sample s = Sample.parse(
                "--profile",
                "--rounds",
                "5",
                "--seconds",
                "0.5",
                "--size",
                "512M",
                "--depth",
                "4",
                "--out",
                "/tmp/r",
                "--work",
                "/tmp/w",
                "--fspd",
                "/opt/fsp/bin/fspd");
        assertTrue(s.profile);
        assertEquals(5, s.rounds);
        assertEquals(0.5, s.seconds);
        assertEquals("512M", s.size);
        assertEquals(4, s.depth);
        assertEquals(Path.of("/tmp/r"), s.out);
        assertEquals(Path.of("/tmp/w"), s.work);
        assertEquals(Path.of("/opt/fsp/bin/fspd"), s.fspd);
        assertTrue(s.command.startsWith("sample --profile --rounds 5 "), s.command);
    }

    @Test
    void nonsenseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--bogus", "1"));
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--rounds"));
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--rounds", "0"));
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--seconds", "0"));
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--seconds", "NaN"));
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--size", "lots"));
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--size", ""));
        assertThrows(IllegalArgumentException.class, () -> Sample.parse("--depth", "0"));
    }

    @Test
    void aBenchmarkThatDoesNotProfileRefusesTheFlag() {
        BenchOptions fuse = new BenchOptions(3, 3, false) {
            @Override
            boolean option(String name, String value) {
                return false;
            }
        };
        assertThrows(IllegalArgumentException.class, () -> fuse.parse(new String[] {"--profile"}, 0, "", "x-", "y-"));
    }

    @Test
    void aMissingFspdIsNamedWithHowToGetOne(@TempDir Path dir) throws Exception {
        Sample missing = Sample.parse("--fspd", dir.resolve("nowhere/fspd").toString());
        assertTrue(
                missing.missingFspd().startsWith("no fspd at " + dir.resolve("nowhere/fspd")), missing.missingFspd());
        Path fspd = Files.writeString(dir.resolve("fspd"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(fspd, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertNull(Sample.parse("--fspd", fspd.toString()).missingFspd());
    }

    @Test
    void sensibleArgumentsComeBackParsedWithoutExiting() {
        Sample s =
                BenchOptions.parseOrExit("sample", "sample [--depth N]", Sample::parse, new String[] {"--depth", "2"});
        assertEquals(2, s.depth);
        BenchOptions.exitIfMissing("sample", null); // nothing missing: returns
    }
}
