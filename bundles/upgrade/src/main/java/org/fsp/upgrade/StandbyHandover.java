package org.fsp.upgrade;

import java.util.List;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;

/**
 * {@code standby}: the new version starts while the old one serves and stands by without taking the shared
 * resources (its components are up, it registers no service: fs-core does not mount), then the old one stops and the
 * new one adopts the deposit the moment it is made. The pause holds only the quiesce and the adoption. A new version
 * that does not reach standby is removed and the old one was never stopped; one that stands by but does not adopt is
 * a failure after the old one stopped, which the attempt rolls back.
 */
final class StandbyHandover implements Handover {

    @Override
    public Result handOver(Bundle old, Bundle fresh, Readiness readiness, List<String> notes)
            throws InterruptedException {
        String failure = Handover.startBeside(fresh, readiness, false);
        if (failure != null) {
            return new Result(failure, false);
        }
        try {
            old.stop();
            failure = readiness.awaitUp(fresh, true);
        } catch (BundleException | RuntimeException e) {
            failure = e.toString();
        }
        return failure == null ? Result.UP : new Result(failure, true);
    }
}
