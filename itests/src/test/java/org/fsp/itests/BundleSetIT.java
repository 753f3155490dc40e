package org.fsp.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.inject.Inject;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.status.StatusContributor;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Boots the distribution's bundle set in Felix, on an io_uring device over a fresh image, and checks the stack is
 * assembled: every FSP bundle active, every layer's service registered, the shell commands present.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BundleSetIT {

    private static final long SERVICE_WAIT_MILLIS = 20_000;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return org.ops4j.pax.exam.OptionUtils.combine(
                FspBundleSet.options(FspBundleSet.workDirectory("bundle-set"), "io_uring"),
                org.ops4j.pax.exam.CoreOptions.bundle(
                        Path.of(System.getProperty("fsp.client.bundle")).toUri().toString()));
    }

    @Test
    public void everyFspBundleIsActive() {
        List<String> notActive = new ArrayList<>();
        for (String name : FspBundleSet.FSP_BUNDLES) {
            Bundle b = find(name);
            if (b == null || b.getState() != Bundle.ACTIVE) {
                notActive.add(name + (b == null ? " (missing)" : " (state " + b.getState() + ")"));
            }
        }
        assertTrue("FSP bundles not active: " + notActive, notActive.isEmpty());
    }

    @Test
    public void everyLayerRegistersItsService() throws Exception {
        BlockDevice device = await(BlockDevice.class);
        assertTrue("device has blocks", device.blockCount() > 0);
        BlockScheduler scheduler = await(BlockScheduler.class);
        assertEquals(device.blockSize(), scheduler.device().blockSize());
        FileSystemService fs = await(FileSystemService.class);
        assertNotNull(fs.statfs(org.fsp.api.fs.Credentials.ROOT));
    }

    @Test
    public void layersDescribeThemselvesForFspStatus() throws Exception {
        await(StatusContributor.class);
        List<String> sections = new ArrayList<>();
        for (ServiceReference<StatusContributor> ref : context.getServiceReferences(StatusContributor.class, null)) {
            StatusContributor c = context.getService(ref);
            Map<String, Object> status = c.status();
            assertNotNull(c.section() + " status", status);
            sections.add(c.section());
        }
        assertTrue("sections " + sections, sections.contains("device"));
        assertTrue("sections " + sections, sections.contains("filesystem"));
        assertTrue("sections " + sections, sections.contains("clients"));
    }

    @Test
    public void fspStatusCommandIsRegistered() throws Exception {
        ServiceReference<?>[] refs = context.getAllServiceReferences(null, "(osgi.command.scope=fsp)");
        assertNotNull("no fsp: commands", refs);
        List<String> functions = new ArrayList<>();
        for (ServiceReference<?> ref : refs) {
            Object f = ref.getProperty("osgi.command.function");
            functions.addAll(f instanceof String[] a ? Arrays.asList(a) : List.of(String.valueOf(f)));
        }
        assertTrue(
                "fsp functions " + functions,
                functions.containsAll(List.of("status", "shutdown", "device", "df", "fsck", "clients")));
    }

    @Test
    public void clientShouldWriteAndReadBackThroughTheSharedMemoryChannel() throws Exception {
        await(FileSystemService.class);
        // This method runs inside the framework (the probe loads this class again), so the socket comes from there.
        Path socket = Path.of(context.getProperty("fsp.socket.path"));
        long deadline = System.currentTimeMillis() + SERVICE_WAIT_MILLIS;
        while (!java.nio.file.Files.exists(socket) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        byte[] data = new byte[100_000];
        new java.util.Random(7).nextBytes(data);
        try (org.fsp.client.FspClient client = org.fsp.client.FspClient.connect(socket)) {
            client.mkdir("/pax", 0755);
            client.writeAll("/pax/data.bin", data);
            assertTrue(java.util.Arrays.equals(data, client.readAll("/pax/data.bin")));
            assertEquals(data.length, client.stat("/pax/data.bin").size());
        }
    }

    private Bundle find(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        return null;
    }

    private <T> T await(Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        try {
            T service = tracker.waitForService(SERVICE_WAIT_MILLIS);
            assertNotNull(type.getSimpleName() + " not registered within " + SERVICE_WAIT_MILLIS + " ms", service);
            return service;
        } finally {
            tracker.close();
        }
    }
}
