package org.fsp.block.nvme;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.linux.NativeException;
import org.osgi.framework.BundleContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * block-nvme's part in a standby fspd's rehearsal (manifest header {@code FSP-Standby-Rehearsal}, run by the
 * supervised launcher before it waits for the device lock; the bundle is resolved, not started): for the io_uring
 * driver, sets up the device the take-over will use ({@link PreparedDevice}) and reads through it what a mount reads
 * first, the superblock and the start of the journal, so the driver's submit and completion paths have run. Reads
 * only: another fspd serves the device meanwhile. Other drivers are left to the take-over (the RAM device has nothing
 * to prepare; an NVMe controller has one owner at a time).
 */
public final class StandbyRehearsal implements Consumer<BundleContext> {

    /** Blocks read after the superblock: a chunk of the journal as fs-core's mount reads it. */
    private static final int JOURNAL_CHUNK_BLOCKS = 256;

    private static final long READ_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private static final Logger LOG = LoggerFactory.getLogger(StandbyRehearsal.class);

    @Override
    public void accept(BundleContext framework) {
        // SCR hands the component its configuration as a proxy of this interface made in the bundle's class loader;
        // making one here generates and caches the proxy class before the take-over needs it.
        BlockDeviceComponent.Config defaults = (BlockDeviceComponent.Config) Proxy.newProxyInstance(
                BlockDeviceComponent.Config.class.getClassLoader(),
                new Class<?>[] {BlockDeviceComponent.Config.class},
                (proxy, method, args) -> method.getDefaultValue());
        defaults.queueDepth();
        String driver = framework.getProperty(FrameworkProperties.DEVICE_DRIVER);
        String path = framework.getProperty(FrameworkProperties.DEVICE_PATH);
        if ((driver != null && !driver.isBlank() && !driver.trim().equals("io_uring"))
                || path == null
                || path.isBlank()) {
            return;
        }
        Path target = Path.of(path.trim()).toAbsolutePath();
        if (!Files.isWritable(target)) {
            return; // the take-over reports what is wrong with it
        }
        try {
            IoUringBlockDevice device = PreparedDevice.prepare(BlockDeviceComponent.defaultIoUringOptions(target));
            readAhead(device);
        } catch (IOException | NativeException | IllegalArgumentException | IllegalStateException e) {
            LOG.info("standby: device {} not prepared ({}); the take-over opens it", target, e.toString());
        }
    }

    /** Reads block 0 and the journal's first chunk (block 1 on), as a mount does first; the data is thrown away. */
    private static void readAhead(IoUringBlockDevice device) {
        int blockBytes = device.blockSize();
        long journalBlocks = Math.min(JOURNAL_CHUNK_BLOCKS, device.blockCount() - 1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment superblock = arena.allocate(blockBytes, device.bufferAlignment());
            MemorySegment journal = arena.allocate(Math.max(1, journalBlocks) * blockBytes, device.bufferAlignment());
            int queued = 0;
            if (device.submitRead(0, superblock, 0)) {
                queued++;
            }
            if (journalBlocks > 0 && device.submitRead(1, journal, 1)) {
                queued++;
            }
            device.submit();
            int[] done = {0};
            long deadline = System.nanoTime() + READ_TIMEOUT_NANOS;
            while (done[0] < queued && System.nanoTime() < deadline) {
                if (device.poll((tag, result) -> done[0]++, queued) == 0) {
                    device.awaitCompletion(TimeUnit.MILLISECONDS.toNanos(10));
                }
            }
        }
    }
}
