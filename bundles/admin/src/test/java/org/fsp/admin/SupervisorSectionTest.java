package org.fsp.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.fsp.api.launch.FrameworkProperties;
import org.junit.jupiter.api.Test;

class SupervisorSectionTest {

    @Test
    void shouldSayNothingWhenNoSupervisorRunsFspd() {
        StringBuilder sb = new StringBuilder();
        SystemCommands.supervisorSection(sb, Map.<String, String>of()::get);
        assertEquals("", sb.toString());
    }

    @Test
    void shouldShowNoRestartsForTheFirstFspdOfASupervisor() {
        StringBuilder sb = new StringBuilder();
        SystemCommands.supervisorSection(sb, Map.of(FrameworkProperties.SUPERVISOR_PID, "42")::get);
        assertTrue(sb.toString().contains("supervisor"), sb.toString());
        assertTrue(sb.toString().matches("(?s).*pid\\s+42\\n.*restarts\\s+0\\n"), sb.toString());
    }

    @Test
    void shouldShowTheCountCauseAndRecoveryTimeOfTheLastRestart() {
        StringBuilder sb = new StringBuilder();
        SystemCommands.supervisorSection(
                sb,
                Map.of(
                        FrameworkProperties.SUPERVISOR_PID, "42",
                        FrameworkProperties.SUPERVISOR_RESTARTS, "3",
                        FrameworkProperties.SUPERVISOR_LAST_CAUSE, "was killed by signal 9 (KILL)",
                        FrameworkProperties.SUPERVISOR_LAST_RECOVERY_MILLIS, "87",
                        FrameworkProperties.SUPERVISOR_LAST_PHASES, "block-nvme 12 ms, fs-core 30 ms")::get);
        String out = sb.toString();
        assertTrue(out.matches("(?s).*take-over phases\\s+block-nvme 12 ms, fs-core 30 ms\n.*"), out);
        assertTrue(out.matches("(?s).*restarts\\s+3\\n.*"), out);
        assertTrue(out.matches("(?s).*last cause\\s+was killed by signal 9 \\(KILL\\)\\n.*"), out);
        assertTrue(out.matches("(?s).*last recovery\\s+87 ms from the death to serving\\n.*"), out);
    }
}
