package org.fsp.ipc.shm;

import org.fsp.api.fs.FileSystemService;
import org.fsp.testing.AbstractFileSystemServiceContractTest;

/** The file-system contract on the heap double the channel tests stand on: it must answer as fs-core does. */
class HeapFileSystemDoubleContractTest extends AbstractFileSystemServiceContractTest {

    @Override
    protected FileSystemService createFileSystem() {
        return new HeapFileSystemDouble();
    }
}
