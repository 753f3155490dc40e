package org.fsp.bench.eval;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Closes what a benchmark run started (fspd, mounts, loop devices), last first, once; also from the shutdown hook when
 * the run is interrupted (Ctrl-C, SIGTERM), after which nothing new may be started. Shared by {@link EvalBench},
 * {@link AppsBench} and {@link FuseBench}. A typical sequence is: {@link #runCleaningUp} with a body that starts
 * things through {@link #add} and measures them, then, when it returns true, writing the report.
 */
final class Closer {

    /** What a benchmark does between starting its file systems and writing its report. */
    interface Body {
        void run() throws Exception;
    }

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

    /**
     * Runs {@code body} under a shutdown hook (named {@code hookName}) that, on Ctrl-C or SIGTERM, closes what was
     * started and deletes {@code work}; then closes what is still open and deletes {@code work} here. Returns false
     * when the run was interrupted: the JVM is going down, the hook cleans up, and nothing more should be written.
     * An exception of {@code body} comes out of this method unless the run was interrupted.
     */
    @SuppressWarnings("finally") // an interrupted run ends quietly whatever body threw, as before this method
    boolean runCleaningUp(Path work, String hookName, Body body) throws Exception {
        Thread hook = new Thread(
                () -> {
                    interrupted();
                    EvalBench.deleteTree(work);
                },
                hookName);
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            body.run();
        } finally {
            closeAll();
            if (interrupted) {
                return false; // the hook cleans up; the JVM is going down
            }
            Runtime.getRuntime().removeShutdownHook(hook);
            EvalBench.deleteTree(work);
        }
        return true;
    }
}
