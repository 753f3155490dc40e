package org.fsp.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SupervisedFspdCommandTest {

    @Test
    void shouldSuperviseAHeadlessMountThatNeverBacksOff() {
        ProcessBuilder pb = SupervisedFspdCommand.mounting(
                Path.of("/opt/fsp/bin/fspd"),
                Path.of("/w/dev.img"),
                Path.of("/w/fsp.sock"),
                Path.of("/w/mnt"),
                Path.of("/w/supervisor.out"));

        assertEquals(
                List.of(
                        "/opt/fsp/bin/fspd",
                        "--headless",
                        "--supervise",
                        "--crash-limit",
                        "0",
                        "--device",
                        "/w/dev.img",
                        "--size",
                        "256M",
                        "--socket",
                        "/w/fsp.sock",
                        "--mount",
                        "/w/mnt"),
                pb.command());
    }

    @Test
    void shouldSendBothOutputsToTheFileAndReadNothing() {
        ProcessBuilder pb = SupervisedFspdCommand.mounting(
                Path.of("fspd"), Path.of("d"), Path.of("s"), Path.of("m"), Path.of("/w/supervisor.out"));

        assertTrue(pb.redirectErrorStream());
        assertEquals(ProcessBuilder.Redirect.to(Path.of("/w/supervisor.out").toFile()), pb.redirectOutput());
        assertEquals(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()), pb.redirectInput());
    }
}
