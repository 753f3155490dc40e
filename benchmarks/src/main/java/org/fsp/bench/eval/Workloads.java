package org.fsp.bench.eval;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The single-threaded workloads of issue 8: the DashFS paper's micro-benchmark, metadata operations, cached 4 KiB
 * reads and writes, and the paper's channel experiment (which is multi-threaded). Every file system gets the same
 * operations, the same data and the same random sequence.
 */
final class Workloads {

    static final int KIB4 = 4096;

    private Workloads() {}

    /** Fewer operations for the warm-up round. */
    static int count(int n, int round) {
        return round < 0 ? Math.max(1, n / 20) : n;
    }

    static byte[] data(int size, long seed) {
        byte[] b = new byte[size];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    static String runDir(String prefix, int round) {
        return "/" + prefix + (round < 0 ? "-warm" : "-r" + round);
    }

    /** The paper's micro-benchmark: per file create, write 4 KiB, fsync, close; the figure is the time per file. */
    static Workload paperMicro(int files) {
        return new Workload.Described(
                "micro",
                "create+write 4K+fsync+close",
                files + " files, 4 KiB each, one directory, 1 thread",
                Metric.MICROS_PER_OP) {

            @Override
            public Goal goal() {
                return Goal.atMost(0.4);
            }

            @Override
            public Measurement run(FileApi api, int round) throws IOException {
                String dir = runDir("micro", round);
                api.mkdir(dir);
                byte[] block = data(KIB4, 1);
                int n = count(files, round);
                Lap lap = new Lap();
                long start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    long h = api.open(dir + "/f" + i, FileApi.Mode.CREATE_NEW);
                    api.pwrite(h, 0, block, 0, KIB4);
                    api.fsync(h);
                    api.close(h);
                    lap.lap();
                }
                return new Measurement(n, System.nanoTime() - start, lap.latency);
            }
        };
    }

    /** stat of existing files (cached metadata), cycling over a set of files. */
    static Workload stat(int ops, int files) {
        String[] paths = new String[files];
        for (int i = 0; i < files; i++) {
            paths[i] = "/stat/f" + i;
        }
        return new Workload.Described(
                "meta", "stat", ops + " stats over " + files + " files, warm", Metric.MICROS_PER_OP) {

            @Override
            public Goal goal() {
                return Goal.atMost(0.5);
            }

            @Override
            public void prepare(FileApi api) throws IOException {
                api.mkdir("/stat");
                byte[] block = data(KIB4, 2);
                for (String p : paths) {
                    long h = api.open(p, FileApi.Mode.CREATE_NEW);
                    api.pwrite(h, 0, block, 0, KIB4);
                    api.close(h);
                }
                for (String p : paths) {
                    api.stat(p);
                }
            }

            @Override
            public Measurement run(FileApi api, int round) throws IOException {
                int n = count(ops, round);
                Lap lap = new Lap();
                long start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    if (api.stat(paths[i % files]) != KIB4) {
                        throw new IOException("stat: wrong size of " + paths[i % files]);
                    }
                    lap.lap();
                }
                return new Measurement(n, System.nanoTime() - start, lap.latency);
            }
        };
    }

    /** Create (exclusive) and close an empty file, then unlink it: one operation per pair. */
    static Workload createUnlink(int ops) {
        return new Workload.Described(
                "meta", "create+unlink", ops + " pairs, empty files, one directory", Metric.MICROS_PER_OP) {

            @Override
            public Measurement run(FileApi api, int round) throws IOException {
                String dir = runDir("cu", round);
                api.mkdir(dir);
                int n = count(ops, round);
                Lap lap = new Lap();
                long start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    String p = dir + "/f" + i;
                    api.close(api.open(p, FileApi.Mode.CREATE_NEW));
                    api.unlink(p);
                    lap.lap();
                }
                return new Measurement(n, System.nanoTime() - start, lap.latency);
            }
        };
    }

    static Workload mkdir(int ops) {
        return new Workload.Described("meta", "mkdir", ops + " directories in one directory", Metric.MICROS_PER_OP) {

            @Override
            public Measurement run(FileApi api, int round) throws IOException {
                String dir = runDir("mk", round);
                api.mkdir(dir);
                int n = count(ops, round);
                Lap lap = new Lap();
                long start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    api.mkdir(dir + "/d" + i);
                    lap.lap();
                }
                return new Measurement(n, System.nanoTime() - start, lap.latency);
            }
        };
    }

    /** Lists a directory of {@code entries} empty files, whole, {@code listings} times; one operation per listing. */
    static Workload readdir(int entries, int listings) {
        return new Workload.Described(
                "meta", "readdir", entries + " entries, whole listing x" + listings, Metric.MILLIS_PER_OP) {

            @Override
            public void prepare(FileApi api) throws IOException {
                api.mkdir("/rd");
                for (int i = 0; i < entries; i++) {
                    api.close(api.open("/rd/entry-" + i, FileApi.Mode.CREATE_NEW));
                }
            }

            @Override
            public Measurement run(FileApi api, int round) throws IOException {
                int n = round < 0 ? 1 : listings;
                Lap lap = new Lap();
                long start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    int got = api.list("/rd");
                    if (got != entries) {
                        throw new IOException("readdir: " + got + " entries, expected " + entries);
                    }
                    lap.lap();
                }
                return new Measurement(n, System.nanoTime() - start, lap.latency);
            }
        };
    }

    /**
     * Random 4 KiB-aligned reads ({@code write} false) or writes of one file of {@code fileBytes} whose data every
     * file system holds in memory: written, fsynced and read back whole before the runs (and warmed by the warm-up).
     */
    static Workload cached(boolean write, int ops, int fileBytes) {
        String file = write ? "/cached-w" : "/cached-r";
        return new Workload.Described(
                "cached",
                write ? "pwrite 4K" : "pread 4K",
                ops + " random 4 KiB " + (write ? "writes (no fsync)" : "reads") + " in a " + (fileBytes >> 20)
                        + " MiB file, warm",
                Metric.MICROS_PER_OP) {

            @Override
            public Goal goal() {
                return Goal.atMost(1.0);
            }

            @Override
            public String goalKernel() {
                return "tmpfs";
            }

            @Override
            public void prepare(FileApi api) throws IOException {
                byte[] chunk = data(1 << 20, 3);
                long h = api.open(file, FileApi.Mode.CREATE);
                try {
                    for (long pos = 0; pos < fileBytes; pos += chunk.length) {
                        api.pwrite(h, pos, chunk, 0, chunk.length);
                    }
                    api.fsync(h);
                    if (api.readWhole(h, chunk) != fileBytes) {
                        throw new IOException(file + ": wrong size");
                    }
                } finally {
                    api.close(h);
                }
            }

            @Override
            public Measurement run(FileApi api, int round) throws IOException {
                int n = count(ops, round);
                int blocks = fileBytes / KIB4;
                SplittableRandom random = new SplittableRandom(100 + round);
                byte[] buf = data(KIB4, 4);
                long h = api.open(file, FileApi.Mode.WRITE);
                try {
                    Lap lap = new Lap();
                    long start = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        long pos = (long) random.nextInt(blocks) * KIB4;
                        if (write) {
                            api.pwrite(h, pos, buf, 0, KIB4);
                        } else if (api.pread(h, pos, buf, 0, KIB4) != KIB4) {
                            throw new IOException("short read at " + pos);
                        }
                        lap.lap();
                    }
                    return new Measurement(n, System.nanoTime() - start, lap.latency);
                } finally {
                    api.close(h);
                }
            }
        };
    }

    /**
     * The paper's channel experiment: each of {@code threads} client threads appends 4 KiB at a time to a file of its
     * own, for {@code seconds}; after every {@code rotateBytes} a thread's file is closed, unlinked and a new one is
     * started (not counted), so the RAM device does not fill.
     */
    static Workload channel(int threads, double seconds, int rotateBytes) {
        return new Workload.Described(
                "channel",
                "append 4K, " + threads + (threads == 1 ? " thread" : " threads"),
                String.format(Locale.ROOT, "%d threads, own file each, %.1f s, RAM device vs tmpfs", threads, seconds),
                Metric.OPS_PER_SECOND) {

            @Override
            public Measurement run(FileApi api, int round) throws Exception {
                String dir = runDir("ch" + threads, round);
                api.mkdir(dir);
                byte[] block = data(KIB4, 5);
                return Timed.run(threads, round < 0 ? 0.3 : seconds, (t, lap, deadline) -> {
                    int generation = 0;
                    String path = dir + "/t" + t + "-" + generation;
                    long h = api.open(path, FileApi.Mode.CREATE);
                    long pos = 0;
                    lap.skip();
                    while (System.nanoTime() < deadline) {
                        api.pwrite(h, pos, block, 0, KIB4);
                        pos += KIB4;
                        lap.lap();
                        if (pos == rotateBytes) {
                            api.close(h);
                            api.unlink(path);
                            path = dir + "/t" + t + "-" + ++generation;
                            h = api.open(path, FileApi.Mode.CREATE);
                            pos = 0;
                            lap.skip();
                        }
                    }
                    api.close(h);
                    api.unlink(path);
                });
            }
        };
    }

    /** The channel experiment for 1 to {@code maxThreads} threads. */
    static List<Workload> channels(int maxThreads, double seconds) {
        List<Workload> all = new ArrayList<>();
        for (int t = 1; t <= maxThreads; t++) {
            all.add(channel(t, seconds, 4 << 20));
        }
        return all;
    }
}
