package org.fsp.upgrade;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import org.fsp.api.handoff.Layer;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.Version;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The framework side of an upgrade: reading a jar's identity, installing and resolving a new version beside the old
 * one, loading its classes before the pause, and removing a version so that its class loader is released (uninstall,
 * then a refresh of that bundle alone).
 */
final class BundleInstaller {

    private static final Logger LOG = LoggerFactory.getLogger(BundleInstaller.class);
    private static final String CLASS_SUFFIX = ".class";

    /** A jar's Bundle-SymbolicName (without directives) and Bundle-Version. */
    record Identity(String symbolicName, Version version) {}

    private final BundleContext context;
    private final long refreshTimeoutMillis;

    BundleInstaller(BundleContext context, long refreshTimeoutMillis) {
        this.context = context;
        this.refreshTimeoutMillis = refreshTimeoutMillis;
    }

    /** The symbolic name and version in the manifest of the jar at {@code location}. */
    static Identity identity(String location) throws IOException {
        try (InputStream in = URI.create(location).toURL().openStream();
                JarInputStream jar = new JarInputStream(in)) {
            Manifest m = jar.getManifest();
            if (m == null) {
                throw new IOException("no manifest");
            }
            Attributes a = m.getMainAttributes();
            String bsn = a.getValue("Bundle-SymbolicName");
            if (bsn == null) {
                throw new IOException("not a bundle: no Bundle-SymbolicName");
            }
            int semicolon = bsn.indexOf(';');
            return new Identity(
                    (semicolon < 0 ? bsn : bsn.substring(0, semicolon)).trim(),
                    Version.parseVersion(a.getValue("Bundle-Version")));
        }
    }

    /** The active bundle that carries {@code layer}, or null. */
    Bundle running(Layer layer) {
        for (Bundle b : context.getBundles()) {
            if (layer.symbolicName().equals(b.getSymbolicName()) && b.getState() == Bundle.ACTIVE) {
                return b;
            }
        }
        return null;
    }

    /** An installed bundle with this identity (the last one found), or null. */
    Bundle installed(Identity id) {
        Bundle found = null;
        for (Bundle b : context.getBundles()) {
            if (id.symbolicName().equals(b.getSymbolicName()) && b.getVersion().equals(id.version())) {
                found = b;
            }
        }
        return found;
    }

    /** The bundle installed from {@code location}, or null. */
    Bundle atLocation(String location) {
        return context.getBundle(location);
    }

    /** Installs the jar at {@code location} at {@code old}'s start level, not started. */
    Bundle installBeside(Bundle old, String location) throws BundleException {
        Bundle fresh = context.installBundle(location);
        fresh.adapt(BundleStartLevel.class)
                .setStartLevel(old.adapt(BundleStartLevel.class).getStartLevel());
        return fresh;
    }

    boolean resolve(Bundle b) {
        return frameworkWiring().resolveBundles(List.of(b));
    }

    /**
     * Loads and links (without initialising) every class of {@code b}, so that neither class loading nor bytecode
     * verification of the new version falls into the pause; returns how many loaded. Linking is forced by asking for
     * the declared methods: HotSpot links a class before it reflects on it, and verification of a large class (FsCore)
     * takes milliseconds.
     */
    static int preloadClasses(Bundle b) {
        BundleWiring wiring = b.adapt(BundleWiring.class);
        if (wiring == null) {
            return 0;
        }
        ClassLoader loader = wiring.getClassLoader();
        int loaded = 0;
        for (String resource : wiring.listResources(
                "/", "*" + CLASS_SUFFIX, BundleWiring.LISTRESOURCES_RECURSE | BundleWiring.LISTRESOURCES_LOCAL)) {
            String name = resource.substring(0, resource.length() - CLASS_SUFFIX.length())
                    .replace('/', '.');
            if (name.endsWith("package-info") || name.endsWith("module-info")) {
                continue;
            }
            try {
                Class<?> c = Class.forName(name, false, loader);
                c.getDeclaredMethods();
                loaded++;
            } catch (ClassNotFoundException | LinkageError e) {
                // An optional import that is absent: the class loads (and fails) only if it is ever used.
                LOG.debug("not preloaded: {}: {}", name, e.toString());
            }
        }
        return loaded;
    }

    void uninstallQuietly(Bundle b) {
        try {
            if (b.getState() != Bundle.UNINSTALLED) {
                b.uninstall();
            }
        } catch (BundleException | RuntimeException e) {
            LOG.warn("could not uninstall {}: {}", b, e.toString());
        }
    }

    /**
     * Refreshes the uninstalled {@code b} alone, which releases its class loader, unless that would restart other
     * bundles (then says so in {@code notes}).
     */
    void refreshAlone(Bundle b, List<String> notes) throws InterruptedException {
        FrameworkWiring wiring = frameworkWiring();
        Collection<Bundle> closure = wiring.getDependencyClosure(List.of(b));
        List<String> others = new ArrayList<>();
        for (Bundle c : closure) {
            if (c.getBundleId() != b.getBundleId()) {
                others.add(c.getSymbolicName() + " " + c.getVersion());
            }
        }
        if (!others.isEmpty()) {
            notes.add("the old revision stays until a refresh: refreshing it would restart " + others);
            return;
        }
        CountDownLatch refreshed = new CountDownLatch(1);
        wiring.refreshBundles(List.of(b), event -> {
            if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                refreshed.countDown();
            }
        });
        if (!refreshed.await(refreshTimeoutMillis, TimeUnit.MILLISECONDS)) {
            notes.add("the refresh of the old revision did not finish in time");
        }
    }

    /** After an update in place: refreshes {@code b} if its old revision is still pending removal. */
    void refreshIfPending(Bundle b, List<String> notes) throws InterruptedException {
        if (frameworkWiring().getRemovalPendingBundles().contains(b)) {
            notes.add("the refresh of the updated bundle restarted it (a second pause)");
            refreshAlone(b, notes);
        }
    }

    private FrameworkWiring frameworkWiring() {
        return context.getBundle(0).adapt(FrameworkWiring.class);
    }
}
