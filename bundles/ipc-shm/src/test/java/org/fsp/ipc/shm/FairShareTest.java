package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.fs.Credentials;
import org.fsp.api.sched.FutexWaitSet;
import org.junit.jupiter.api.Test;

class FairShareTest {

    private static final FutexWaitSet ANY = (word, expected, processPrivate) -> true;

    @Test
    void shouldLetALoneClientUseEveryWorkerAndHoldOneBesideOthersToItsShare() {
        List<LaneWorker> workers = new CopyOnWriteArrayList<>();
        FairShare share = new FairShare(1, workers);
        try (Arena arena = Arena.ofShared()) {
            ChannelLayout layout = ChannelLayout.of(1, 64, 8192);
            ClientSession s = new ClientSession(
                    1, Credentials.ROOT, layout, arena.allocate(layout.segmentBytes(), 4096), arena, -1, 4, 0);
            share.clientsChanged(1);
            int first = share.tryBegin(s);
            assertEquals(FairShare.ALONE, first);
            assertEquals(FairShare.ALONE, share.tryBegin(s), "alone, a client is not held to its share");
            assertEquals(0, s.executing.get(), "alone, nothing is counted");

            share.clientsChanged(2);
            int counted = share.tryBegin(s);
            assertEquals(FairShare.COUNTED, counted);
            assertEquals(
                    FairShare.WAIT, share.tryBegin(s), "beside another client, one executing request is its share");
            share.end(s, first);
            assertEquals(1, s.executing.get(), "a request that began alone frees no share when it ends");
            assertFalse(share.mayBegin(s));
            share.end(s, counted);
            assertEquals(0, s.executing.get());
            assertTrue(share.mayBegin(s));
        }
    }

    @Test
    void shouldWakeTheWorkersThatLeftRequestsWaitingWhenTheShareFreesUp() {
        List<LaneWorker> workers = new CopyOnWriteArrayList<>();
        FairShare share = new FairShare(1, workers);
        FileSystemGate gate = new FileSystemGate(new HeapFileSystemDouble(), 1_000);
        LaneWorker w0 = new LaneWorker("w0", 0, gate, 8192, share);
        LaneWorker w1 = new LaneWorker("w1", 1, gate, 8192, share);
        workers.addAll(List.of(w0, w1));
        try (Arena arena = Arena.ofShared()) {
            ChannelLayout layout = ChannelLayout.of(1, 64, 8192);
            ClientSession s = new ClientSession(
                    1, Credentials.ROOT, layout, arena.allocate(layout.segmentBytes(), 4096), arena, -1, 4, 0);
            share.clientsChanged(2);
            int admitted = share.tryBegin(s);
            assertEquals(FairShare.COUNTED, admitted);
            assertTrue(share.noteWaiting(s, w1), "at its share: worker 1 may sleep");
            w0.endSleep();
            w1.endSleep();
            share.end(s, admitted);
            assertFalse(w1.beginSleep(ANY), "worker 1 was woken when the share freed up");
            w1.endSleep();
            assertTrue(w0.beginSleep(ANY), "worker 0 left nothing waiting and was not woken");
            w0.endSleep();
            assertFalse(share.noteWaiting(s, w0), "the share is free: no sleep");
        }
    }
}
