package org.fsp.bench.eval;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Filebench's varmail, fileserver and webserver personalities, re-implemented over {@link FileApi} at a smaller
 * scale, with their flowops in Filebench's order; the figure is flowops per second, as Filebench reports it. Each
 * thread works on its own share of the file set (file index modulo the thread count), so no two threads touch the same
 * file, and every file system sees the same random sequence. Whole-file reads go through a 1 MiB buffer (Filebench's
 * iosize); appends are 16 KiB (its mean append size).
 *
 * <ul>
 *   <li>varmail (13 flowops): delete; create, append, fsync, close; open, read whole, append, fsync, close; open,
 *       read whole, close. Files of 16 KiB in one directory.
 *   <li>fileserver (11 flowops): create, write whole 128 KiB, close; open, append, close; open, read whole, close;
 *       delete; stat. Files of 128 KiB, 20 per directory.
 *   <li>webserver (31 flowops): ten times open, read whole, close; then an append to the thread's own log file.
 *       Files of 16 KiB, 20 per directory.
 * </ul>
 */
final class Filebench {

    private static final int APPEND = 16 << 10;
    private static final int IO_SIZE = 1 << 20;
    private static final int DIR_WIDTH = 20;
    /** A webserver thread starts a new log file after this many bytes, so the device does not fill. */
    private static final long LOG_ROTATE = 8 << 20;

    enum Personality {
        VARMAIL(16 << 10, Goal.atLeast(1.5)),
        FILESERVER(128 << 10, Goal.atLeast(1.5)),
        WEBSERVER(16 << 10, null);

        final int fileBytes;
        final Goal goal;

        Personality(int fileBytes, Goal goal) {
            this.fileBytes = fileBytes;
            this.goal = goal;
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A personality's file set on one file system: paths and which files exist (each thread owns its indices). */
    private static final class FileSet {
        final String[] paths;
        final boolean[] exists;

        FileSet(String[] paths) {
            this.paths = paths;
            this.exists = new boolean[paths.length];
        }
    }

    private Filebench() {}

    /** Every personality at every thread count. */
    static List<Workload> all(int files, int[] threadCounts, double seconds) {
        List<Workload> all = new ArrayList<>();
        for (Personality p : Personality.values()) {
            Map<String, FileSet> sets = new ConcurrentHashMap<>();
            for (int threads : threadCounts) {
                all.add(workload(p, files, threads, seconds, sets));
            }
        }
        return all;
    }

    /** One personality at one thread count, with a file set of its own. */
    static Workload one(Personality p, int files, int threads, double seconds) {
        return workload(p, files, threads, seconds, new ConcurrentHashMap<>());
    }

    private static Workload workload(Personality p, int files, int threads, double seconds, Map<String, FileSet> sets) {
        return new Workload.Described(
                "filebench",
                p.label() + ", " + threads + (threads == 1 ? " thread" : " threads"),
                String.format(
                        Locale.ROOT,
                        "%d files of %d KiB, %d threads, %.1f s",
                        files,
                        p.fileBytes >> 10,
                        threads,
                        seconds),
                Metric.OPS_PER_SECOND) {

            @Override
            public Goal goal() {
                return p.goal;
            }

            @Override
            public void prepare(FileApi api) throws IOException {
                if (!sets.containsKey(api.name())) {
                    sets.put(api.name(), create(api, p, files));
                }
            }

            @Override
            public Measurement run(FileApi api, int round) throws Exception {
                FileSet set = sets.get(api.name());
                long seed = 1000L * (round + 2) + threads;
                return Timed.run(threads, round < 0 ? 0.3 : seconds, (t, lap, deadline) -> {
                    SplittableRandom random = new SplittableRandom(seed + t);
                    Flow flow = new Flow(api, set, t, threads, random, lap, p.fileBytes);
                    switch (p) {
                        case VARMAIL -> flow.varmail(deadline);
                        case FILESERVER -> flow.fileserver(deadline);
                        case WEBSERVER -> flow.webserver(deadline, "/fb-" + p.label() + "/log-r" + round + "-t" + t);
                    }
                });
            }
        };
    }

    private static FileSet create(FileApi api, Personality p, int files) throws IOException {
        String root = "/fb-" + p.label();
        api.mkdir(root);
        String[] paths = new String[files];
        for (int i = 0; i < files; i++) {
            if (p == Personality.VARMAIL) {
                paths[i] = root + "/f" + i;
            } else {
                if (i % DIR_WIDTH == 0) {
                    api.mkdir(root + "/d" + i / DIR_WIDTH);
                }
                paths[i] = root + "/d" + i / DIR_WIDTH + "/f" + i;
            }
        }
        FileSet set = new FileSet(paths);
        byte[] data = Workloads.data(p.fileBytes, 7);
        for (int i = 0; i < files; i++) {
            long h = api.open(paths[i], FileApi.Mode.CREATE_NEW);
            api.pwrite(h, 0, data, 0, data.length);
            api.close(h);
            set.exists[i] = true;
        }
        return set;
    }

    /** One thread's loop over its share of a file set. */
    private static final class Flow {
        private final FileApi api;
        private final FileSet set;
        private final int thread;
        private final int threads;
        private final SplittableRandom random;
        private final Lap lap;
        private final byte[] io = new byte[IO_SIZE];
        private final byte[] whole;
        private final byte[] append = Workloads.data(APPEND, 8);

        Flow(FileApi api, FileSet set, int thread, int threads, SplittableRandom random, Lap lap, int fileBytes) {
            this.api = api;
            this.set = set;
            this.thread = thread;
            this.threads = threads;
            this.random = random;
            this.lap = lap;
            this.whole = Workloads.data(fileBytes, 9);
        }

        /** A random file of this thread's share. */
        private int any() {
            int share = (set.paths.length - thread + threads - 1) / threads;
            return thread + threads * random.nextInt(share);
        }

        /**
         * A random file of this thread's share that exists (or does not); after a few random tries the next such file
         * after the last try, or the last try when there is none.
         */
        private int pick(boolean existing) {
            int i = any();
            for (int tries = 0; tries < 16 && set.exists[i] != existing; tries++) {
                i = any();
            }
            for (int j = i; j < set.paths.length && set.exists[i] != existing; j += threads) {
                if (set.exists[j] == existing) {
                    return j;
                }
            }
            return i;
        }

        void varmail(long deadline) throws IOException {
            lap.steps(
                    "delete",
                    "create",
                    "append (new)",
                    "fsync (new)",
                    "close (new)",
                    "open (rw)",
                    "read whole (rw)",
                    "append (rw)",
                    "fsync (rw)",
                    "close (rw)",
                    "open (read)",
                    "read whole",
                    "close (read)");
            lap.skip();
            while (System.nanoTime() < deadline) {
                String p = set.paths[any()];
                api.unlink(p);
                lap.lap();
                long h = api.open(p, FileApi.Mode.APPEND);
                lap.lap();
                api.append(h, append, 0, APPEND);
                lap.lap();
                api.fsync(h);
                lap.lap();
                api.close(h);
                lap.lap();

                h = api.open(set.paths[any()], FileApi.Mode.WRITE);
                lap.lap();
                long size = api.readWhole(h, io);
                lap.lap();
                api.pwrite(h, size, append, 0, APPEND);
                lap.lap();
                api.fsync(h);
                lap.lap();
                api.close(h);
                lap.lap();

                h = api.open(set.paths[any()], FileApi.Mode.READ);
                lap.lap();
                api.readWhole(h, io);
                lap.lap();
                api.close(h);
                lap.lap();
            }
        }

        void fileserver(long deadline) throws IOException {
            lap.steps(
                    "create",
                    "write whole",
                    "close (new)",
                    "open (append)",
                    "append",
                    "close (append)",
                    "open (read)",
                    "read whole",
                    "close (read)",
                    "delete",
                    "stat");
            lap.skip();
            while (System.nanoTime() < deadline) {
                int c = pick(false);
                long h = api.open(set.paths[c], FileApi.Mode.CREATE);
                set.exists[c] = true;
                lap.lap();
                api.pwrite(h, 0, whole, 0, whole.length);
                lap.lap();
                api.close(h);
                lap.lap();

                h = api.open(set.paths[pick(true)], FileApi.Mode.APPEND);
                lap.lap();
                api.append(h, append, 0, APPEND);
                lap.lap();
                api.close(h);
                lap.lap();

                h = api.open(set.paths[pick(true)], FileApi.Mode.READ);
                lap.lap();
                api.readWhole(h, io);
                lap.lap();
                api.close(h);
                lap.lap();

                int d = pick(true);
                if (set.exists[d]) {
                    api.unlink(set.paths[d]);
                    set.exists[d] = false;
                }
                lap.lap();

                api.stat(set.paths[pick(true)]);
                lap.lap();
            }
        }

        void webserver(long deadline, String logPrefix) throws IOException {
            int generation = 0;
            String log = logPrefix + "-" + generation;
            long logHandle = api.open(log, FileApi.Mode.APPEND);
            long logBytes = 0;
            String[] steps = new String[31];
            for (int k = 0; k < 10; k++) {
                steps[3 * k] = "open";
                steps[3 * k + 1] = "read whole";
                steps[3 * k + 2] = "close";
            }
            steps[30] = "append (log)";
            lap.steps(steps);
            lap.skip();
            try {
                while (System.nanoTime() < deadline) {
                    for (int k = 0; k < 10; k++) {
                        long h = api.open(set.paths[any()], FileApi.Mode.READ);
                        lap.lap();
                        api.readWhole(h, io);
                        lap.lap();
                        api.close(h);
                        lap.lap();
                    }
                    api.append(logHandle, append, 0, APPEND);
                    lap.lap();
                    logBytes += APPEND;
                    if (logBytes >= LOG_ROTATE) {
                        api.close(logHandle);
                        api.unlink(log);
                        log = logPrefix + "-" + ++generation;
                        logHandle = api.open(log, FileApi.Mode.APPEND);
                        logBytes = 0;
                        lap.skip();
                    }
                }
            } finally {
                api.close(logHandle);
                api.unlink(log);
            }
        }
    }
}
