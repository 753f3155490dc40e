package org.fsp.api.launch;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;

/**
 * How a layer's component reads what the launcher left it: a value from its own configuration, else from one of the
 * {@link FrameworkProperties}, else a default; and whether the framework itself is stopping (the daemon shuts down)
 * rather than one bundle being replaced. Every component that hands state over on an upgrade asks both, so they are
 * answered in one place.
 */
public final class FrameworkSettings {

    private FrameworkSettings() {}

    /**
     * The configured value when it is set, else the framework property {@code property} when that is set, else
     * {@code fallback}; a value is set when it is neither null nor blank, and comes back trimmed. The configuration
     * wins so that {@code conf/<pid>.cfg} overrides the command line of {@code bin/fspd}.
     */
    public static String setting(String configured, BundleContext context, String property, String fallback) {
        if (configured != null && !configured.isBlank()) {
            return configured.trim();
        }
        String framework = context.getProperty(property);
        if (framework != null && !framework.isBlank()) {
            return framework.trim();
        }
        return fallback;
    }

    /**
     * True while the framework stops (the daemon shuts down), as opposed to one bundle being stopped for a
     * replacement; also true when the system bundle is gone or {@code context} is no longer valid, since then the
     * framework has gone past stopping.
     */
    public static boolean frameworkStopping(BundleContext context) {
        try {
            Bundle system = context.getBundle(Constants.SYSTEM_BUNDLE_ID);
            return system == null || system.getState() == Bundle.STOPPING;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
