package org.fsp.fs.core.journal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named points inside a commit, a checkpoint and a rename where fault-injection tests make the process die, as a
 * SIGKILL would: {@code -Dfsp.test.haltAt=<point>[:<n>]} halts the JVM ({@link Runtime#halt}, no shutdown hooks) the
 * n-th time (default 1) the point is reached. Unset, {@link #reach} is a test of a constant. Points: {@code
 * commit-before-flush}, {@code commit-after-flush} (the durability point), {@code checkpoint}, {@code rename}.
 */
public final class HaltPoints {

    private static final String SETTING = System.getProperty("fsp.test.haltAt", "");
    private static final String POINT = SETTING.isEmpty() ? null : SETTING.split(":")[0];
    private static final int NTH = SETTING.contains(":") ? Integer.parseInt(SETTING.split(":")[1]) : 1;
    private static final AtomicInteger REACHED = new AtomicInteger();

    private HaltPoints() {}

    /** Halts the process if {@code point} is the configured one and this is its n-th time. */
    public static void reach(String point) {
        if (POINT != null && POINT.equals(point) && REACHED.incrementAndGet() == NTH) {
            System.err.println("fsp.test.haltAt: halting at " + point);
            Runtime.getRuntime().halt(137);
        }
    }
}
