package org.fsp.fs.core.inode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * ExtentMap against a model that maps each logical block on its own: random inserts into holes and truncates, with the
 * map's invariants (sorted, disjoint, neighbours that continue each other merged) checked after every step.
 */
class ExtentMapTest {

    @Test
    void appendingContiguousRunsMergesIntoOneExtent() {
        ExtentMap m = new ExtentMap();
        m.insert(0, 4, 100);
        m.insert(4, 4, 104);
        m.insert(8, 1, 108);
        assertEquals(1, m.count());
        assertEquals(9, m.length(0));
        assertEquals(105, m.map(5));
        assertEquals(4, m.runLength(5));
    }

    @Test
    void runFillingTheGapBetweenTwoExtentsJoinsAllThree() {
        ExtentMap m = new ExtentMap();
        m.insert(0, 2, 50);
        m.insert(4, 2, 54);
        assertEquals(2, m.count());
        m.insert(2, 2, 52);
        assertEquals(1, m.count());
        assertEquals(6, m.mappedBlocks());
    }

    @Test
    void physicallyDiscontiguousNeighboursStaySeparate() {
        ExtentMap m = new ExtentMap();
        m.insert(0, 2, 50);
        m.insert(2, 2, 90);
        assertEquals(2, m.count());
        assertEquals(0, m.map(7));
        assertEquals(0, m.runLength(7));
    }

    @Test
    void holeLengthReachesTheNextMappedBlockOrInfinity() {
        ExtentMap m = new ExtentMap();
        m.insert(10, 5, 200);
        assertEquals(10, m.holeLength(0));
        assertEquals(Long.MAX_VALUE, m.holeLength(15));
    }

    @Test
    void goalFollowsThePrecedingMapping() {
        ExtentMap m = new ExtentMap();
        assertEquals(0, m.goalFor(3));
        m.insert(0, 4, 100);
        assertEquals(106, m.goalFor(6));
    }

    @Test
    void truncateInsideAnExtentFreesItsTailAndEveryLaterExtent() {
        ExtentMap m = new ExtentMap();
        m.insert(0, 8, 100);
        m.insert(20, 2, 300);
        List<long[]> freed = m.truncate(5);
        assertEquals(2, freed.size());
        assertArrayEquals(new long[] {105, 3}, freed.get(0));
        assertArrayEquals(new long[] {300, 2}, freed.get(1));
        assertEquals(5, m.mappedBlocks());
        assertEquals(0, m.map(5));
        assertTrue(m.truncate(5).isEmpty());
    }

    @Test
    void randomInsertsAndTruncatesMatchABlockByBlockModel() {
        Random rnd = new Random(42);
        for (int round = 0; round < 200; round++) {
            ExtentMap m = new ExtentMap();
            TreeMap<Long, Long> model = new TreeMap<>();
            long nextPhysical = 1000;
            for (int step = 0; step < 60; step++) {
                if (rnd.nextInt(10) == 0) {
                    long at = rnd.nextInt(128);
                    long freedBlocks = 0;
                    for (long[] run : m.truncate(at)) {
                        for (long p = run[0]; p < run[0] + run[1]; p++) {
                            assertTrue(model.containsValue(p), "freed block " + p + " was not mapped");
                        }
                        freedBlocks += run[1];
                    }
                    int before = model.size();
                    model.tailMap(at, true).clear();
                    assertEquals(before - model.size(), freedBlocks);
                } else {
                    long lblk = rnd.nextInt(128);
                    if (model.containsKey(lblk)) {
                        continue;
                    }
                    Long next = model.higherKey(lblk);
                    long room = next == null ? 8 : Math.min(8, next - lblk);
                    long len = 1 + rnd.nextInt((int) room);
                    // Half the runs continue the physical run before them, so merging is exercised.
                    long pblk = rnd.nextBoolean() ? m.goalFor(lblk) : nextPhysical;
                    if (pblk == 0 || model.containsValue(pblk) || pblk < 1000) {
                        pblk = nextPhysical;
                    }
                    nextPhysical = Math.max(nextPhysical, pblk + len) + rnd.nextInt(3);
                    m.insert(lblk, len, pblk);
                    for (long i = 0; i < len; i++) {
                        model.put(lblk + i, pblk + i);
                    }
                }
                checkAgainst(m, model);
            }
        }
    }

    private static void checkAgainst(ExtentMap m, TreeMap<Long, Long> model) {
        long mapped = 0;
        for (int i = 0; i < m.count(); i++) {
            assertTrue(m.length(i) > 0, "empty extent");
            if (i > 0) {
                long prevEnd = m.logical(i - 1) + m.length(i - 1);
                assertTrue(prevEnd <= m.logical(i), "extents overlap or are out of order");
                boolean continues = prevEnd == m.logical(i) && m.physical(i - 1) + m.length(i - 1) == m.physical(i);
                assertTrue(!continues, "neighbours that continue each other were not merged");
            }
            mapped += m.length(i);
        }
        assertEquals(model.size(), mapped);
        assertEquals(model.size(), m.mappedBlocks());
        for (long l = 0; l < 140; l++) {
            Long p = model.get(l);
            assertEquals(p == null ? 0 : p, m.map(l), "block " + l);
            long run = 0;
            while (model.containsKey(l + run) && model.get(l + run) == model.get(l) + run) {
                run++;
            }
            if (p != null) {
                assertEquals(run, m.runLength(l), "run length at " + l);
            } else {
                assertEquals(0, m.runLength(l));
                Long nextMapped = model.higherKey(l);
                assertEquals(nextMapped == null ? Long.MAX_VALUE : nextMapped - l, m.holeLength(l), "hole at " + l);
            }
        }
    }
}
