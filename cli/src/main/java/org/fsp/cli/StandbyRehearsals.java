package org.fsp.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Runs, in a standby, the rehearsals of the layers that take part: each resolved bundle whose manifest names a class
 * in {@value #HEADER} has it loaded from the bundle and run once, before the standby waits for the device lock.
 *
 * <p>Why: a take-over runs each layer's start (a device opened, a file system mounted and its journal replayed) for
 * the first time in that JVM, so it pays for the code's first runs, interpreted and resolving as it goes, while the
 * clients wait. A rehearsal runs the same code before the crash, on a scratch image or a read-only view, and may leave
 * something ready that the layer's start then uses (block-nvme's device set up short of writing). Nothing in a
 * rehearsal may write to the device or hold its lock: another fspd serves it meanwhile.
 *
 * <p>The contract, with JDK and OSGi types only (the launcher's copies of FSP's packages are not the bundles'): the
 * class is public, has a public no-argument constructor and implements {@code Consumer<BundleContext>}; it is given
 * the framework's context, to read framework properties (the device path, the driver). A rehearsal that fails is
 * reported and otherwise ignored: the take-over then does the work itself, as without one.
 */
final class StandbyRehearsals {

    /** The manifest header that names a bundle's rehearsal class. */
    static final String HEADER = "FSP-Standby-Rehearsal";

    private StandbyRehearsals() {}

    /** Runs every resolved bundle's rehearsal; returns one {@code name=ms} word per rehearsal that ran. */
    static List<String> run(BundleContext framework) {
        List<String> ran = new ArrayList<>();
        for (Bundle b : framework.getBundles()) {
            String className = b.getHeaders().get(HEADER);
            if (className == null || b.getState() != Bundle.RESOLVED) {
                continue;
            }
            long start = System.nanoTime();
            try {
                @SuppressWarnings("unchecked")
                Consumer<BundleContext> rehearsal = (Consumer<BundleContext>)
                        b.loadClass(className.trim()).getConstructor().newInstance();
                rehearsal.accept(framework);
                ran.add(TakeOverTrace.shortName(b.getSymbolicName()) + "="
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                System.err.println("fspd: standby rehearsal of " + b.getSymbolicName() + " (" + className
                        + ") failed; its take-over does the work itself: " + e);
            }
        }
        return ran;
    }
}
