package org.fsp.bench.recovery;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.fsp.api.fs.OpenFlags;
import org.fsp.bench.BenchHost;
import org.fsp.bench.ChildProcesses;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;

/**
 * {@code fsp bench recovery}: how fast FSP serves again after {@code kill -9} of fspd. Starts {@code bin/fspd
 * --supervise} on a fresh image, runs client threads with 1, 8 and 64 open files each doing a mixed workload through FS
 * Lib (pwrite, pread, fstat, fsync, create-rename-unlink), and SIGKILLs the serving fspd {@code --crashes} times, each
 * time once the supervisor's standby is warm. For each crash it measures (a) kill to the first request served, by a
 * fresh client that connects and stats {@code /}; (b) kill to every client re-attached (a call it began after the old
 * fspd was dead succeeded: today
 * the clients reconnect and reopen their files by hand when a call fails because the server is gone; with FS Lib's own
 * reconnect they simply see a slow call); and the pause each client saw (its last call before the crash to its first
 * after). Then the old path for comparison, in the same run: fspd without a supervisor, killed and started again as a
 * new JVM, (a) measured the same way. A FUSE row beside them ({@link FuseRecoveryPhase}): the same kills under a
 * supervised mount, (a) and the pause a program doing file I/O in the mount saw.
 *
 * <p>Usage: {@code RecoveryBench [--dist DIR] [--crashes N] [--quick] [--clients N] [--cold N]}; defaults: 100 crashes
 * ({@code --quick}: 10), 4 clients, 5 cold restarts ({@code --quick}: 2). Target (issue 18): p99 of (a) under 400 ms.
 */
public final class RecoveryBench {

    private static final Pattern SERVING = Pattern.compile("(?:fspd|standby) pid (\\d+) serving");
    private static final Pattern WARM = Pattern.compile("standby fspd pid \\d+ warm");
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(120);
    private static final int BLOCK = 4096;
    private static final long FILE_BYTES = 1 << 20;

    private final Path socket;

    private RecoveryBench(Path socket) {
        this.socket = socket;
    }

    public static void main(String[] args) throws Exception {
        Path dist = BenchHost.distribution();
        int crashes = 100;
        int clients = 4;
        int cold = 5;
        boolean quick = false;
        boolean crashesGiven = false;
        boolean coldGiven = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dist" -> dist = Path.of(args[++i]);
                case "--crashes" -> {
                    crashes = Integer.parseInt(args[++i]);
                    crashesGiven = true;
                }
                case "--quick" -> quick = true;
                case "--clients" -> clients = Integer.parseInt(args[++i]);
                case "--cold" -> {
                    cold = Integer.parseInt(args[++i]);
                    coldGiven = true;
                }
                default -> {
                    System.err.println(
                            "usage: fsp bench recovery [--dist DIR] [--crashes N] [--quick] [--clients N] [--cold N]");
                    System.exit(2);
                }
            }
        }
        if (quick) {
            crashes = crashesGiven ? crashes : 10;
            cold = coldGiven ? cold : 2;
        }
        if (crashes < 3 || clients < 1 || cold < 1) {
            System.err.println("fsp bench recovery: --crashes must be 3 or more, --clients and --cold 1 or more");
            System.exit(2);
        }
        Path bin = dist.resolve("bin").toAbsolutePath();
        Path work = Files.createTempDirectory("fsp-recovery-bench-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwx------"));
        Path socket = work.resolve("fsp.sock");
        Path image = work.resolve("recovery.img");
        RecoveryBench bench = new RecoveryBench(socket);
        System.out.printf(
                Locale.ROOT,
                "recovery bench: %d SIGKILLs of a supervised fspd (warm standby) under %d client threads, then %d cold"
                        + " restarts (a new JVM); load average %s%n",
                crashes,
                clients,
                cold,
                BenchHost.loadAverage());
        Histogram firstServed = new Histogram(TIMEOUT_NANOS, 3);
        List<String> rows = new ArrayList<>();
        Process supervisor = ChildProcesses.start(new ProcessBuilder(
                        bin.resolve("fspd").toString(),
                        "--supervise",
                        "--crash-limit",
                        "0",
                        "--device",
                        image.toString(),
                        "--size",
                        "256M",
                        "--socket",
                        socket.toString())
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("supervisor.out").toFile()));
        try {
            Path out = work.resolve("supervisor.out");
            int served = 1;
            long primary = awaitServing(supervisor, out, served);
            int[] files = {1, 8, 64};
            for (int f = 0; f < files.length; f++) {
                int kills = crashes / files.length + (f < crashes % files.length ? 1 : 0);
                Histogram a = new Histogram(TIMEOUT_NANOS, 3);
                Histogram b = new Histogram(TIMEOUT_NANOS, 3);
                Histogram pause = new Histogram(TIMEOUT_NANOS, 3);
                List<Client> running = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    running.add(bench.startClient(c, files[f]));
                }
                try {
                    for (int k = 0; k < kills; k++) {
                        awaitWarmStandbys(supervisor, Path.of(socket + ".d", "fspd.log"), served + 1);
                        for (Client c : running) {
                            c.awaitProgress();
                        }
                        Thread.sleep(100);
                        for (Client c : running) {
                            c.crash();
                        }
                        long killedAt = System.nanoTime();
                        ProcessHandle.of(primary).orElseThrow().destroyForcibly();
                        long deadAt = awaitDeath(primary);
                        for (Client c : running) {
                            c.deadAt(deadAt);
                        }
                        long first = bench.firstServed(killedAt);
                        a.recordValue(first - killedAt);
                        firstServed.recordValue(first - killedAt);
                        for (Client c : running) {
                            long back = c.awaitReattached();
                            b.recordValue(Math.max(0, back - killedAt));
                            pause.recordValue(c.lastPauseNanos());
                        }
                        primary = awaitServing(supervisor, out, ++served);
                    }
                } finally {
                    for (Client c : running) {
                        c.stop();
                    }
                }
                long errors = running.stream().mapToLong(c -> c.errors.get()).sum();
                long ops = running.stream().mapToLong(c -> c.ops.get()).sum();
                rows.add(String.format(
                        Locale.ROOT,
                        "| %2d | %3d | %7.1f | %7.1f | %7.1f | %7.1f | %7.1f | %7.1f | %d in %d |",
                        files[f],
                        kills,
                        ms(a, 50),
                        ms(a, 99),
                        ms(b, 50),
                        ms(b, 99),
                        ms(pause, 50),
                        ms(pause, 99),
                        errors,
                        ops));
            }
        } finally {
            supervisor.destroy();
            if (!supervisor.waitFor(90, TimeUnit.SECONDS)) {
                supervisor.descendants().forEach(ProcessHandle::destroyForcibly);
                supervisor.destroyForcibly();
            }
        }
        Histogram fuseServed = new Histogram(TIMEOUT_NANOS, 3);
        rows.add(new FuseRecoveryPhase(bin, work).run(Math.max(3, crashes / 3), fuseServed));
        Histogram coldServed = bench.coldRestarts(bin, image, work, cold);
        System.out.println();
        System.out.println("| open files per client | crashes | (a) kill to first served p50 ms | p99 ms"
                + " | (b) kill to all clients re-attached p50 ms | p99 ms | client-seen pause p50 ms | p99 ms"
                + " | errno errors in calls |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        rows.forEach(System.out::println);
        System.out.printf(
                Locale.ROOT,
                "%nall %d crashes: (a) p50 %.1f ms, p99 %.1f ms (target: p99 under 400 ms: %s)%n",
                firstServed.getTotalCount(),
                ms(firstServed, 50),
                ms(firstServed, 99),
                ms(firstServed, 99) < 400 ? "met" : "missed");
        System.out.printf(
                Locale.ROOT,
                "FUSE mount, %d crashes: (a) kill to first FUSE request served p50 %.1f ms, p99 %.1f ms (target: p99"
                        + " under 400 ms: %s)%n",
                fuseServed.getTotalCount(),
                ms(fuseServed, 50),
                ms(fuseServed, 99),
                fuseServed.getTotalCount() == 0 ? "not measured" : ms(fuseServed, 99) < 400 ? "met" : "missed");
        System.out.printf(
                Locale.ROOT,
                "cold restart (new JVM, %d times): (a) p50 %.1f ms, p99 %.1f ms; warm standby / cold p50 ratio %.3f"
                        + " (%.1fx faster)%n",
                coldServed.getTotalCount(),
                ms(coldServed, 50),
                ms(coldServed, 99),
                ms(firstServed, 50) / ms(coldServed, 50),
                ms(coldServed, 50) / ms(firstServed, 50));
        System.out.printf("load average at the end %s; work directory %s%n", BenchHost.loadAverage(), work);
    }

    /** The old path: fspd alone on the same image, SIGKILLed, a new one started at once; kill to first served. */
    private Histogram coldRestarts(Path bin, Path image, Path work, int times) throws Exception {
        Histogram h = new Histogram(TIMEOUT_NANOS, 3);
        Process fspd = startPlain(bin, image, work, 0);
        firstServed(System.nanoTime());
        for (int i = 1; i <= times; i++) {
            Thread.sleep(500);
            long killedAt = System.nanoTime();
            fspd.destroyForcibly();
            fspd.waitFor();
            fspd = startPlain(bin, image, work, i);
            h.recordValue(firstServed(killedAt) - killedAt);
        }
        fspd.destroy();
        if (!fspd.waitFor(60, TimeUnit.SECONDS)) {
            fspd.destroyForcibly();
        }
        return h;
    }

    private Process startPlain(Path bin, Path image, Path work, int n) throws IOException {
        return ChildProcesses.start(new ProcessBuilder(
                        bin.resolve("fspd").toString(),
                        "--headless",
                        "--device",
                        image.toString(),
                        "--socket",
                        socket.toString())
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("cold-" + n + ".out").toFile()));
    }

    /** A fresh client connects and stats "/" until it works; returns when it did. */
    private long firstServed(long since) throws Exception {
        while (System.nanoTime() - since < TIMEOUT_NANOS) {
            try (FspClient c = FspClient.connect(socket, 1)) {
                c.stat("/");
                return System.nanoTime();
            } catch (IOException notYet) {
                Thread.sleep(1); // ENOENT / ECONNREFUSED on the old path; the old server's closed channel
            }
        }
        throw new IOException("nothing served on " + socket + " within 120 s of the kill");
    }

    /** Waits for the supervisor's {@code n}-th "serving" line in {@code out}; returns that fspd's pid. */
    static long awaitServing(Process supervisor, Path out, int n) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (System.nanoTime() < deadline) {
            Matcher m = SERVING.matcher(Files.readString(out));
            int seen = 0;
            while (m.find()) {
                if (++seen == n) {
                    return Long.parseLong(m.group(1));
                }
            }
            if (!supervisor.isAlive()) {
                throw new IOException("the supervisor exited: " + Files.readString(out));
            }
            Thread.sleep(10);
        }
        throw new IOException("no fspd serving within 120 s; see " + out);
    }

    /** Waits until {@code n} standbys have reported warm in fspd's {@code log}. */
    static void awaitWarmStandbys(Process supervisor, Path log, int n) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (System.nanoTime() < deadline && supervisor.isAlive()) {
            Matcher m = WARM.matcher(Files.exists(log) ? Files.readString(log) : "");
            int seen = 0;
            while (m.find()) {
                seen++;
            }
            if (seen >= n) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IOException("no warm standby within 120 s; see " + log);
    }

    private Client startClient(int id, int files) throws IOException {
        Client c = new Client(id, files);
        c.thread = Thread.ofPlatform().name("recovery-client-" + id).start(c::run);
        return c;
    }

    /**
     * One client: {@code files} open files, a mixed workload; when a call fails because the server is gone it
     * reconnects and reopens its files, and the first call that succeeds after a crash marks it re-attached.
     */
    private final class Client {
        final int id;
        final int files;
        final AtomicLong ops = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final Random random;
        Thread thread;
        volatile boolean stop;
        volatile long deadAt;
        volatile long reattachedAt;
        volatile long pauseNanos;
        long lastOk;

        Client(int id, int files) {
            this.id = id;
            this.files = files;
            this.random = new Random(id);
        }

        void crash() {
            reattachedAt = 0;
            deadAt = 0;
        }

        void deadAt(long nanos) {
            deadAt = nanos;
        }

        void awaitProgress() throws Exception {
            long seen = ops.get();
            long deadline = System.nanoTime() + TIMEOUT_NANOS;
            while (ops.get() == seen) {
                if (System.nanoTime() > deadline || !thread.isAlive()) {
                    throw new IOException("client " + id + " makes no progress");
                }
                Thread.sleep(1);
            }
        }

        long awaitReattached() throws Exception {
            long deadline = System.nanoTime() + TIMEOUT_NANOS;
            while (reattachedAt == 0) {
                if (System.nanoTime() > deadline || !thread.isAlive()) {
                    throw new IOException("client " + id + " did not re-attach within 120 s");
                }
                Thread.sleep(1);
            }
            return reattachedAt;
        }

        long lastPauseNanos() {
            return pauseNanos;
        }

        void stop() throws InterruptedException {
            stop = true;
            thread.join(30_000);
        }

        void run() {
            byte[] block = new byte[BLOCK];
            random.nextBytes(block);
            String dir = "/client-" + id + "-" + files;
            while (!stop) {
                try (FspClient c = FspClient.connect(socket, 1)) {
                    try {
                        c.mkdir(dir, 0755);
                    } catch (IOException e) {
                        if (!(e instanceof FspException)) {
                            throw e;
                        }
                    }
                    long[] handles = new long[files];
                    for (int i = 0; i < files; i++) {
                        handles[i] = c.open(dir + "/f" + i, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
                    }
                    while (!stop) {
                        long began = System.nanoTime();
                        operate(c, dir, handles, block);
                        long now = System.nanoTime();
                        long dead = deadAt;
                        // A call that began once the old server was dead was served by the new one.
                        if (dead != 0 && reattachedAt == 0 && began > dead) {
                            pauseNanos = now - lastOk;
                            reattachedAt = now;
                        }
                        lastOk = now;
                        ops.incrementAndGet();
                    }
                } catch (IOException e) {
                    if (e instanceof FspException) {
                        errors.incrementAndGet();
                    }
                    // The server is gone: connect again (the new one takes over the same socket), without spinning
                    // on the CPU the take-over needs.
                    sleepQuietly();
                }
            }
        }

        private void sleepQuietly() {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop = true;
            }
        }

        private void operate(FspClient c, String dir, long[] handles, byte[] block) throws IOException {
            long n = ops.get();
            long h = handles[(int) (n % handles.length)];
            long offset = (long) random.nextInt((int) (FILE_BYTES / BLOCK)) * BLOCK;
            switch ((int) (n % 8)) {
                case 0, 1, 2 -> c.pwrite(h, offset, block, 0, BLOCK);
                case 3, 4 -> c.pread(h, offset, block, 0, BLOCK);
                case 5 -> c.fstat(h);
                case 6 -> c.fsync(h);
                default -> {
                    try {
                        c.writeAll(dir + "/tmp", block);
                        c.rename(dir + "/tmp", dir + "/renamed");
                        c.unlink(dir + "/renamed");
                    } catch (IOException e) {
                        if (!(e instanceof FspException)) {
                            throw e;
                        }
                        errors.incrementAndGet(); // e.g. a create lost in the crash: counted, not fatal
                    }
                }
            }
        }
    }

    /** When {@code pid} is dead (a zombie or gone), watched closely: calls that begin later cannot reach it. */
    private static long awaitDeath(long pid) throws Exception {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (System.nanoTime() < deadline) {
            try {
                String s = Files.readString(stat);
                char state = s.charAt(s.lastIndexOf(')') + 2);
                if (state == 'Z' || state == 'X') {
                    return System.nanoTime();
                }
            } catch (IOException gone) {
                return System.nanoTime();
            }
            Thread.sleep(java.time.Duration.ofNanos(200_000)); // not a spin: the take-over needs the CPU
        }
        throw new IOException("fspd pid " + pid + " still runs 120 s after SIGKILL");
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1e6;
    }
}
