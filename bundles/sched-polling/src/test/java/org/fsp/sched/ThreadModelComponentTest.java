package org.fsp.sched;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel.Swap;
import org.fsp.api.sched.ThreadModel.WorkerInfo;
import org.junit.jupiter.api.Test;

class ThreadModelComponentTest {

    @Test
    void shouldPrintWorkersAgentsUtilisationAndRecentPauses() {
        String text = ThreadModelComponent.format(
                IdleStrategyKind.FUTEX,
                true,
                7,
                List.of(
                        new WorkerInfo("fsp-sched-worker-0", List.of("shm-worker-0", "shm-worker-1"), 0.25, 42),
                        new WorkerInfo("fsp-sched-worker-1", List.of(), 0, 0)),
                List.of(new Swap(0, "idle spin", 12_345)));
        assertTrue(text.startsWith("idle strategy futex, 2 workers, device waits handoff (7 handed off)"), text);
        assertTrue(text.contains("fsp-sched-worker-0      25.0%           42  shm-worker-0, shm-worker-1"), text);
        assertTrue(text.contains("idle spin"), text);
        assertTrue(text.contains("12.3 us"), text);
    }
}
