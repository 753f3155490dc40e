package org.fsp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.fsp.linux.CpuAffinity;
import org.junit.jupiter.api.Test;

class ServerCpuAvoidanceTest {

    @Test
    void shouldLeaveOutTheServerCpusOnlyWhenOthersRemain() {
        assertEquals(0b01, ServerCpuAvoidance.target(0b11, 0b10));
        assertEquals(0b1100, ServerCpuAvoidance.target(0b1111, 0b0011));
        assertEquals(0, ServerCpuAvoidance.target(0b10, 0b10), "no CPU would remain: leave the thread alone");
        assertEquals(0, ServerCpuAvoidance.target(0b11, 0), "the server pinned nothing");
    }

    @Test
    void shouldMoveTheCallingThreadOffTheServerCpuAndBackForAnotherServer() throws Exception {
        long process = CpuAffinity.current();
        if (Long.bitCount(process) < 2) {
            return;
        }
        long server = Long.highestOneBit(process);
        CompletableFuture<long[]> seen = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                ServerCpuAvoidance.keepCallingThreadOff(server);
                long off = CpuAffinity.current();
                ServerCpuAvoidance.keepCallingThreadOff(Long.lowestOneBit(process));
                seen.complete(new long[] {off, CpuAffinity.current()});
            } catch (Throwable t) {
                seen.completeExceptionally(t);
            }
        });
        long[] masks = seen.get(10, TimeUnit.SECONDS);
        assertEquals(process & ~server, masks[0]);
        assertEquals(process & ~Long.lowestOneBit(process), masks[1], "a restarted server on another CPU");
    }
}
