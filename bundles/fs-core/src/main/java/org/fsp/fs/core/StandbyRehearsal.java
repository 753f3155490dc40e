package org.fsp.fs.core;

import java.lang.reflect.Proxy;
import java.util.function.Consumer;
import org.osgi.framework.BundleContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * fs-core's part in a standby fspd's rehearsal (manifest header {@code FSP-Standby-Rehearsal}, run by the supervised
 * launcher before it waits for the device lock; the bundle is resolved, not started): mounts after a crash on scratch
 * images ({@link HandOverRehearsal#runCrashRecovery}), so that the take-over's mount, journal replay and orphan scan
 * run code that has run before. The real device is not touched: another fspd serves it meanwhile.
 */
public final class StandbyRehearsal implements Consumer<BundleContext> {

    /** Enough rounds for the mount path to leave the interpreter; each is a few milliseconds of work once warm. */
    static final int ROUNDS = 3;

    private static final Logger LOG = LoggerFactory.getLogger(StandbyRehearsal.class);

    @Override
    public void accept(BundleContext framework) {
        long start = System.nanoTime();
        // SCR hands the component its configuration as a proxy of this interface made in the bundle's class loader;
        // making one here generates and caches the proxy class before the take-over needs it.
        FsCoreComponent.Config defaults = (FsCoreComponent.Config) Proxy.newProxyInstance(
                FsCoreComponent.Config.class.getClassLoader(),
                new Class<?>[] {FsCoreComponent.Config.class},
                (proxy, method, args) -> method.getDefaultValue());
        defaults.schedulerWaitMillis();
        int replayed = HandOverRehearsal.runCrashRecovery(ROUNDS);
        LOG.debug(
                "standby rehearsal: {} crash recoveries on a scratch image in {} ms, the last replaying {} transactions",
                ROUNDS,
                (System.nanoTime() - start) / 1_000_000,
                replayed);
    }
}
