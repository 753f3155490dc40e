package org.fsp.ipc.shm;

import org.fsp.api.fs.FileSystemService;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;

/** The multi-process suite against the real file system, fs-core, freshly formatted on a 64 MiB RAM device. */
class MultiProcessOnFsCoreTest extends AbstractMultiProcessTest {

    private RamBlockDevice device;
    private FsCore fs;

    @Override
    FileSystemService newFileSystem() throws Exception {
        device = new RamBlockDevice(64L << 20, 64);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        fs = FsCore.mount(scheduler, new FsCore.Options(16L << 20, 8, 5000));
        return fs;
    }

    @Override
    int openHandles() {
        return ((Number) fs.status().get("openFiles")).intValue();
    }

    @Override
    void closeFileSystem() throws Exception {
        fs.unmount();
        device.close();
    }
}
