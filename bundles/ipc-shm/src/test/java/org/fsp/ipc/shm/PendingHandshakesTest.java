package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.fsp.linux.UnixSockets.PeerCredentials;
import org.junit.jupiter.api.Test;

class PendingHandshakesTest {

    private static PendingHandshakes.Pending conn(int fd, int uid, long at) {
        return new PendingHandshakes.Pending(fd, new PeerCredentials(100 + fd, uid, uid), at);
    }

    @Test
    void shouldDropTheOldestOfTheUidOverItsBoundAndKeepOtherUsers() {
        PendingHandshakes p = new PendingHandshakes(100, 3);
        assertTrue(p.add(conn(10, 1000, 1)).isEmpty());
        assertTrue(p.add(conn(11, 2000, 2)).isEmpty());
        assertTrue(p.add(conn(12, 1000, 3)).isEmpty());
        assertTrue(p.add(conn(13, 1000, 4)).isEmpty());
        List<PendingHandshakes.Dropped> dropped = p.add(conn(14, 1000, 5));
        assertEquals(1, dropped.size());
        assertEquals(10, dropped.get(0).pending().fd(), "the oldest of uid 1000");
        assertEquals(PendingHandshakes.Eviction.UID_BOUND, dropped.get(0).why());
        assertEquals(Map.of(1000, 3, 2000, 1), p.perUid());
        assertEquals(11, p.oldest().fd(), "uid 2000's connection stays");
    }

    @Test
    void shouldDropTheOldestOfTheHeaviestUidOverTheTotalBound() {
        PendingHandshakes p = new PendingHandshakes(4, 4);
        p.add(conn(10, 2000, 1));
        p.add(conn(11, 1000, 2));
        p.add(conn(12, 1000, 3));
        p.add(conn(13, 3000, 4));
        List<PendingHandshakes.Dropped> dropped = p.add(conn(14, 3000, 5));
        assertEquals(11, dropped.get(0).pending().fd(), "uid 1000 holds the most; its oldest goes");
        assertEquals(PendingHandshakes.Eviction.TOTAL_BOUND, dropped.get(0).why());
        assertEquals(4, p.size());
    }

    @Test
    void shouldExpireOldestFirstUpToTheDeadlineAndForgetRemovedOnes() {
        PendingHandshakes p = new PendingHandshakes(10, 10);
        p.add(conn(10, 1, -5));
        p.add(conn(11, 1, 7));
        p.add(conn(12, 2, 9));
        assertEquals(11, p.remove(11).fd());
        assertEquals(
                List.of(10),
                p.expired(8).stream().map(PendingHandshakes.Pending::fd).toList());
        assertEquals(Map.of(2, 1), p.perUid());
        assertEquals(
                List.of(12),
                p.removeAll().stream().map(PendingHandshakes.Pending::fd).toList());
        assertEquals(0, p.size());
    }
}
