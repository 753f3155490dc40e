package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.status.StatusContributor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

class BlockDeviceComponentTest {

    @TempDir
    Path dir;

    /** One service registered through the fake context. */
    record Registered(Class<?> type, Object service, Dictionary<String, ?> properties, boolean[] unregistered) {}

    private final List<Registered> registered = new ArrayList<>();

    /** Test double: a BundleContext answering getProperty from a map and recording registerService. */
    private BundleContext fakeContext(Map<String, String> frameworkProperties) {
        return (BundleContext) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {BundleContext.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "getProperty":
                            return frameworkProperties.get((String) args[0]);
                        case "registerService": {
                            boolean[] gone = {false};
                            @SuppressWarnings("unchecked")
                            Dictionary<String, ?> props = (Dictionary<String, ?>) args[2];
                            registered.add(new Registered((Class<?>) args[0], args[1], props, gone));
                            return Proxy.newProxyInstance(
                                    getClass().getClassLoader(),
                                    new Class<?>[] {ServiceRegistration.class},
                                    (p, m, a) -> {
                                        if (m.getName().equals("unregister")) {
                                            gone[0] = true;
                                        }
                                        return null;
                                    });
                        }
                        default:
                            throw new UnsupportedOperationException(method.getName());
                    }
                });
    }

    /** Test double: the configuration annotation with every attribute at its default except those given. */
    private static BlockDeviceComponent.Config config(Map<String, Object> overrides) {
        return (BlockDeviceComponent.Config) Proxy.newProxyInstance(
                BlockDeviceComponentTest.class.getClassLoader(),
                new Class<?>[] {BlockDeviceComponent.Config.class},
                (proxy, method, args) -> overrides.containsKey(method.getName())
                        ? overrides.get(method.getName())
                        : method.getDefaultValue());
    }

    private <T> T service(Class<T> type) {
        return registered.stream()
                .filter(r -> r.type() == type)
                .map(r -> type.cast(r.service()))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void shouldCreateASparseImageFromFrameworkPropertiesAndPublishTheDevice() throws Exception {
        Path image = dir.resolve("sub/fsp.img");
        BlockDeviceComponent component = new BlockDeviceComponent();
        component.activate(
                config(Map.of()),
                fakeContext(Map.of("fsp.device.path", image.toString(), "fsp.device.size", String.valueOf(4 << 20))));
        try {
            assertEquals(4 << 20, Files.size(image));
            BlockDevice device = service(BlockDevice.class);
            assertEquals(1024, device.blockCount());
            Registered reg = registered.get(0);
            assertEquals("io_uring", reg.properties().get(BlockDevice.PROP_DRIVER));
            assertEquals("plain", reg.properties().get(BlockDeviceComponent.PROP_MODE));
            StatusContributor status = service(StatusContributor.class);
            assertEquals("device", status.section());
            assertEquals(10, status.order());
            assertEquals("plain", status.status().get("mode"));
            String report = service(DeviceCommand.class).device();
            assertTrue(report.contains("queueDepth") && report.contains("latency histogram"), report);
            Registered command = registered.get(2);
            assertEquals("fsp", command.properties().get("osgi.command.scope"));
        } finally {
            component.deactivate();
        }
        assertTrue(registered.stream().allMatch(r -> r.unregistered()[0]), "every service unregistered");
    }

    @Test
    void shouldServeWithTheDeviceTheStandbyRehearsalPrepared() throws Exception {
        Path image = dir.resolve("prepared.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(4 << 20);
        }
        new StandbyRehearsal().accept(fakeContext(Map.of("fsp.device.path", image.toString())));
        IoUringBlockDevice prepared = PreparedDevice.prepare(BlockDeviceComponent.defaultIoUringOptions(image));
        BlockDeviceComponent component = new BlockDeviceComponent();
        component.activate(config(Map.of()), fakeContext(Map.of("fsp.device.path", image.toString())));
        try {
            assertTrue(service(BlockDevice.class) == prepared, "the prepared device is the one published");
        } finally {
            component.deactivate();
        }
        assertEquals(null, PreparedDevice.take(BlockDeviceComponent.defaultIoUringOptions(image)), "taken once");
    }

    @Test
    void shouldOpenAgainWhenThePreparedDeviceIsOfAnotherConfigurationOrFile() throws Exception {
        Path image = dir.resolve("replaced.img");
        Files.write(image, new byte[2 << 20]);
        PreparedDevice.prepare(BlockDeviceComponent.defaultIoUringOptions(image));
        IoUringBlockDevice.Options deeper =
                new IoUringBlockDevice.Options(image.toAbsolutePath(), 16, false, false, 0, 50);
        assertEquals(null, PreparedDevice.take(deeper), "other options");
        PreparedDevice.prepare(BlockDeviceComponent.defaultIoUringOptions(image));
        Files.delete(image);
        Files.write(image, new byte[2 << 20]);
        assertEquals(null, PreparedDevice.take(BlockDeviceComponent.defaultIoUringOptions(image)), "another file now");
    }

    @Test
    void shouldUseTheRamDriverWhenTheLauncherAsksForIt() {
        BlockDeviceComponent component = new BlockDeviceComponent();
        component.activate(
                config(Map.of("queueDepth", 8)),
                fakeContext(Map.of("fsp.device.driver", "ram", "fsp.device.size", String.valueOf(2 << 20))));
        try {
            BlockDevice device = service(BlockDevice.class);
            assertEquals(512, device.blockCount());
            assertEquals(8, device.queueDepth());
            assertEquals("ram", registered.get(0).properties().get(BlockDevice.PROP_DRIVER));
        } finally {
            component.deactivate();
        }
    }

    @Test
    void shouldPreferConfigurationOverFrameworkProperties() throws Exception {
        Path image = dir.resolve("configured.img");
        BlockDeviceComponent component = new BlockDeviceComponent();
        component.activate(
                config(Map.of("path", image.toString(), "size", 2L << 20, "driver", "io_uring")),
                fakeContext(Map.of("fsp.device.driver", "ram", "fsp.device.path", "/nonexistent/elsewhere")));
        try {
            assertEquals(2 << 20, Files.size(image));
            assertEquals(image.toString(), registered.get(0).properties().get(BlockDeviceComponent.PROP_PATH));
        } finally {
            component.deactivate();
        }
    }

    @Test
    void shouldRefuseATooSmallImageWithAClearMessage() throws Exception {
        Path tiny = dir.resolve("tiny.img");
        Files.write(tiny, new byte[8192]);
        BlockDeviceComponent component = new BlockDeviceComponent();
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> component.activate(config(Map.of()), fakeContext(Map.of("fsp.device.path", tiny.toString()))));
        assertTrue(
                e.getMessage().contains("below the minimum") && e.getMessage().contains("tiny.img"), e.getMessage());
        assertTrue(registered.isEmpty());
    }

    @Test
    void shouldRefuseAnUncreatablePathOrUnknownDriver() {
        BlockDeviceComponent component = new BlockDeviceComponent();
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> component.activate(
                        config(Map.of()), fakeContext(Map.of("fsp.device.path", "/proc/fsp-cannot-create/x.img"))));
        assertTrue(e.getMessage().contains("cannot create device image"), e.getMessage());
        Map<String, String> props = new HashMap<>();
        props.put("fsp.device.driver", "floppy");
        IllegalStateException unknown = assertThrows(IllegalStateException.class, () -> new BlockDeviceComponent()
                .activate(config(Map.of()), fakeContext(props)));
        assertTrue(unknown.getMessage().contains("floppy"), unknown.getMessage());
        IllegalStateException noPath = assertThrows(IllegalStateException.class, () -> new BlockDeviceComponent()
                .activate(config(Map.of()), fakeContext(Map.of())));
        assertTrue(noPath.getMessage().contains("fsp.device.path"), noPath.getMessage());
    }

    @Test
    void anOpenedDeviceBelowTheMinimumIsClosedAndNamedWithItsSize() {
        RamBlockDevice small = new RamBlockDevice(8192, 4);
        IllegalStateException e = assertThrows(
                IllegalStateException.class,
                () -> BlockDeviceComponent.atLeastTheMinimum(small, "NVMe namespace on 0000:00:04.0"));
        assertTrue(
                e.getMessage().startsWith("NVMe namespace on 0000:00:04.0 has 8192 bytes, below the minimum of"),
                e.getMessage());
        assertThrows(IllegalStateException.class, () -> small.submitFlush(1), "the device was closed");
        RamBlockDevice enough = new RamBlockDevice(1L << 20, 4);
        try {
            assertEquals(enough, BlockDeviceComponent.atLeastTheMinimum(enough, "RAM"));
        } finally {
            enough.close();
        }
    }
}
