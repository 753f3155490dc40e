package org.fsp.ipc.shm;

import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileSystemService;

/** The multi-process suite against the heap test double. */
class MultiProcessOnHeapDoubleTest extends AbstractMultiProcessTest {

    private HeapFileSystemDouble fs;

    @Override
    FileSystemService newFileSystem() throws Exception {
        fs = new HeapFileSystemDouble();
        fs.chmod(Credentials.ROOT, "/", 0755);
        return fs;
    }

    @Override
    int openHandles() {
        return fs.openHandles();
    }

    @Override
    void closeFileSystem() {}
}
