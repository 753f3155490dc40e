package org.fsp.upgrade;

import java.util.List;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;

/**
 * {@code make-before-break}: the new version starts and serves beside the old one, and only then does the old one
 * stop. The layer above (a dynamic greedy reference) binds the new service before it lets the old one go, so the
 * pause is the old one's drain rather than Felix stopping one bundle and starting another. For layers of which two
 * can run at once: thread models (the lane agents move from worker to worker at their boundary) and block schedulers
 * (fs-core's gate finishes the old one's requests before it gives the new one any). A new version that does not come
 * up is removed and the old one was never stopped.
 */
final class MakeBeforeBreakHandover implements Handover {

    @Override
    public Result handOver(Bundle old, Bundle fresh, Readiness readiness, List<String> notes)
            throws InterruptedException {
        String failure = Handover.startBeside(fresh, readiness, true);
        if (failure != null) {
            return new Result(failure, false);
        }
        try {
            old.stop();
        } catch (BundleException | RuntimeException e) {
            notes.add("the old bundle did not stop cleanly: " + e);
        }
        return Result.UP;
    }
}
