package org.fsp.block.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockRequest.Priority;
import org.junit.jupiter.api.Test;

class FifoBlockSchedulerTest {

    @Test
    void shouldIssueInArrivalOrderWithoutMergingOrPriorities() {
        try (Arena arena = Arena.ofConfined()) {
            RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
            FifoBlockScheduler s = new FifoBlockScheduler(device, 16);
            List<BlockRequest> all = new ArrayList<>();
            all.add(BlockRequest.write(1, arena.allocate(4096, 4096), Priority.DATA));
            all.add(BlockRequest.write(2, arena.allocate(4096, 4096), Priority.DATA));
            all.add(BlockRequest.flush());
            all.add(BlockRequest.write(0, arena.allocate(4096, 4096), Priority.JOURNAL));
            all.add(BlockRequest.read(3, arena.allocate(4096, 4096), Priority.METADATA));
            all.add(BlockRequest.read(4, arena.allocate(4096, 4096), Priority.METADATA));
            for (BlockRequest r : all) {
                s.enqueue(r);
            }
            assertEquals(4, s.issue(), "the device takes 4 at a time");
            for (BlockRequest r : all) {
                s.await(r);
            }
            assertEquals("[W1+1, W2+1, F, W0+1, R3+1, R4+1]", device.accepted().toString());
            assertEquals("fifo", s.policy());
            assertEquals(0, s.pending());
            device.close();
        }
    }
}
