package org.fsp.cli.scrwarmup;

import java.util.Map;

/**
 * A throwaway component of the standby's SCR rehearsal ({@code ScrRehearsal}): an immediate component that provides a
 * service, as every FSP layer's does. Its class is copied into a bundle made in memory, so it uses JDK types only.
 */
public final class WarmUpProvider implements Runnable {

    public void activate(Map<String, Object> properties) {
        // SCR's activation path (the method found and called with the component's properties) is what is rehearsed.
    }

    public void deactivate() {}

    @Override
    public void run() {}
}
