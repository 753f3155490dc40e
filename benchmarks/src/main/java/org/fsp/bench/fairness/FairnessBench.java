package org.fsp.bench.fairness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.fsp.bench.BenchHost;
import org.fsp.bench.eval.Fspd;
import org.fsp.client.FspClient;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.fsp.linux.UnixSockets;

/**
 * An honest client beside hostile ones, on a real {@code fspd} with an io_uring image (so that SYNC flushes a device):
 * the honest client's stat p50/p99 alone, beside a client flooding SYNC (one connection, 16 lanes, many threads each
 * looping {@code sync()}), and beside a thousand connections that never say hello (renewed all the time, so that the
 * daemon always has silent connections to shed); then the honest connect time alone and beside the silent
 * connections. Prints each figure and its ratio to the honest client alone.
 *
 * <p>Usage: {@code FairnessBench [--dist DIR] [--seconds N] [--flood-threads N] [--silent N]}; {@code --dist} is the
 * built distribution ({@code distribution/target/fsp}).
 *
 * <p>Targets (issue 12): stat p99 beside the SYNC flood at most 3x alone; connect time beside the silent connections
 * at most 1.5x alone.
 */
public final class FairnessBench {

    private final Path socket;
    private final int seconds;

    private FairnessBench(Path socket, int seconds) {
        this.socket = socket;
        this.seconds = seconds;
    }

    public static void main(String[] args) throws Exception {
        Path dist = BenchHost.distribution();
        int seconds = 3;
        int floodThreads = 64;
        int silent = 1000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dist" -> dist = Path.of(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--flood-threads" -> floodThreads = Integer.parseInt(args[++i]);
                case "--silent" -> silent = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println(
                            "usage: FairnessBench [--dist DIR] [--seconds N] [--flood-threads N] [--silent N]");
                    System.exit(2);
                }
            }
        }
        Path bin = dist.resolve("bin").toAbsolutePath();
        Path work = Files.createTempDirectory("fsp-fairness-bench-");
        Fspd fspd = Fspd.start(bin.resolve("fspd"), work, "fairness", "io_uring", "256M");
        try {
            FairnessBench bench = new FairnessBench(fspd.socket, seconds);
            System.out.printf(
                    "fairness bench: fspd pid %d, io_uring image, %d s per phase; the honest client stats \"/\" on one"
                            + " lane%n",
                    fspd.pid(), seconds);
            Histogram alone = bench.statAlone();
            print("stat alone", alone, alone);
            AtomicLong syncs = new AtomicLong();
            Histogram flooded = bench.statBeside(bench.syncFlood(floodThreads, syncs));
            print("stat beside a SYNC flood (" + floodThreads + " threads, 16 lanes)", flooded, alone);
            System.out.printf(
                    "  flooder: %.0f syncs/s; p99 ratio %.2f (target: at most 3)%n",
                    syncs.get() / (double) seconds, ratio(flooded, alone, 99));
            Histogram besideSilent = bench.statBeside(bench.silentConnections(silent));
            print("stat beside " + silent + " silent connections", besideSilent, alone);
            Histogram connectAlone = bench.connects(null);
            Histogram connectSilent = bench.connects(bench.silentConnections(silent));
            System.out.printf(
                    "connect alone: p50 %.2f ms, p99 %.2f ms; beside %d silent connections: p50 %.2f ms, p99 %.2f ms;"
                            + " p50 ratio %.2f (target: at most 1.5), p99 ratio %.2f%n",
                    connectAlone.getValueAtPercentile(50) / 1e6,
                    connectAlone.getValueAtPercentile(99) / 1e6,
                    silent,
                    connectSilent.getValueAtPercentile(50) / 1e6,
                    connectSilent.getValueAtPercentile(99) / 1e6,
                    ratio(connectSilent, connectAlone, 50),
                    ratio(connectSilent, connectAlone, 99));
        } finally {
            fspd.close();
            Files.deleteIfExists(fspd.image);
        }
    }

    /** Something hostile that runs beside a measurement until its flag is set. */
    private interface Attack {
        void run(AtomicBoolean stop) throws Exception;
    }

    private Histogram statAlone() throws Exception {
        return statBeside(null);
    }

    /** The honest client's stat latency for {@link #seconds} while {@code attack} (null: none) runs beside it. */
    private Histogram statBeside(Attack attack) throws Exception {
        Histogram h = new Histogram(3_600_000_000L, 3);
        try (FspClient c = FspClient.connect(socket, 1)) {
            for (int i = 0; i < 20_000; i++) {
                c.stat("/");
            }
            during(attack, () -> {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    c.stat("/");
                    h.recordValue(System.nanoTime() - t0);
                }
            });
        }
        return h;
    }

    /** Connect, one no-op and close, for {@link #seconds}, while {@code attack} (null: none) runs beside it. */
    private Histogram connects(Attack attack) throws Exception {
        Histogram h = new Histogram(3_600_000_000L, 3);
        during(attack, () -> {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                try (FspClient c = FspClient.connect(socket, 1)) {
                    c.noop();
                }
                h.recordValue(System.nanoTime() - t0);
            }
        });
        return h;
    }

    private interface Measurement {
        void run() throws Exception;
    }

    private static void during(Attack attack, Measurement m) throws Exception {
        if (attack == null) {
            m.run();
            return;
        }
        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> failed = new ArrayList<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                started.countDown();
                attack.run(stop);
            } catch (Exception | Error e) {
                synchronized (failed) {
                    failed.add(e);
                }
            }
        });
        started.await();
        Thread.sleep(500);
        try {
            m.run();
        } finally {
            stop.set(true);
            t.join();
        }
        if (!failed.isEmpty()) {
            throw new IOException("the attack failed: " + failed.getFirst(), failed.getFirst());
        }
    }

    /** One connection with 16 lanes; {@code threads} threads each loop {@code sync()} on it, counted in {@code syncs}. */
    private Attack syncFlood(int threads, AtomicLong syncs) {
        return stop -> {
            try (FspClient flooder = FspClient.connect(socket, 16)) {
                List<Thread> ts = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    ts.add(Thread.ofPlatform().start(() -> {
                        try {
                            while (!stop.get()) {
                                flooder.sync();
                                syncs.incrementAndGet();
                            }
                        } catch (IOException e) {
                            throw new IllegalStateException("a flooding sync failed", e);
                        }
                    }));
                }
                for (Thread t : ts) {
                    t.join();
                }
            }
        };
    }

    /**
     * {@code count} connections that never say hello, renewed one after the other (closed and opened again) so that
     * the daemon always has silent connections to shed.
     */
    private Attack silentConnections(int count) {
        return stop -> {
            int[] fds = new int[count];
            for (int i = 0; i < count; i++) {
                fds[i] = UnixSockets.connect(socket.toString());
            }
            try {
                for (int i = 0; !stop.get(); i = (i + 1) % count) {
                    Libc.close(fds[i]);
                    fds[i] = -1;
                    try {
                        fds[i] = UnixSockets.connect(socket.toString());
                    } catch (NativeException e) {
                        // The backlog may be full for a moment; the next round tries again.
                    }
                    if (i == count - 1) {
                        Thread.sleep(100);
                    }
                }
            } finally {
                for (int fd : fds) {
                    if (fd >= 0) {
                        Libc.close(fd);
                    }
                }
            }
        };
    }

    private static double ratio(Histogram h, Histogram base, double percentile) {
        return h.getValueAtPercentile(percentile) / (double) Math.max(1, base.getValueAtPercentile(percentile));
    }

    private static void print(String what, Histogram h, Histogram alone) {
        System.out.printf(
                "%-52s p50 %8.1f us  p99 %8.1f us  (%d stats; ratio to alone p50 %.2f, p99 %.2f)%n",
                what,
                h.getValueAtPercentile(50) / 1e3,
                h.getValueAtPercentile(99) / 1e3,
                h.getTotalCount(),
                ratio(h, alone, 50),
                ratio(h, alone, 99));
    }
}
