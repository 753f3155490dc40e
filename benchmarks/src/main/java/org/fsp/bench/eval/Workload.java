package org.fsp.bench.eval;

import java.io.IOException;

/**
 * One workload of the evaluation, written once against {@link FileApi} so that the same code drives FSP and the
 * kernel file systems. The runner calls {@link #prepare} once per file system, then {@link #run} with round -1 (a
 * shorter warm-up whose figures are dropped), then once per round, alternating which file system goes first.
 */
interface Workload {

    String suite();

    String name();

    /** The parameters it runs with, as the table prints them ("1000 files, 4 KiB each, fsync"). */
    String params();

    Metric metric();

    /** The target for this workload, or null. */
    default Goal goal() {
        return null;
    }

    /** The kernel file system the target compares against ("ext4", "tmpfs"). */
    default String goalKernel() {
        return "ext4";
    }

    /** Builds what the runs need and are not timed on (a file set, a warm cache). */
    default void prepare(FileApi api) throws IOException {}

    /** One timed run; {@code round} -1 is the warm-up. Names it creates must not clash between rounds. */
    Measurement run(FileApi api, int round) throws Exception;
}
