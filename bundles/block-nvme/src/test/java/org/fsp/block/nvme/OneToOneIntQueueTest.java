package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class OneToOneIntQueueTest {

    @Test
    void shouldHoldUpToItsCapacityInOrder() {
        OneToOneIntQueue q = new OneToOneIntQueue(4);
        for (int i = 0; i < 4; i++) {
            assertTrue(q.offer(i));
        }
        assertFalse(q.offer(99), "full");
        assertEquals(4, q.size());
        for (int i = 0; i < 4; i++) {
            assertEquals(i, q.poll());
        }
        assertEquals(-1, q.poll(), "empty");
    }

    @Test
    void shouldPassEveryValueOnceAndInOrderBetweenTwoThreads() throws Exception {
        OneToOneIntQueue q = new OneToOneIntQueue(8);
        int count = 2_000_000;
        AtomicReference<String> failure = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            int expected = 0;
            while (expected < count) {
                int v = q.poll();
                if (v >= 0) {
                    if (v != expected) {
                        failure.set("expected " + expected + " but got " + v);
                        return;
                    }
                    expected++;
                } else {
                    Thread.onSpinWait();
                }
            }
        });
        consumer.start();
        for (int i = 0; i < count; i++) {
            while (!q.offer(i)) {
                Thread.onSpinWait();
            }
        }
        consumer.join(60_000);
        assertEquals(null, failure.get());
        assertFalse(consumer.isAlive(), "consumer did not finish");
        assertEquals(0, q.size());
    }
}
