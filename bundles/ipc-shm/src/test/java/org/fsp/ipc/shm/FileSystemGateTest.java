package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
/** What the channels' gate adds to the {@link LayerGate} contract ({@link FileSystemGateContractTest}). */
class FileSystemGateTest {

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
}
