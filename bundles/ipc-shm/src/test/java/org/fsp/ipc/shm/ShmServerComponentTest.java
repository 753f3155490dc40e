package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ShmServerComponentTest {

    @Test
    void shouldListEachClientWithPidUidLanesFilesRequestsAndThrottled() {
        String table = ShmServerComponent.format(
                List.of(new ShmServer.ClientInfo(3, 4242, 65534, 65534, 4, 2, 123456, 77, System.currentTimeMillis())),
                Map.of(),
                Map.of());
        String[] lines = table.split("\n");
        assertTrue(lines[0].contains("pid") && lines[0].contains("uid") && lines[0].contains("throttled"), table);
        assertTrue(lines[1].matches("\\s+3\\s+4242\\s+65534\\s+65534\\s+4\\s+2\\s+123456\\s+77\\s+\\d+s"), table);
        assertEquals("1 client", lines[2], table);
        assertEquals("waiting for hello: none", lines[3], table);
        assertEquals("refused since start: none", lines[4], table);
    }

    @Test
    void shouldShowPendingHandshakesPerUidAndRefusalsPerKind() {
        String table = ShmServerComponent.format(
                List.of(),
                new TreeMap<>(Map.of(1000, 16, 1001, 2)),
                new TreeMap<>(Map.of("hello-timeout", 3L, "pending-per-uid-bound", 984L)));
        String[] lines = table.split("\n");
        assertEquals("0 clients", lines[1], table);
        assertEquals("waiting for hello: uid 1000: 16, uid 1001: 2", lines[2], table);
        assertEquals("refused since start: hello-timeout 3, pending-per-uid-bound 984", lines[3], table);
    }

    @Test
    void shouldMakeOneLaneWorkerPerCoreByDefaultAndAtLeastTwo() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(Math.min(64, Math.max(2, cores)), ShmServerComponent.laneWorkers(0));
        assertEquals(3, ShmServerComponent.laneWorkers(3), "a configured count stands");
    }
}
