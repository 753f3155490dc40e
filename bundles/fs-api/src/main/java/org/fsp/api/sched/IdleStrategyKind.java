package org.fsp.api.sched;

import java.util.Locale;

/**
 * The idle strategies a {@link ThreadModel} offers, from lowest latency to lowest idle CPU. The configuration and shell
 * name of each is its lower-case name ({@code spin}, {@code backoff}, {@code futex}).
 */
public enum IdleStrategyKind {

    /** Busy spin: a worker never leaves the CPU; lowest latency, one core per worker while idle. */
    SPIN,

    /** Spin, then yield, then park the thread for growing times (up to a millisecond); clients never wake it. */
    BACKOFF,

    /**
     * Spin, then yield, then {@link Agent#sleep} on the agent's own futex words (a lane's doorbell), which the client
     * rings when it posts to a sleeping lane: near-zero CPU while idle, one futex wake on the first request.
     */
    FUTEX;

    /** The configuration and shell name, e.g. {@code "futex"}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind named {@code name} (case ignored, surrounding blanks trimmed). */
    public static IdleStrategyKind parse(String name) {
        for (IdleStrategyKind k : values()) {
            if (k.configName().equalsIgnoreCase(name.trim())) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown idle strategy '" + name + "' (expected spin, backoff or futex)");
    }
}
