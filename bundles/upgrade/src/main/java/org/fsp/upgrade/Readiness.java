package org.fsp.upgrade;

import org.osgi.framework.Bundle;

/** Whether a bundle a live upgrade started has come up. */
interface Readiness {

    /**
     * Waits until every enabled component of {@code b} is active or satisfied and, if {@code withService}, the
     * upgraded layer's service is registered by {@code b}; returns null then, or why not (a failed activation at once,
     * anything else at the time-out). Without the service it is how a version standing by is seen to be up.
     */
    String awaitUp(Bundle b, boolean withService) throws InterruptedException;
}
