package org.fsp.bench.ipc;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;
import org.fsp.ipc.shm.ShmServer;
import org.fsp.ipc.shm.ShmServerConfig;

/**
 * The channel benchmark (not a test): fs-core on a RAM device served by {@link ShmServer} in this JVM, and FS Lib
 * clients in separate JVMs ({@link ChannelBenchClient}) doing no-op requests and 4 KiB pwrite / pread with 1, 2 and 4
 * threads; in the same run the floor, a raw shared-memory ping-pong with a 4 KiB copy between two JVMs
 * ({@link PingPong}). Prints a table of p50 / p99 / mean round trip and throughput, and the p50 of a 4 KiB write
 * over the floor's p50, also without fs-core's own share (its pwrite timed in this JVM, no channel). Absolute numbers vary between machines; read the ratios.
 *
 * <p>Usage: {@code ChannelBench [--ops N] [--workers W] [--threads 1,2,4] [--serve SECONDS]}; {@code -Dfsp.client.spinMicros=N} is passed
 * on to the clients (how long a waiting client thread spins before it sleeps on its futex word).
 */
public final class ChannelBench {

    private ChannelBench() {}

    public static void main(String[] args) throws Exception {
        int ops = 200_000;
        int workers = 1;
        String threadList = "1,2,4";
        long serveSeconds = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--ops" -> ops = Integer.parseInt(args[++i]);
                case "--workers" -> workers = Integer.parseInt(args[++i]);
                case "--threads" -> threadList = args[++i];
                case "--serve" -> serveSeconds = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("fsp-bench-");
        if (serveSeconds > 0) {
            serve(dir.resolve("fsp.sock"), workers, serveSeconds);
            Files.deleteIfExists(dir);
            return;
        }
        Map<String, String[]> results = new LinkedHashMap<>();

        Path shm = Path.of("/dev/shm/fsp-pingpong-" + ProcessHandle.current().pid());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = PingPong.map(shm, arena);
            boolean[] stop = {false};
            Thread ponger = Thread.ofPlatform().name("ponger").start(() -> PingPong.pong(seg, () -> stop[0]));
            try {
                results.put(
                        "pingpong 1",
                        child(PingPong.class, "ping", shm.toString(), String.valueOf(ops), String.valueOf(ops / 4)));
            } finally {
                stop[0] = true;
                ponger.join();
            }
        } finally {
            Files.deleteIfExists(shm);
        }

        RamBlockDevice device = new RamBlockDevice(256L << 20, 256);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 1024);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        FsCore fs = FsCore.mount(scheduler, new FsCore.Options(128L << 20, 32, 5000));
        results.put("in-process 1", inProcessWrites(fs, ops));
        Path socket = dir.resolve("fsp.sock");
        try (ShmServer server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS.withWorkers(workers))) {
            server.start();
            for (String t : threadList.split(",")) {
                for (String op : List.of("noop", "write", "read")) {
                    results.put(
                            op + " " + t,
                            child(
                                    ChannelBenchClient.class,
                                    socket.toString(),
                                    t,
                                    op,
                                    String.valueOf(ops),
                                    String.valueOf(ops / 4)));
                }
            }
        } finally {
            fs.unmount();
            device.close();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }

        System.out.printf(
                Locale.ROOT,
                "%nFSP channel round trips, client in a separate JVM, fs-core on a RAM device, "
                        + "%d server worker(s), %d measured ops per thread, %d cores%n",
                workers,
                ops,
                Runtime.getRuntime().availableProcessors());
        System.out.printf(
                Locale.ROOT,
                "%-15s %7s %10s %10s %10s %14s %12s%n",
                "op",
                "threads",
                "p50 ns",
                "p99 ns",
                "mean ns",
                "ops/s (all)",
                "futex/op");
        for (Map.Entry<String, String[]> e : results.entrySet()) {
            String[] r = e.getValue();
            System.out.printf(
                    Locale.ROOT,
                    "%-15s %7s %10s %10s %10s %14s %12s%n",
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    r.length > 7 ? r[7] : "-");
        }
        double floor = Double.parseDouble(results.get("pingpong 1")[3]);
        double write = Double.parseDouble(results.get("write 1")[3]);
        double fsShare = Double.parseDouble(results.get("in-process 1")[3]);
        System.out.printf(
                Locale.ROOT,
                "p50 4 KiB write / p50 raw ping-pong = %.2f (target <= 2); without fs-core's own "
                        + "pwrite p50: %.2f%n",
                write / floor,
                (write - fsShare) / floor);
    }

    /**
     * Only the server, for measuring a client from outside (e.g. {@code strace -f -c} on {@link ChannelBenchClient}):
     * prints {@code SOCKET path} and serves for {@code seconds}.
     */
    private static void serve(Path socket, int workers, long seconds) throws Exception {
        RamBlockDevice device = new RamBlockDevice(256L << 20, 256);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 1024);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        FsCore fs = FsCore.mount(scheduler, new FsCore.Options(128L << 20, 32, 5000));
        try (ShmServer server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS.withWorkers(workers))) {
            server.start();
            System.out.println("SOCKET " + socket);
            System.out.flush();
            Thread.sleep(seconds * 1000);
        } finally {
            fs.unmount();
            device.close();
        }
    }

    /**
     * The file system's own share of a 4 KiB write: fs-core's pwrite called in this JVM, no channel, same pattern as
     * the clients (256 blocks of one file, rewritten).
     */
    private static String[] inProcessWrites(FsCore fs, int ops) throws IOException {
        Credentials root = Credentials.ROOT;
        long h = fs.open(root, "/in-process", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        Histogram hist = new Histogram(3_600_000_000L, 3);
        long start = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(4096, 4096);
            for (int i = 0; i < ops + ops / 4; i++) {
                if (i == ops / 4) {
                    start = System.nanoTime();
                }
                long t0 = System.nanoTime();
                fs.pwrite(root, h, (i & 255) * 4096L, block);
                if (i >= ops / 4) {
                    hist.recordValue(System.nanoTime() - t0);
                }
            }
        }
        double perSecond = ops / ((System.nanoTime() - start) / 1e9);
        fs.close(root, h);
        fs.unlink(root, "/in-process");
        return String.format(
                        Locale.ROOT,
                        "RESULT fs-core-pwrite 1 %d %d %.0f %.0f",
                        hist.getValueAtPercentile(50),
                        hist.getValueAtPercentile(99),
                        hist.getMean(),
                        perSecond)
                .split(" ");
    }

    /** Runs {@code main} in a child JVM with this class path and returns its RESULT line's fields. */
    private static String[] child(Class<?> main, String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx256m",
                "-Dfsp.client.spinMicros=" + Long.getLong("fsp.client.spinMicros", 200),
                "-cp",
                System.getProperty("java.class.path"),
                main.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String result = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("RESULT ")) {
                    result = line;
                } else {
                    System.err.println("[" + main.getSimpleName() + "] " + line);
                }
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
            p.waitFor();
        }
        if (result == null) {
            throw new IOException(main.getSimpleName() + " " + String.join(" ", args) + " printed no result");
        }
        System.err.println(result);
        return result.split(" ");
    }
}
