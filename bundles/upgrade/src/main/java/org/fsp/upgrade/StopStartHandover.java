package org.fsp.upgrade;

import java.util.List;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;

/**
 * {@code stop-start}: the old version stops (quiesces, deposits its state in the vault), then the new one starts and
 * takes the deposit. Clients are held at the boundary above for the whole of Felix stopping one bundle and starting
 * the other; every layer supports it.
 */
final class StopStartHandover implements Handover {

    @Override
    public Result handOver(Bundle old, Bundle fresh, Readiness readiness, List<String> notes)
            throws InterruptedException {
        try {
            old.stop();
            fresh.start();
            UpgradeHaltPoints.reach(UpgradeHaltPoints.NEW_STARTED);
            String failure = readiness.awaitUp(fresh, true);
            return failure == null ? Result.UP : new Result(failure, true);
        } catch (BundleException | RuntimeException e) {
            return new Result(e.toString(), true);
        }
    }
}
