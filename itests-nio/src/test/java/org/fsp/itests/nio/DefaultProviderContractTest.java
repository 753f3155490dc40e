package org.fsp.itests.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.client.nio.FspDefaultFileSystemProvider;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;
import org.fsp.ipc.shm.ShmServer;
import org.fsp.ipc.shm.ShmServerConfig;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The contract through the default-provider mode: this JVM runs with FspDefaultFileSystemProvider as its default
 * provider (the Surefire execution "default-provider" of this module), and the work directory is a plain
 * {@code Path.of("/fsp/work-N")}, which the provider sends to FSP (fs-core on a RAM device served in this JVM). The
 * other suites run in that execution too, so the platform suite also checks that kernel paths pass through unchanged.
 */
@EnabledIfSystemProperty(
        named = "java.nio.file.spi.DefaultFileSystemProvider",
        matches = ".*FspDefaultFileSystemProvider",
        disabledReason = "needs -Djava.nio.file.spi.DefaultFileSystemProvider (Surefire execution default-provider)")
class DefaultProviderContractTest extends AbstractFileSystemContractTest {

    private static final AtomicInteger RUNS = new AtomicInteger();
    private static RamBlockDevice device;
    private static FsCore core;
    private static ShmServer server;

    @BeforeAll
    static void serve() throws Exception {
        device = new RamBlockDevice(256L << 20, 64);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        core = FsCore.mount(scheduler, new FsCore.Options(32L << 20, 8, 5000));
        Path socket = Files.createTempDirectory("fsp-default-provider").resolve("fsp.sock");
        server = new ShmServer(core, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        server.start();
        // Read by the provider when it first connects (on the first path under /fsp).
        System.setProperty("fsp.socket", socket.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        core.unmount();
        device.close();
    }

    @Override
    protected Path newWorkDirectory() throws Exception {
        return Files.createDirectory(Path.of("/fsp/work-" + RUNS.incrementAndGet()));
    }

    @Test
    void pathsUnderThePrefixGoToFspAndOthersToTheKernel() throws Exception {
        assertTrue(FileSystems.getDefault().provider() instanceof FspDefaultFileSystemProvider);
        Path f = Files.writeString(dir.resolve("routed"), "on fsp");
        assertFalse(new java.io.File(f.toString()).exists(), "java.io sees the kernel, where /fsp does not exist");
        assertEquals("on fsp", Files.readString(new java.io.File(f.toString()).toPath()));
        Path kernel = Files.createTempFile("kernel", ".txt");
        Files.writeString(kernel, "on the kernel");
        assertTrue(new java.io.File(kernel.toString()).exists());
        Files.copy(kernel, dir.resolve("copied"));
        assertEquals("on the kernel", Files.readString(dir.resolve("copied")));
        Files.move(dir.resolve("copied"), kernel.resolveSibling(kernel.getFileName() + ".back"));
        assertEquals("on the kernel", Files.readString(kernel.resolveSibling(kernel.getFileName() + ".back")));
        assertFalse(Files.exists(dir.resolve("copied")));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Files.readString(dir.resolve("none")));
        assertEquals(dir.resolve("none").toString(), e.getFile(), "failures name the path as the program knows it");
        Files.delete(kernel);
        Files.delete(kernel.resolveSibling(kernel.getFileName() + ".back"));
    }
}
