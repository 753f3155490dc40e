package org.fsp.ipc.fuse;

import java.lang.reflect.Proxy;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.LayerGate;
import org.fsp.testing.AbstractLayerGateContractTest;

/** The gate contract on the FUSE front end's boundary: a request that finds no file system in time fails with EIO. */
class FileSystemSlotContractTest extends AbstractLayerGateContractTest<FileSystemService> {

    @Override
    protected Boundary<FileSystemService> newBoundary(long waitLimitMillis) {
        FileSystemSlot slot = new FileSystemSlot(waitLimitMillis);
        return new Boundary<>() {
            @Override
            public long bind(FileSystemService service) {
                return slot.attach(service);
            }

            @Override
            public void unbind(FileSystemService service) {
                slot.detach(service);
            }

            @Override
            public LayerGate.Entry<FileSystemService> enter() {
                try {
                    return slot.enter();
                } catch (FsException e) {
                    return null;
                }
            }
        };
    }

    /** A file system that is never called: the slot only hands it out (and moves its change listeners). */
    @Override
    protected FileSystemService newService() {
        return (FileSystemService) Proxy.newProxyInstance(
                FileSystemService.class.getClassLoader(), new Class<?>[] {FileSystemService.class}, (p, m, a) -> {
                    if (m.getName().equals("addChangeListener") || m.getName().equals("removeChangeListener")) {
                        return null;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }
}
