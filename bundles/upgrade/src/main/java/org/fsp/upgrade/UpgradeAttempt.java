package org.fsp.upgrade;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.HandoverMethod;
import org.fsp.api.handoff.Layer;
import org.fsp.upgrade.api.UpgradeReport;
import org.fsp.upgrade.api.UpgradeReport.Outcome;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upgrade of one layer, from the jar's identity to the report. Clients are paused only inside the
 * {@link Handover}: between the old version stopping serving and the new one serving.
 *
 * <ol>
 *   <li>Find the layer's running bundle; the jar must carry the same symbolic name. A version already installed
 *       elsewhere is refused; the very version that runs is updated in place from the jar.
 *   <li>Install the jar beside the old bundle, resolve it and load all its classes, so that neither resolving nor
 *       class loading falls into the pause.
 *   <li>For fs-core, {@link FileSystemService#sync()} while still serving, so the quiesce has little left to write.
 *   <li>Hand over as the new bundle's {@value HandoverMethod#HEADER} header says ({@link Handover}).
 *   <li>Success: uninstall the old bundle and refresh it alone, which releases its class loader. Failure: remove the
 *       new bundle and, if the old one was stopped, start it again; it takes the same deposit back.
 * </ol>
 */
final class UpgradeAttempt {

    private static final Logger LOG = LoggerFactory.getLogger(UpgradeAttempt.class);

    private final Layer layer;
    private final String location;
    private final BundleContext context;
    private final BundleInstaller installer;
    private final Readiness readiness;
    private final HandoffVaultComponent vault;
    private final long pauseWaitMillis;
    private final Instant at = Instant.now();
    private final long startNanos = System.nanoTime();
    private final List<String> notes = new ArrayList<>();
    private String fromVersion = "-";
    private String toVersion = "-";
    private String method = "-";

    UpgradeAttempt(
            Layer layer,
            String location,
            BundleContext context,
            BundleInstaller installer,
            Readiness readiness,
            HandoffVaultComponent vault,
            long pauseWaitMillis) {
        this.layer = layer;
        this.location = location;
        this.context = context;
        this.installer = installer;
        this.readiness = readiness;
        this.vault = vault;
        this.pauseWaitMillis = pauseWaitMillis;
    }

    UpgradeReport run() throws InterruptedException {
        Bundle old = installer.running(layer);
        if (old == null) {
            return report(Outcome.REFUSED, -1, "no active bundle " + layer.symbolicName());
        }
        fromVersion = old.getVersion().toString();
        BundleInstaller.Identity identity;
        try {
            identity = BundleInstaller.identity(location);
        } catch (IOException | RuntimeException e) {
            return report(Outcome.REFUSED, -1, "cannot read " + location + ": " + e);
        }
        toVersion = identity.version().toString();
        if (!layer.symbolicName().equals(identity.symbolicName())) {
            return report(
                    Outcome.REFUSED,
                    -1,
                    location + " is bundle " + identity.symbolicName() + ", not " + layer.symbolicName() + " (" + layer
                            + ")");
        }
        Bundle sameVersion = installer.installed(identity);
        Bundle atLocation = installer.atLocation(location);
        if ((sameVersion != null && sameVersion != old) || (atLocation != null && atLocation != old)) {
            Bundle other = sameVersion != null ? sameVersion : atLocation;
            return report(
                    Outcome.REFUSED,
                    -1,
                    "bundle " + other.getBundleId() + " (" + other.getSymbolicName() + " " + other.getVersion() + ", "
                            + other.getLocation() + ") is already installed; uninstall it first");
        }
        if (sameVersion == old || atLocation == old) {
            method = UpgradeReport.IN_PLACE;
            return inPlace(old);
        }
        method = UpgradeReport.SIDE_BY_SIDE;
        return sideBySide(old);
    }

    private UpgradeReport sideBySide(Bundle old) throws InterruptedException {
        Bundle fresh;
        try {
            fresh = installer.installBeside(old, location);
        } catch (BundleException | RuntimeException e) {
            return report(Outcome.REFUSED, -1, "cannot install " + location + ": " + e.getMessage());
        }
        HandoverMethod handover;
        try {
            handover = HandoverMethod.ofHeader(fresh.getHeaders("").get(HandoverMethod.HEADER));
        } catch (IllegalArgumentException e) {
            installer.uninstallQuietly(fresh);
            return report(Outcome.REFUSED, -1, e.getMessage());
        }
        if (!installer.resolve(fresh)) {
            installer.uninstallQuietly(fresh);
            return report(Outcome.REFUSED, -1, "the new bundle does not resolve in this framework (see the log)");
        }
        int preloaded = BundleInstaller.preloadClasses(fresh);
        UpgradeHaltPoints.reach(UpgradeHaltPoints.INSTALLED);
        LOG.info(
                "{}: {} classes of {} {} loaded before the pause; hand-over {}",
                layer,
                preloaded,
                layer,
                toVersion,
                handover);
        preflush();
        long pauseMark = vault.pauseSequence();
        Handover.Result result = Handover.of(handover).handOver(old, fresh, readiness, notes);
        if (!result.up()) {
            return result.oldStopped()
                    ? rollBack(old, fresh, result.failure())
                    : removeUnstarted(fresh, result.failure());
        }
        long pause = observedPause(pauseMark);
        UpgradeHaltPoints.reach(UpgradeHaltPoints.BEFORE_UNINSTALL);
        try {
            old.uninstall();
        } catch (BundleException e) {
            notes.add("the old bundle did not uninstall: " + e.getMessage());
        }
        installer.refreshAlone(old, notes);
        return report(Outcome.UPGRADED, pause, String.join("; ", notes));
    }

    /** The new version did not come up before the old one stopped: remove it; the old one never stopped serving. */
    private UpgradeReport removeUnstarted(Bundle fresh, String failure) throws InterruptedException {
        LOG.warn("{}: {} did not come up, {} keeps running: {}", layer, toVersion, fromVersion, failure);
        installer.uninstallQuietly(fresh);
        installer.refreshAlone(fresh, notes);
        return report(Outcome.ROLLED_BACK, -1, failure + "; " + fromVersion + " kept running");
    }

    /** The new version failed after the old one stopped: remove it and start the old one, which takes its deposit. */
    private UpgradeReport rollBack(Bundle old, Bundle fresh, String failure) throws InterruptedException {
        LOG.warn("{}: {} did not come up, rolling back to {}: {}", layer, toVersion, fromVersion, failure);
        installer.uninstallQuietly(fresh);
        String back;
        try {
            old.start();
            String stillDown = readiness.awaitUp(old, true);
            back = stillDown == null
                    ? fromVersion + " is active again"
                    : "and " + fromVersion + " did not come back either: " + stillDown;
        } catch (BundleException | RuntimeException e) {
            back = "and " + fromVersion + " did not start again: " + e;
        }
        installer.refreshAlone(fresh, notes);
        return report(Outcome.ROLLED_BACK, -1, failure + "; " + back);
    }

    private UpgradeReport inPlace(Bundle old) throws InterruptedException {
        preflush();
        long pauseMark = vault.pauseSequence();
        String failure;
        try (InputStream in = URI.create(location).toURL().openStream()) {
            old.update(in);
            failure = readiness.awaitUp(old, true);
        } catch (IOException | BundleException | RuntimeException e) {
            failure = e.toString();
        }
        if (failure != null) {
            LOG.warn("{}: {} did not come up, updating back from {}: {}", layer, toVersion, old.getLocation(), failure);
            String back;
            try (InputStream in = URI.create(old.getLocation()).toURL().openStream()) {
                old.update(in);
                String stillDown = readiness.awaitUp(old, true);
                back = stillDown == null
                        ? "updated back from " + old.getLocation()
                        : "and the bundle updated back from " + old.getLocation() + " is not up: " + stillDown;
            } catch (IOException | BundleException | RuntimeException e) {
                back = "and updating back from " + old.getLocation() + " failed: " + e;
            }
            installer.refreshIfPending(old, notes);
            return report(Outcome.ROLLED_BACK, -1, failure + "; " + back);
        }
        long pause = observedPause(pauseMark);
        installer.refreshIfPending(old, notes);
        return report(Outcome.UPGRADED, pause, String.join("; ", notes));
    }

    /** The pause the layer above reported since {@code mark}, waited for briefly; -1 if none came. */
    private long observedPause(long mark) throws InterruptedException {
        ExpiringHandoffVault.Pause p = vault.awaitPause(layer, mark, pauseWaitMillis);
        return p == null ? -1 : p.pauseNanos();
    }

    private void preflush() {
        if (layer != Layer.FS) {
            return;
        }
        ServiceReference<FileSystemService> ref = context.getServiceReference(FileSystemService.class);
        if (ref == null) {
            return;
        }
        FileSystemService fs = context.getService(ref);
        try {
            if (fs != null) {
                fs.sync();
            }
        } catch (FsException | RuntimeException e) {
            notes.add("the pre-flush failed (" + e.getMessage() + "); the quiesce wrote everything");
        } finally {
            context.ungetService(ref);
        }
    }

    UpgradeReport report(Outcome outcome, long pauseNanos, String detail) {
        return new UpgradeReport(
                at,
                layer,
                location,
                fromVersion,
                toVersion,
                outcome,
                method,
                detail,
                System.nanoTime() - startNanos,
                pauseNanos);
    }
}
