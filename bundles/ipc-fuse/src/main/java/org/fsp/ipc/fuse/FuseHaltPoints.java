package org.fsp.ipc.fuse;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named points of the FUSE front end where fault-injection tests make the process die as a SIGKILL would, with the
 * same setting as fs-core's: {@code -Dfsp.test.haltAt=<point>[:<n>]} halts the JVM ({@link Runtime#halt}) the n-th
 * time (default 1) the point is reached. Points: {@code fuse-before-answer} (a recorded namespace change is applied and
 * durable, its answer not yet written). Unset, {@link #reach} is a test of a constant.
 */
final class FuseHaltPoints {

    static final String BEFORE_ANSWER = "fuse-before-answer";

    private static final String SETTING = System.getProperty("fsp.test.haltAt", "");
    private static final String POINT = SETTING.isEmpty() ? null : SETTING.split(":")[0];
    private static final int NTH = SETTING.contains(":") ? Integer.parseInt(SETTING.split(":")[1]) : 1;
    private static final AtomicInteger REACHED = new AtomicInteger();

    private FuseHaltPoints() {}

    static void reach(String point) {
        if (POINT != null && POINT.equals(point) && REACHED.incrementAndGet() == NTH) {
            System.err.println("fsp.test.haltAt: halting at " + point);
            Runtime.getRuntime().halt(137);
        }
    }
}
