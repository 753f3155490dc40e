package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShmServerComponentTest {

    @Test
    void shouldListEachClientWithPidUidLanesFilesAndRequests() {
        String table = ShmServerComponent.format(
                List.of(new ShmServer.ClientInfo(3, 4242, 65534, 65534, 4, 2, 123456, System.currentTimeMillis())));
        String[] lines = table.split("\n");
        assertTrue(lines[0].contains("pid") && lines[0].contains("uid") && lines[0].contains("lanes"), table);
        assertTrue(lines[1].matches("\\s+3\\s+4242\\s+65534\\s+65534\\s+4\\s+2\\s+123456\\s+\\d+s"), table);
        assertTrue(lines[2].equals("1 client"), table);
    }
}
