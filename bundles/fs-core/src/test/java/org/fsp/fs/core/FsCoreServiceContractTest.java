package org.fsp.fs.core;

import org.fsp.api.fs.FileSystemService;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.testing.AbstractFileSystemServiceContractTest;

/** The file-system contract on fs-core, freshly formatted on a memory device. */
class FsCoreServiceContractTest extends AbstractFileSystemServiceContractTest {

    @Override
    protected FileSystemService createFileSystem() throws Exception {
        return TestFs.formatAndMount(new HeapBlockDeviceTestDouble(4096));
    }

    @Override
    protected void closeFileSystem(FileSystemService f) throws Exception {
        ((FsCore) f).unmount();
    }
}
