package org.fsp.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.inject.Inject;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.Layer;
import org.fsp.support.LayerJars;
import org.fsp.upgrade.api.LiveUpgrade;
import org.fsp.upgrade.api.UpgradeReport;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.util.tracker.ServiceTracker;

/**
 * A live upgrade of the driver bundle (block-nvme) on the RAM driver: the device lives in the FS process's memory, so
 * the outgoing version must hand that memory to the next one. Before it did, the new RAM device came up blank under the
 * mounted file system, which served what it had cached and lost the rest; this suite checks the device itself.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RamDriverUpgradeIT {

    private static final long WAIT_MILLIS = 20_000;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return FspBundleSet.options(FspBundleSet.workDirectory("upgrade-ram"), "ram");
    }

    @Test
    public void aRamDeviceShouldKeepItsContentsAcrossABlockNvmeUpgrade() throws Exception {
        FileSystemService fs = await(FileSystemService.class);
        byte[] text = "written before the driver was upgraded".getBytes(StandardCharsets.UTF_8);
        long h = fs.open(Credentials.ROOT, "/kept", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
        fs.pwrite(Credentials.ROOT, h, 0, MemorySegment.ofArray(text));
        fs.fsync(Credentials.ROOT, h);
        byte[] superblock = block(0);
        assertTrue("the mounted RAM device has a superblock", notBlank(superblock));

        Path work = Files.createTempDirectory(Path.of(System.getProperty("fsp.itests.work", "target/it-work")), "ram-");
        Path copy = LayerJars.reversioned(FspBundleSet.shippedJar("block-nvme-"), work, "ram");
        UpgradeReport r =
                await(LiveUpgrade.class).upgrade(Layer.DEVICE, copy.toUri().toString());
        assertEquals(r.summary(), UpgradeReport.Outcome.UPGRADED, r.outcome());

        byte[] after = block(0);
        assertTrue("the new RAM device came up blank: " + r.summary(), notBlank(after));
        assertArrayEquals("the superblock on the new device", superblock, after);
        byte[] back = new byte[text.length];
        assertEquals(text.length, fs.pread(Credentials.ROOT, h, 0, MemorySegment.ofArray(back)));
        assertArrayEquals(text, back);
        fs.close(Credentials.ROOT, h);
    }

    /** Block {@code n} as the device holds it now, read through the block scheduler (not fs-core's cache). */
    private byte[] block(long n) throws InterruptedException {
        BlockScheduler scheduler = await(BlockScheduler.class);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(4096, 4096);
            BlockRequest read = BlockRequest.read(n, buffer, BlockRequest.Priority.METADATA);
            scheduler.enqueue(read);
            assertEquals(4096, scheduler.await(read));
            return buffer.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static boolean notBlank(byte[] block) {
        for (byte b : block) {
            if (b != 0) {
                return true;
            }
        }
        return false;
    }

    private <T> T await(Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        T service = tracker.waitForService(WAIT_MILLIS);
        assertNotNull(type.getSimpleName() + " not registered within " + WAIT_MILLIS + " ms", service);
        return service;
    }
}
