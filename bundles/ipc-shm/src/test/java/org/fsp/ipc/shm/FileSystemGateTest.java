package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileSystemGateTest {

    @Test
    void shouldReturnFromDetachOnlyWhenThePassInsideHasLeft() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        FileSystemGate gate = new FileSystemGate(fs, 30_000);
        FileSystemGate.Pass pass = gate.newPass();
        assertSame(fs, pass.enter());
        CompletableFuture<Void> detach = CompletableFuture.runAsync(() -> gate.detach(fs));
        Thread.sleep(200);
        assertFalse(detach.isDone(), "detach returned while a request was inside the file system");
        pass.exit();
        detach.get(10, TimeUnit.SECONDS);
        assertNull(pass.enter(), "a closed gate lets nobody in");
        assertTrue(gate.holding());
        long pause = gate.attach(fs);
        assertTrue(pause >= 200_000_000L, "pause " + pause + " ns, detached at least 200 ms ago");
        assertEquals(1, gate.recentPauses().size());
        assertSame(fs, pass.enter());
        pass.exit();
    }

    @Test
    void shouldReplaceTheFileSystemWithoutClosingWhenTheNextOneIsAttachedFirst() {
        HeapFileSystemDouble older = new HeapFileSystemDouble();
        HeapFileSystemDouble newer = new HeapFileSystemDouble();
        FileSystemGate gate = new FileSystemGate(older, 30_000);
        FileSystemGate.Pass pass = gate.newPass();
        assertEquals(-1, gate.attach(newer), "no pause: the gate never closed");
        gate.detach(older);
        assertTrue(gate.isOpen());
        assertSame(newer, pass.enter());
        pass.exit();
        assertTrue(gate.recentPauses().isEmpty());
    }

    @Test
    void shouldStopHoldingOnceClosedLongerThanTheWaitLimit() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        FileSystemGate gate = new FileSystemGate(fs, 50);
        gate.detach(fs);
        assertTrue(gate.holding() || gate.waitedTooLong());
        ShmServerTest.awaitTrue(gate::waitedTooLong);
        assertFalse(gate.holding());
        gate.attach(fs);
        assertFalse(gate.waitedTooLong());
    }

    @Test
    void shouldCloseADepartedClientsHandlesOnTheNextFileSystemWhenClosed() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        FileSystemGate gate = new FileSystemGate(fs, 30_000);
        long h1 = fs.open(Credentials.ROOT, "/a", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        long h2 = fs.open(Credentials.ROOT, "/a", OpenFlags.O_RDONLY, 0);
        gate.detach(fs);
        gate.closeHandles(Credentials.ROOT, new long[] {h1, h2});
        assertEquals(2, fs.openHandles(), "nothing may enter a detached file system");
        assertEquals(2, gate.deferredHandles());
        gate.attach(fs);
        assertEquals(0, fs.openHandles());
        assertEquals(0, gate.deferredHandles());
    }

    /**
     * Many threads entering and leaving while the file system is detached and attached over and over: nobody may be
     * inside the file system between a detach's return and the next attach.
     */
    @Test
    void shouldNeverLetARequestIntoADetachedFileSystem() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        FileSystemGate gate = new FileSystemGate(fs, 30_000);
        AtomicBoolean detached = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong violations = new AtomicLong();
        AtomicLong entries = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            FileSystemGate.Pass pass = gate.newPass();
            threads.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    if (pass.enter() != null) {
                        if (detached.get()) {
                            violations.incrementAndGet();
                        }
                        entries.incrementAndGet();
                        pass.exit();
                    }
                }
            }));
        }
        for (int round = 0; round < 2_000; round++) {
            gate.detach(fs);
            detached.set(true);
            Thread.onSpinWait();
            detached.set(false);
            gate.attach(fs);
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, violations.get(), "entries into a detached file system");
        assertTrue(entries.get() > 0);
    }
}
