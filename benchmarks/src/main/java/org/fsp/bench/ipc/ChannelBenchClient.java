package org.fsp.bench.ipc;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import org.HdrHistogram.Histogram;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;

/**
 * The client of {@link org.fsp.bench.jmh.SyscallCount}, run in its own JVM: {@code threads} threads each do {@code ops} requests of
 * one kind (after {@code warmup} unmeasured ones), timing each, and it prints
 * {@code RESULT op threads p50ns p99ns meanNs opsPerSecond futexCallsPerOp} (the client's own system calls on the
 * request path, counted by FS Lib). Also usable alone, e.g. under strace:
 * {@code ChannelBenchClient SOCKET THREADS noop|write|read OPS WARMUP [--no-timing]}.
 */
public final class ChannelBenchClient {

    private ChannelBenchClient() {}

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        String op = args[2];
        int ops = Integer.parseInt(args[3]);
        int warmup = Integer.parseInt(args[4]);
        boolean timing = args.length < 6 || !args[5].equals("--no-timing");
        try (FspClient c = FspClient.connect(socket, threads)) {
            List<Histogram> histograms = new ArrayList<>();
            List<Thread> workers = new ArrayList<>();
            CyclicBarrier start = new CyclicBarrier(threads + 1);
            CyclicBarrier measured = new CyclicBarrier(threads + 1);
            long[] elapsed = new long[threads];
            for (int t = 0; t < threads; t++) {
                Histogram h = new Histogram(3_600_000_000L, 3);
                histograms.add(h);
                int id = t;
                Thread w = Thread.ofPlatform().name("bench-" + t).start(() -> {
                    try {
                        String path = "/bench-" + ProcessHandle.current().pid() + "-" + id;
                        long handle = c.open(path, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
                        byte[] block = new byte[4096];
                        for (int i = 0; i < 256; i++) {
                            c.pwrite(handle, i * 4096L, block, 0, block.length);
                        }
                        run(c, op, handle, block, warmup, null);
                        start.await();
                        long t0 = System.nanoTime();
                        run(c, op, handle, block, ops, timing ? h : null);
                        elapsed[id] = System.nanoTime() - t0;
                        measured.await();
                        c.close(handle);
                        c.unlink(path);
                    } catch (Exception e) {
                        e.printStackTrace();
                        System.exit(2);
                    }
                });
                workers.add(w);
            }
            start.await();
            long futexBefore = c.futexCalls();
            measured.await();
            long futexCalls = c.futexCalls() - futexBefore;
            for (Thread w : workers) {
                w.join();
            }
            Histogram all = new Histogram(3_600_000_000L, 3);
            histograms.forEach(all::add);
            long longest = 0;
            for (long e : elapsed) {
                longest = Math.max(longest, e);
            }
            double opsPerSecond = (double) ops * threads / (longest / 1e9);
            System.out.printf(
                    Locale.ROOT,
                    "RESULT %s %d %d %d %.0f %.0f %.5f%n",
                    op,
                    threads,
                    all.getValueAtPercentile(50),
                    all.getValueAtPercentile(99),
                    all.getMean(),
                    opsPerSecond,
                    (double) futexCalls / ((long) ops * threads));
        }
    }

    private static void run(FspClient c, String op, long handle, byte[] block, int n, Histogram h) throws Exception {
        for (int i = 0; i < n; i++) {
            long t0 = h == null ? 0 : System.nanoTime();
            switch (op) {
                case "noop" -> c.noop();
                case "write" -> c.pwrite(handle, (i & 255) * 4096L, block, 0, block.length);
                case "read" -> c.pread(handle, (i & 255) * 4096L, block, 0, block.length);
                default -> throw new IllegalArgumentException(op);
            }
            if (h != null) {
                h.recordValue(System.nanoTime() - t0);
            }
        }
    }
}
