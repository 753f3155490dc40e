package org.fsp.upgrade;

import java.util.List;
import org.fsp.api.handoff.HandoverMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;

/**
 * One way for a new version of a layer to take over from the serving one, as the new bundle's
 * {@value HandoverMethod#HEADER} header names it. A strategy only starts and stops the two bundles and waits for the
 * new one; installing, rolling back and reporting are {@link UpgradeAttempt}'s.
 *
 * <p>A typical sequence is: {@code Handover.of(method).handOver(old, fresh, readiness, notes)}; on {@link
 * Result#up()} the attempt uninstalls the old bundle, otherwise it removes the new one and, if the strategy had
 * stopped the old one, starts it again.
 */
sealed interface Handover permits StopStartHandover, MakeBeforeBreakHandover, StandbyHandover {

    /**
     * What a hand-over came to.
     *
     * @param failure null if the new version serves and the old one is stopped, else why not
     * @param oldStopped whether the old version was stopped (then a failure needs the old one started again)
     */
    record Result(String failure, boolean oldStopped) {

        static final Result UP = new Result(null, true);

        boolean up() {
            return failure == null;
        }
    }

    /**
     * Brings {@code fresh} (installed and resolved, not started) up in place of {@code old} (active); adds to
     * {@code notes} what the report should mention without failing the upgrade.
     */
    Result handOver(Bundle old, Bundle fresh, Readiness readiness, List<String> notes) throws InterruptedException;

    /**
     * Starts {@code fresh} beside the serving version and waits until it is up (serving if {@code withService}, else
     * standing by); null then, or why not.
     */
    static String startBeside(Bundle fresh, Readiness readiness, boolean withService) throws InterruptedException {
        try {
            fresh.start();
            UpgradeHaltPoints.reach(UpgradeHaltPoints.NEW_STARTED);
            return readiness.awaitUp(fresh, withService);
        } catch (BundleException | RuntimeException e) {
            return e.toString();
        }
    }

    /** The strategy for {@code method}. */
    static Handover of(HandoverMethod method) {
        return switch (method) {
            case STOP_START -> new StopStartHandover();
            case MAKE_BEFORE_BREAK -> new MakeBeforeBreakHandover();
            case STANDBY -> new StandbyHandover();
        };
    }
}
