package org.fsp.fs.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class BlockBufferMapTest {

    private static final long SEED = 20261121L;

    private static Buffer buffer() {
        return new Buffer(MemorySegment.NULL);
    }

    @Test
    void shouldAgreeWithAHashMapOverRandomPutsAndRemoves() {
        Random random = new Random(SEED);
        BlockBufferMap map = new BlockBufferMap();
        Map<Long, Buffer> reference = new HashMap<>();
        // Few distinct keys and many removals: long probe runs that wrap, where backward-shift deletion can go wrong.
        for (int step = 0; step < 200_000; step++) {
            long block = random.nextInt(5_000) * (random.nextBoolean() ? 1L : 1L << 33);
            switch (random.nextInt(3)) {
                case 0 -> {
                    Buffer b = buffer();
                    assertSame(reference.putIfAbsent(block, b), map.putIfAbsent(block, b), "seed " + SEED);
                }
                case 1 -> {
                    Buffer present = reference.get(block);
                    Buffer which = present != null && random.nextBoolean() ? present : buffer();
                    boolean removed = reference.remove(block, which);
                    assertEquals(removed, map.remove(block, which), "seed " + SEED + " step " + step);
                }
                default -> assertSame(reference.get(block), map.get(block), "seed " + SEED + " step " + step);
            }
        }
        for (Map.Entry<Long, Buffer> e : reference.entrySet()) {
            assertSame(e.getValue(), map.get(e.getKey()));
        }
        Map<Buffer, Boolean> seen = new IdentityHashMap<>();
        map.forEachBuffer(b -> seen.put(b, true));
        assertEquals(reference.size(), seen.size());
        assertTrue(reference.values().stream().allMatch(seen::containsKey));
    }

    @Test
    void shouldKeepOneBufferPerBlockWhenThreadsRaceToMapIt() throws Exception {
        BlockBufferMap map = new BlockBufferMap();
        int blocks = 10_000;
        List<AtomicReference<Buffer>> winners = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            winners.add(new AtomicReference<>());
        }
        AtomicInteger doubleMapped = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int b = 0; b < blocks; b++) {
                    Buffer mine = buffer();
                    Buffer present = map.putIfAbsent(b, mine);
                    if (present == null) {
                        if (!winners.get(b).compareAndSet(null, mine)) {
                            doubleMapped.incrementAndGet();
                        }
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, doubleMapped.get(), "blocks that two threads both mapped");
        for (int b = 0; b < blocks; b++) {
            assertSame(winners.get(b).get(), map.get(b));
            assertTrue(map.remove(b, winners.get(b).get()));
            assertFalse(map.containsKey(b));
        }
        assertNull(map.get(0));
    }
}
