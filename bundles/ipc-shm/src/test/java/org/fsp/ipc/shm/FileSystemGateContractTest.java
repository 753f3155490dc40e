package org.fsp.ipc.shm;

import java.util.concurrent.locks.LockSupport;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.handoff.LayerGate;
import org.fsp.testing.AbstractLayerGateContractTest;

/**
 * The gate contract on the channels' boundary, entered as a lane worker does: without waiting, coming back while the
 * gate holds requests, failing the request once it has held them too long.
 */
class FileSystemGateContractTest extends AbstractLayerGateContractTest<FileSystemService> {

    @Override
    protected Boundary<FileSystemService> newBoundary(long waitLimitMillis) {
        FileSystemGate gate = new FileSystemGate(null, waitLimitMillis);
        return new Boundary<>() {
            @Override
            public long bind(FileSystemService service) {
                return gate.attach(service);
            }

            @Override
            public void unbind(FileSystemService service) {
                gate.detach(service);
            }

            @Override
            public LayerGate.Entry<FileSystemService> enter() {
                while (true) {
                    LayerGate.Entry<FileSystemService> in = gate.tryEnter();
                    if (in != null || gate.waitedTooLong()) {
                        return in;
                    }
                    LockSupport.parkNanos(100_000);
                }
            }
        };
    }

    @Override
    protected FileSystemService newService() {
        return new HeapFileSystemDouble();
    }
}
