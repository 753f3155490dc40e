package org.fsp.itests.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.util.Map;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.client.nio.FspFileSystem;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;
import org.fsp.ipc.shm.ShmServer;
import org.fsp.ipc.shm.ShmServerConfig;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on the FSP provider: fs-core on a 256 MiB RAM device served by a ShmServer in this JVM, reached through
 * {@code FileSystems.newFileSystem(URI.create("fsp:///?socket=..."))} as an application would, over the shared-memory
 * channel.
 */
class FspProviderContractTest extends AbstractFileSystemContractTest {

    @TempDir
    Path temp;

    private RamBlockDevice device;
    private FsCore core;
    private ShmServer server;
    private FileSystem fsp;

    @Override
    protected Path newWorkDirectory() throws Exception {
        device = new RamBlockDevice(256L << 20, 64);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        core = FsCore.mount(scheduler, new FsCore.Options(32L << 20, 8, 5000));
        Path socket = temp.resolve("fsp.sock");
        server = new ShmServer(core, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        server.start();
        fsp = FileSystems.newFileSystem(URI.create("fsp:///?socket=" + socket), Map.of());
        return Files.createDirectory(fsp.getPath("/work"));
    }

    @Override
    protected void release() throws Exception {
        if (fsp != null) {
            fsp.close();
        }
        if (server != null) {
            server.close();
        }
        if (core != null) {
            core.unmount();
        }
        if (device != null) {
            device.close();
        }
    }

    @Test
    void foreignPathsAreAProviderMismatch() {
        Path platform = temp.resolve("x");
        assertThrows(ProviderMismatchException.class, () -> dir.resolve(platform));
        assertThrows(
                ProviderMismatchException.class,
                () -> dir.getFileSystem().provider().delete(platform));
    }

    @Test
    void urisFindTheFileSystemTheyCameFrom() {
        URI uri = dir.resolve("a b").toUri();
        assertEquals("fsp", uri.getScheme());
        Path back = Path.of(uri);
        assertSame(dir.getFileSystem(), back.getFileSystem());
        assertEquals("/work/a b", back.toString());
        assertEquals(((FspFileSystem) dir.getFileSystem()).socket(), temp.resolve("fsp.sock"));
    }
}
