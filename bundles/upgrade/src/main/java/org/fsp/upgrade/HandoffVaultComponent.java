package org.fsp.upgrade;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.Layer;
import org.fsp.api.handoff.LayerState;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.SynchronousBundleListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Publishes the {@link HandoffVault} ({@link ExpiringHandoffVault}) for the layers, and itself for
 * {@link LiveUpgradeComponent}, which reads the pauses. Bundle events tell the vault when a claimer stops; a timer
 * thread releases deposits nobody took in time. When the vault itself goes away (fspd stopping, or this bundle being
 * updated) it releases whatever is still unclaimed.
 */
@Component(
        immediate = true,
        configurationPid = HandoffVaultComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {HandoffVault.class, HandoffVaultComponent.class})
@Designate(ocd = HandoffVaultComponent.Config.class)
public final class HandoffVaultComponent implements HandoffVault {

    /** Configuration PID. */
    public static final String PID = "org.fsp.upgrade.vault";

    /** The vault's configuration. */
    @ObjectClassDefinition(
            name = "FSP hand-off vault",
            description = "upgrade: keeps a stopping layer's state for its next version")
    public @interface Config {

        @AttributeDefinition(
                description = "Seconds a deposit waits for a taker before its descriptors and segments are closed "
                        + "(and a claimed one is forgotten)")
        long expirySeconds() default 60;
    }

    private ExpiringHandoffVault vault;
    private BundleContext context;
    private final ScheduledExecutorService expiry = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("fsp-vault-expiry").factory());
    private final SynchronousBundleListener stopListener = event -> {
        if (event.getType() == BundleEvent.STOPPED) {
            vault.claimerStopped(event.getBundle());
        }
    };

    @Activate
    void activate(BundleContext context, Config config) {
        this.context = context;
        long expiryNanos = TimeUnit.SECONDS.toNanos(Math.max(1, config.expirySeconds()));
        vault = new ExpiringHandoffVault(expiryNanos, System::nanoTime);
        context.addBundleListener(stopListener);
        long periodMillis = Math.clamp(TimeUnit.NANOSECONDS.toMillis(expiryNanos) / 4, 100, 1_000);
        expiry.scheduleWithFixedDelay(vault::expire, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    @Deactivate
    void deactivate() {
        context.removeBundleListener(stopListener);
        expiry.shutdownNow();
        vault.releaseAll();
    }

    @Override
    public void deposit(Layer layer, LayerState state) {
        vault.deposit(layer, state);
    }

    @Override
    public <T extends LayerState> T take(Layer layer, Class<T> type, Bundle taker) {
        return vault.take(layer, type, taker);
    }

    @Override
    public <T extends LayerState> T awaitDeposit(
            Layer layer, Class<T> type, Bundle taker, long depositedAfterNanos, long timeoutNanos)
            throws InterruptedException {
        return vault.awaitDeposit(layer, type, taker, depositedAfterNanos, timeoutNanos);
    }

    @Override
    public void pauseObserved(Layer layer, long pauseNanos) {
        vault.pauseObserved(layer, pauseNanos);
    }

    long pauseSequence() {
        return vault.pauseSequence();
    }

    ExpiringHandoffVault.Pause awaitPause(Layer layer, long after, long timeoutMillis) throws InterruptedException {
        return vault.awaitPause(layer, after, timeoutMillis);
    }

    List<ExpiringHandoffVault.Pause> pauses(Layer layer) {
        return vault.pauses(layer);
    }

    Map<Layer, String> deposits() {
        return vault.deposits();
    }
}
