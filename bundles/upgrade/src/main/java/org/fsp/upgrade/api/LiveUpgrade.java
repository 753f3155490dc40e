package org.fsp.upgrade.api;

import java.util.List;
import org.fsp.api.handoff.Layer;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Replaces the bundle of one layer of the running FS process with another version, as {@code fsp:upgrade} does: the new
 * jar is installed next to the old one (or, for the same version, updated in place), the old version hands its state
 * over through the {@link org.fsp.api.handoff.HandoffVault}, and a new version that does not come up is replaced by the
 * old one again. Clients see a pause, never an error. One upgrade runs at a time; a second caller waits.
 */
@ProviderType
public interface LiveUpgrade {

    /**
     * Upgrades (or downgrades) {@code layer} to the bundle at {@code location}.
     *
     * @param location a URL the framework can install from ({@code file:/...}); a plain path is taken as a file
     * @return what happened; an upgrade that was refused or rolled back is a report too, not an exception
     */
    UpgradeReport upgrade(Layer layer, String location);

    /** The upgrades since the FS process started, oldest first (a bounded number of the latest). */
    List<UpgradeReport> history();
}
