package org.fsp.api.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

class FrameworkSettingsTest {

    @Test
    void theConfigurationWinsOverTheFrameworkProperty() {
        BundleContext context = withProperties(Map.of(FrameworkProperties.SOCKET_PATH, "/run/fsp.sock"));
        assertEquals(
                "/tmp/mine.sock",
                FrameworkSettings.setting(" /tmp/mine.sock ", context, FrameworkProperties.SOCKET_PATH, "default"));
    }

    @Test
    void anUnsetConfigurationFallsToTheFrameworkPropertyThenToTheDefault() {
        BundleContext context = withProperties(Map.of(FrameworkProperties.SOCKET_PATH, " /run/fsp.sock"));
        assertEquals(
                "/run/fsp.sock", FrameworkSettings.setting("", context, FrameworkProperties.SOCKET_PATH, "default"));
        assertEquals(
                "/run/fsp.sock", FrameworkSettings.setting(null, context, FrameworkProperties.SOCKET_PATH, "default"));
        assertEquals("default", FrameworkSettings.setting("  ", context, FrameworkProperties.FUSE_MOUNT, "default"));
        BundleContext blank = withProperties(Map.of(FrameworkProperties.FUSE_MOUNT, " "));
        assertNull(FrameworkSettings.setting("", blank, FrameworkProperties.FUSE_MOUNT, null));
    }

    @Test
    void theFrameworkStopsWhenTheSystemBundleIsStoppingOrGone() {
        assertFalse(FrameworkSettings.frameworkStopping(withSystemBundle(() -> bundleIn(Bundle.ACTIVE))));
        assertTrue(FrameworkSettings.frameworkStopping(withSystemBundle(() -> bundleIn(Bundle.STOPPING))));
        assertTrue(FrameworkSettings.frameworkStopping(withSystemBundle(() -> null)));
        assertTrue(FrameworkSettings.frameworkStopping(withSystemBundle(() -> {
            throw new IllegalStateException("invalid context");
        })));
    }

    private static BundleContext withProperties(Map<String, String> properties) {
        return (BundleContext) Proxy.newProxyInstance(
                BundleContext.class.getClassLoader(), new Class<?>[] {BundleContext.class}, (p, m, args) -> {
                    if (m.getName().equals("getProperty")) {
                        return properties.get((String) args[0]);
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    private static BundleContext withSystemBundle(Supplier<Bundle> system) {
        return (BundleContext) Proxy.newProxyInstance(
                BundleContext.class.getClassLoader(), new Class<?>[] {BundleContext.class}, (p, m, args) -> {
                    if (m.getName().equals("getBundle") && args != null && args.length == 1) {
                        assertEquals(0L, args[0]);
                        return system.get();
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    private static Bundle bundleIn(int state) {
        return (Bundle)
                Proxy.newProxyInstance(Bundle.class.getClassLoader(), new Class<?>[] {Bundle.class}, (p, m, a) -> {
                    if (m.getName().equals("getState")) {
                        return state;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }
}
