package org.fsp.ipc.shm;

import java.nio.file.Path;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;
import org.fsp.testing.ThreadPerAgentModelDouble;

/**
 * A test fixture: fs-core formatted on a 32 MiB RAM device, served by a real {@link ShmServer} on {@code fsp.sock} in
 * a directory, its lane workers on a thread per agent. A typical sequence is: {@code new FsCoreBehindServer(dir)} in
 * set-up, {@code FspClient.connect(f.socket)} in the test, {@link #close} in tear-down.
 */
final class FsCoreBehindServer implements AutoCloseable {

    final RamBlockDevice device;
    final FsCore fs;
    final ShmServer server;
    final Path socket;

    FsCoreBehindServer(Path dir) throws Exception {
        device = new RamBlockDevice(32L << 20, 64);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        fs = FsCore.mount(scheduler, new FsCore.Options(8L << 20, 8, 5000));
        socket = dir.resolve("fsp.sock");
        server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        server.start();
    }

    @Override
    public void close() throws Exception {
        server.close();
        fs.unmount();
        device.close();
    }
}
