package org.fsp.bench.eval;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Closes what a benchmark run started (fspd, mounts, loop devices), last first, once; also from the shutdown hook when
 * the run is interrupted (Ctrl-C, SIGTERM), after which nothing new may be started. Shared by {@link EvalBench} and
 * {@link FuseBench}.
 */
final class Closer {
    private final Deque<AutoCloseable> open = new ArrayDeque<>();
    volatile boolean interrupted;

    synchronized <T extends AutoCloseable> T add(T resource) {
        if (interrupted) {
            try {
                resource.close();
            } catch (Exception e) {
                System.err.println("eval: clean-up: " + e);
            }
            throw new IllegalStateException("interrupted: everything started has been stopped");
        }
        open.push(resource);
        return resource;
    }

    void interrupted() {
        interrupted = true;
        closeAll();
    }

    synchronized void closeAll() {
        while (!open.isEmpty()) {
            try {
                open.pop().close();
            } catch (Exception e) {
                System.err.println("eval: clean-up: " + e);
            }
        }
    }
}
