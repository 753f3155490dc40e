package org.fsp.cli.scrwarmup;

import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

/**
 * The other throwaway component of the standby's SCR rehearsal ({@code ScrRehearsal}), shaped as FSP's layers are: an
 * optional configuration read through a component property type (SCR builds a proxy for it), a mandatory static
 * reference to the provider's service, an optional dynamic one nobody satisfies, and a service of its own whose
 * registration tells the rehearsal that SCR has run it all. JDK types only (copied into a bundle made in memory).
 */
public final class WarmUpConsumer implements BooleanSupplier {

    /** The component property type. */
    public @interface Config {
        String driver() default "";

        long size() default 0;

        int queueDepth() default 64;

        boolean sqpoll() default false;
    }

    private volatile boolean ready;

    public void setProvider(Runnable provider) {
        provider.run();
    }

    public void bindExecutor(Executor executor) {}

    public void unbindExecutor(Executor executor) {}

    public void activate(Config config) {
        ready = config.queueDepth() > 0
                || config.sqpoll()
                || config.size() >= 0
                || !config.driver().isEmpty();
    }

    public void deactivate() {}

    @Override
    public boolean getAsBoolean() {
        return ready;
    }
}
