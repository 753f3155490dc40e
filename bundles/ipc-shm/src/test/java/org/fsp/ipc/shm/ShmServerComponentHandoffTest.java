package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.Layer;
import org.fsp.api.handoff.LayerState;
import org.fsp.client.FspClient;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * The component's side of live upgrades, driven as SCR would drive it (bind, activate, unbind, deactivate) with test
 * doubles for the framework and the vault: a replaced version deposits, the next one adopts and reports its pause, the
 * file system's replacement is a pause reported as fs-core's, and a shutdown closes as before.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShmServerComponentHandoffTest {

    @TempDir
    Path dir;

    private int systemBundleState = Bundle.ACTIVE;

    private final ThreadPerAgentModelDouble threads = new ThreadPerAgentModelDouble();

    @Test
    void shouldDepositOnReplacementAndLetTheNextVersionCarryOnWithTheClients() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        VaultDouble vault = new VaultDouble();
        Path socket = dir.resolve("fsp.sock");
        ShmServerComponent first = component(fs, vault, socket);
        try (FspClient c = FspClient.connect(socket)) {
            long h = c.open("/f", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            c.pwrite(h, 0, "one".getBytes(), 0, 3);
            first.deactivate();
            first.unbindFileSystem(fs);
            assertNotNull(vault.deposits.get(Layer.IPC), "a replaced version deposits its clients");

            ShmServerComponent second = component(fs, vault, socket);
            assertTrue(vault.pauses.containsKey(Layer.IPC), "the adopting version reports its pause");
            assertEquals(1, second.status().get("clients"));
            c.pwrite(h, 3, "two".getBytes(), 0, 3);
            byte[] back = new byte[6];
            c.pread(h, 0, back, 0, 6);
            assertEquals("onetwo", new String(back));

            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                second.unbindFileSystem(fs);
                Future<Integer> held = pool.submit(() -> c.pwrite(h, 6, "!".getBytes(), 0, 1));
                Thread.sleep(100);
                assertFalse(held.isDone(), "served while no file system was bound");
                second.bindFileSystem(fs);
                assertEquals(1, held.get(10, TimeUnit.SECONDS));
                assertTrue(vault.pauses.get(Layer.FS) >= TimeUnit.MILLISECONDS.toNanos(100));
                assertTrue(
                        String.valueOf(second.status().get("fileSystemPauses")).contains("ms"));
            } finally {
                pool.shutdown();
            }
            c.close(h);

            systemBundleState = Bundle.STOPPING;
            second.deactivate();
            assertThrows(IOException.class, c::noop, "a shutdown closes the channels");
        }
        assertEquals(0, fs.openHandles());
    }

    @Test
    void shouldListenOnlyOnceAFileSystemIsBound() throws Exception {
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        Path socket = dir.resolve("late.sock");
        ShmServerComponent c = new ShmServerComponent();
        // A mandatory reference: SCR binds the thread model before it activates.
        c.bindThreadModel(threads);
        c.activate(config(socket), context());
        assertThrows(IOException.class, () -> FspClient.connect(socket), "no server without a file system");
        assertEquals("not listening: waiting for a file system", c.status().get("state"));
        c.bindFileSystem(fs);
        try (FspClient client = FspClient.connect(socket)) {
            client.noop();
        }
        c.deactivate();
    }

    private ShmServerComponent component(HeapFileSystemDouble fs, VaultDouble vault, Path socket) throws IOException {
        ShmServerComponent c = new ShmServerComponent();
        c.bindThreadModel(threads);
        c.bindFileSystem(fs);
        c.bindVault(vault);
        c.activate(config(socket), context());
        return c;
    }

    private static ShmServerComponent.Config config(Path socket) {
        return (ShmServerComponent.Config) Proxy.newProxyInstance(
                ShmServerComponent.Config.class.getClassLoader(),
                new Class<?>[] {ShmServerComponent.Config.class},
                (proxy, method, args) ->
                        method.getName().equals("socketPath") ? socket.toString() : method.getDefaultValue());
    }

    /** A bundle context whose bundle 0 is in {@link #systemBundleState}; properties are unset. */
    private BundleContext context() {
        Bundle system = (Bundle) Proxy.newProxyInstance(
                Bundle.class.getClassLoader(),
                new Class<?>[] {Bundle.class},
                (proxy, method, args) -> method.getName().equals("getState") ? systemBundleState : null);
        Bundle own = (Bundle) Proxy.newProxyInstance(
                Bundle.class.getClassLoader(),
                new Class<?>[] {Bundle.class},
                (proxy, method, args) -> method.getName().equals("getSymbolicName") ? "org.fsp.ipc-shm" : null);
        return (BundleContext) Proxy.newProxyInstance(
                BundleContext.class.getClassLoader(),
                new Class<?>[] {BundleContext.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getBundle" -> args == null ? own : system;
                    default -> null;
                });
    }

    /** Test double of the vault: keeps the last deposit and pause per layer, hands a deposit out once. */
    static final class VaultDouble implements HandoffVault {

        final Map<Layer, LayerState> deposits = new EnumMap<>(Layer.class);
        final Map<Layer, Long> pauses = new EnumMap<>(Layer.class);

        @Override
        public synchronized void deposit(Layer layer, LayerState state) {
            deposits.put(layer, state);
        }

        @Override
        public synchronized <T extends LayerState> T take(Layer layer, Class<T> type, Bundle taker) {
            LayerState s = deposits.remove(layer);
            if (!type.isInstance(s)) {
                return null;
            }
            return type.cast(s);
        }

        @Override
        public synchronized void pauseObserved(Layer layer, long pauseNanos) {
            pauses.put(layer, pauseNanos);
        }
    }
}
