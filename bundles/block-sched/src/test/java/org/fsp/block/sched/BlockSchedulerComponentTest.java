package org.fsp.block.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockRequest.Priority;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.status.StatusContributor;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

class BlockSchedulerComponentTest {

    /** One service registered through the fake context. */
    record Registered(Class<?> type, Object service, Dictionary<String, ?> properties) {}

    private final List<Registered> registered = new ArrayList<>();

    /** Test double: a BundleContext that records registerService. */
    private BundleContext fakeContext() {
        return (BundleContext) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {BundleContext.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("registerService")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    @SuppressWarnings("unchecked")
                    Dictionary<String, ?> props = (Dictionary<String, ?>) args[2];
                    registered.add(new Registered((Class<?>) args[0], args[1], props));
                    return Proxy.newProxyInstance(
                            getClass().getClassLoader(), new Class<?>[] {ServiceRegistration.class}, (p, m, a) -> null);
                });
    }

    /** Test double: the configuration annotation with defaults except those given. */
    private static BlockSchedulerComponent.Config config(Map<String, Object> overrides) {
        return (BlockSchedulerComponent.Config) Proxy.newProxyInstance(
                BlockSchedulerComponentTest.class.getClassLoader(),
                new Class<?>[] {BlockSchedulerComponent.Config.class},
                (proxy, method, args) -> overrides.containsKey(method.getName())
                        ? overrides.get(method.getName())
                        : method.getDefaultValue());
    }

    @Test
    void shouldPublishTheConfiguredPolicyAndItsStatusSection() {
        RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
        BlockSchedulerComponent component = new BlockSchedulerComponent();
        component.bindDevice(device);
        component.activate(config(Map.of("policy", "fifo")), fakeContext());
        BlockScheduler scheduler = (BlockScheduler) registered.get(0).service();
        assertEquals("fifo", registered.get(0).properties().get(BlockScheduler.PROP_POLICY));
        assertEquals("fifo", scheduler.policy());
        StatusContributor status = (StatusContributor) registered.get(1).service();
        assertEquals("block-scheduler", status.section());
        assertEquals(20, status.order());
        assertEquals("fifo", status.status().get("policy"));
        component.deactivate();
        device.close();
    }

    @Test
    void shouldDefaultToBatchingAndRefuseUnknownPolicies() {
        RecordingBlockDevice device = new RecordingBlockDevice(64, 4);
        BlockSchedulerComponent component = new BlockSchedulerComponent();
        component.bindDevice(device);
        component.activate(config(Map.of()), fakeContext());
        assertEquals("batching", ((BlockScheduler) registered.get(0).service()).policy());
        component.deactivate();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new BlockSchedulerComponent()
                .activate(config(Map.of("policy", "elevator")), fakeContext()));
        assertTrue(e.getMessage().contains("elevator"), e.getMessage());
        device.close();
    }

    @Test
    void shouldMakeRequestsWaitForADeviceWhenTheOldOneLeavesBeforeTheNewOneArrives() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            RecordingBlockDevice oldDevice = new RecordingBlockDevice(64, 4);
            RecordingBlockDevice newDevice = new RecordingBlockDevice(64, 4);
            BlockSchedulerComponent component = new BlockSchedulerComponent();
            component.bindDevice(oldDevice);
            component.activate(config(Map.of()), fakeContext());
            BlockScheduler scheduler = (BlockScheduler) registered.get(0).service();

            component.unbindDevice(oldDevice); // a device bundle update: the old device goes first
            BlockRequest w = BlockRequest.write(3, arena.allocate(4096, 4096), Priority.JOURNAL);
            java.util.concurrent.CompletableFuture<Integer> result =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        scheduler.enqueue(w);
                        return scheduler.await(w);
                    });
            assertFalse(result.isDone(), "waits for a device instead of failing");
            component.bindDevice(newDevice);
            assertEquals(4096, result.get(30, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals("[W3+1]", newDevice.accepted().toString());

            component.deactivate();
            assertThrows(
                    IllegalStateException.class,
                    () -> scheduler.enqueue(BlockRequest.write(4, arena.allocate(4096, 4096), Priority.DATA)));
            oldDevice.close();
            newDevice.close();
        }
    }

    @Test
    void shouldFinishRequestsOnTheOldDeviceAndSendNewOnesToTheNewDeviceWhenSwapped() {
        try (Arena arena = Arena.ofShared()) {
            RecordingBlockDevice oldDevice = new RecordingBlockDevice(64, 4);
            RecordingBlockDevice newDevice = new RecordingBlockDevice(64, 4);
            BlockSchedulerComponent component = new BlockSchedulerComponent();
            component.bindDevice(oldDevice);
            component.activate(config(Map.of()), fakeContext());
            BlockScheduler scheduler = (BlockScheduler) registered.get(0).service();

            List<BlockRequest> before = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                BlockRequest w = BlockRequest.write(2 * i, arena.allocate(4096, 4096), Priority.DATA);
                before.add(w);
                scheduler.enqueue(w);
            }
            component.bindDevice(newDevice); // greedy: a better device appears
            BlockRequest after = BlockRequest.write(1, arena.allocate(4096, 4096), Priority.DATA);
            scheduler.enqueue(after);
            assertFalse(before.get(0).isDone());

            component.unbindDevice(oldDevice); // drains the old device's requests before it closes
            for (BlockRequest w : before) {
                assertTrue(w.isDone());
                assertEquals(4096, w.result());
            }
            assertEquals(6, oldDevice.accepted().size());
            assertEquals(4096, scheduler.await(after));
            assertEquals("[W1+1]", newDevice.accepted().toString());
            assertEquals(0, scheduler.pending());
            component.deactivate();
            oldDevice.close();
            newDevice.close();
        }
    }
}
