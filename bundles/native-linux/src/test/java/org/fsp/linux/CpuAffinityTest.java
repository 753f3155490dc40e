package org.fsp.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CpuAffinityTest {

    @Test
    void shouldNarrowAndWidenTheCallingThreadOnly() throws Exception {
        long process = CpuAffinity.current();
        assertNotEquals(0, process);
        long one = Long.lowestOneBit(process);
        CompletableFuture<long[]> seen = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                CpuAffinity.set(one);
                long narrowed = CpuAffinity.current();
                CpuAffinity.set(process);
                seen.complete(new long[] {narrowed, CpuAffinity.current()});
            } catch (Throwable t) {
                seen.completeExceptionally(t);
            }
        });
        long[] masks = seen.get(10, TimeUnit.SECONDS);
        assertEquals(one, masks[0]);
        assertEquals(process, masks[1]);
        assertEquals(process, CpuAffinity.current(), "another thread's change is not this one's");
    }

    @Test
    void shouldRefuseAnEmptyMask() {
        assertThrows(IllegalArgumentException.class, () -> CpuAffinity.set(0));
        assertEquals(5, CpuAffinity.highest(0b100000));
        assertEquals(-1, CpuAffinity.highest(0));
    }
}
