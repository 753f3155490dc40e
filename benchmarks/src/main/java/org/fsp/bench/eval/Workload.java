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

    /** A workload whose description is fixed when it is made; subclasses supply {@link #run} (and what else they need). */
    abstract class Described implements Workload {
        private final String suite;
        private final String name;
        private final String params;
        private final Metric metric;

        Described(String suite, String name, String params, Metric metric) {
            this.suite = suite;
            this.name = name;
            this.params = params;
            this.metric = metric;
        }

        @Override
        public final String suite() {
            return suite;
        }

        @Override
        public final String name() {
            return name;
        }

        @Override
        public final String params() {
            return params;
        }

        @Override
        public final Metric metric() {
            return metric;
        }
    }
}
