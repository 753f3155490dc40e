package org.fsp.bench.device;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.fsp.api.block.BlockDevice;
import org.fsp.bench.ChildProcesses;
import org.fsp.block.nvme.IoUringBlockDevice;

/**
 * {@code fsp bench device}: the FSP io_uring driver against fio's io_uring engine on the same image in the same run,
 * 4 KiB random reads and writes at QD1 and QD32 and 128 KiB sequential transfers, in plain and SQPOLL modes; prints
 * IOPS, mean and p99 latency, FSP/fio ratios, and system calls per I/O (the driver's own io_uring_enter count for
 * every row, confirmed with {@code strace -c -f} for the QD32 rows).
 *
 * <p>Usage: {@code DeviceBench [--image PATH] [--size BYTES] [--seconds N] [--rounds N] [--spin-us N] [--only TEXT]}:
 * each engine runs {@code rounds} times per workload (default 2), alternating which goes first, and the means are
 * printed; {@code --spin-us} sets FSP's spin before parking (default 50), {@code --only} keeps the workloads whose
 * label contains the text. The image
 * is created (filled with data, so reads reach the medium instead of reading holes) when missing or smaller than
 * {@code --size}. Both engines use
 * O_DIRECT, a registered file and registered buffers, one submitting thread, and one second of warm-up. fio runs with
 * its default batching (it submits each I/O as it is queued); FSP submits whatever it queued since the last poll in
 * one call. In plain mode FSP's poller spins on the CQ for up to 50 us, then parks in the kernel until a completion
 * arrives (so that on a busy machine it does not burn the CPU the completions need); in SQPOLL mode it only spins, so
 * that it makes no system call; fio waits in the kernel at once. SQPOLL needs a free core for the kernel's polling
 * thread: on a machine whose cores are all busy both engines collapse in that mode. Absolute
 * numbers vary between machines and runs; the ratios within one run are the result.
 */
public final class DeviceBench {

    private static final int BLOCK = 4096;
    private static final int WARMUP_SECONDS = 1;
    /** How long the FSP poller spins on an empty CQ before it parks in the kernel (plain mode); --spin-us sets it. */
    private static long spinNanos = TimeUnit.MICROSECONDS.toNanos(50);

    /** One workload: fio's {@code rw} name, transfer size in bytes, queue depth, and SQPOLL on or off. */
    record Workload(String rw, int bs, int qd, boolean sqPoll) {
        String label() {
            return String.format(Locale.ROOT, "%-9s %4dk QD%-2d %s", rw, bs / 1024, qd, sqPoll ? "SQPOLL" : "plain");
        }

        boolean write() {
            return rw.endsWith("write");
        }

        boolean random() {
            return rw.startsWith("rand");
        }
    }

    /** What one engine achieved on one workload; {@code entersPerIo} is NaN when not measured. */
    record Result(double iops, double meanMicros, double p99Micros, double entersPerIo, long ios, long errors) {}

    private DeviceBench() {}

    public static void main(String[] args) throws Exception {
        Path image = Path.of(System.getProperty("java.io.tmpdir"), "fsp-bench-device.img");
        long sizeBytes = 1L << 30;
        int seconds = 5;
        int rounds = 2;
        String only = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--spin-us" -> spinNanos = TimeUnit.MICROSECONDS.toNanos(Long.parseLong(args[++i]));
                case "--only" -> only = args[++i];
                case "--image" -> image = Path.of(args[++i]);
                case "--size" -> sizeBytes = Long.parseLong(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--driver" -> {
                    // The NVMe comparison (user-space driver, passthrough, io_uring, fio on one controller).
                    NvmeDeviceBench.main(args);
                    return;
                }
                case "--worker" -> {
                    worker(args, i + 1);
                    return;
                }
                case "--help", "-h" -> {
                    System.out.println(
                            "usage: fsp bench device [--image PATH] [--size BYTES] [--seconds N] [--rounds N]"
                                    + " [--spin-us N] [--only TEXT (e.g. 'randwrite 4k QD32')]; or fsp bench device"
                                    + " --driver nvme --pci ADDRESS [--seconds N] [--region-mib N]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (try --help)");
            }
        }
        sizeBytes = sizeBytes / (128 * 1024) * (128 * 1024);
        if (sizeBytes < (16L << 20)) {
            throw new IllegalArgumentException("--size must be at least 16 MiB");
        }
        ensureImage(image, sizeBytes);
        boolean haveFio = ensureTool("fio");
        boolean haveStrace = ensureTool("strace");

        List<Workload> all = List.of(
                new Workload("randread", 4096, 1, false),
                new Workload("randwrite", 4096, 1, false),
                new Workload("randread", 4096, 32, false),
                new Workload("randwrite", 4096, 32, false),
                new Workload("read", 128 * 1024, 8, false),
                new Workload("write", 128 * 1024, 8, false),
                new Workload("randread", 4096, 1, true),
                new Workload("randread", 4096, 32, true));
        String filter = only;
        List<Workload> workloads = all.stream()
                .filter(w -> w.label().replaceAll(" +", " ").contains(filter))
                .toList();

        if (rounds < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1");
        }
        System.out.printf(
                Locale.ROOT,
                "fsp bench device: image %s (%d MiB), %d round(s) of %d s per engine after %d s warm-up, kernel %s%n",
                image,
                Files.size(image) >> 20,
                rounds,
                seconds,
                WARMUP_SECONDS,
                System.getProperty("os.version"));
        System.out.printf(
                Locale.ROOT,
                "%-27s %-5s %10s %10s %10s %9s%n",
                "workload",
                "eng",
                "IOPS",
                "mean us",
                "p99 us",
                "enter/IO");
        List<Result[]> rows = new ArrayList<>();
        for (Workload w : workloads) {
            // Alternate which engine goes first (fio-fsp, fsp-fio, ...) so that drift on a shared machine does not
            // favour one of them; each figure is the mean over the rounds.
            List<Result> fios = new ArrayList<>();
            List<Result> fsps = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                if (round % 2 == 0) {
                    if (haveFio) {
                        fios.add(runFio(w, image, seconds));
                    }
                    fsps.add(runFsp(w, image, seconds, WARMUP_SECONDS));
                } else {
                    fsps.add(runFsp(w, image, seconds, WARMUP_SECONDS));
                    if (haveFio) {
                        fios.add(runFio(w, image, seconds));
                    }
                }
            }
            Result fio = haveFio ? mean(fios) : null;
            Result fsp = mean(fsps);
            rows.add(new Result[] {fio, fsp});
            printRow(w.label(), "fio", fio);
            printRow("", "fsp", fsp);
            if (fio != null) {
                System.out.printf(
                        Locale.ROOT,
                        "%-27s %-5s %9.2fx %9.2fx %9.2fx%n",
                        "",
                        "ratio",
                        fsp.iops() / fio.iops(),
                        fsp.meanMicros() / fio.meanMicros(),
                        fsp.p99Micros() / fio.p99Micros());
            }
        }

        System.out.println();
        System.out.println("targets (plain mode):");
        for (int i = 0; i < workloads.size(); i++) {
            Workload w = workloads.get(i);
            Result fio = rows.get(i)[0];
            Result fsp = rows.get(i)[1];
            if (fio == null || w.sqPoll() || !w.random()) {
                continue;
            }
            if (w.qd() == 32) {
                double r = fsp.iops() / fio.iops();
                System.out.printf(
                        Locale.ROOT,
                        "  %-27s IOPS  FSP/fio %.2f (target >= 0.90) %s%n",
                        w.label(),
                        r,
                        r >= 0.9 ? "met" : "MISSED");
            } else if (w.qd() == 1) {
                double r = fsp.meanMicros() / fio.meanMicros();
                System.out.printf(
                        Locale.ROOT,
                        "  %-27s mean  FSP/fio %.2f (target <= 1.15) %s%n",
                        w.label(),
                        r,
                        r <= 1.15 ? "met" : "MISSED");
            }
        }

        if (haveStrace && only.isEmpty()) {
            System.out.println();
            System.out.println(
                    "system calls per I/O, counted by strace -c -f -e trace=io_uring_enter (2 s runs, no warm-up):");
            for (Workload w : List.of(
                    new Workload("randread", 4096, 32, false),
                    new Workload("randread", 4096, 32, true),
                    new Workload("randread", 4096, 1, false))) {
                try {
                    double fsp = straceFsp(w, image);
                    double fio = haveFio ? straceFio(w, image) : Double.NaN;
                    System.out.printf(
                            Locale.ROOT,
                            "  %-27s fsp %.3f io_uring_enter/IO   fio %.3f io_uring_enter/IO%n",
                            w.label(),
                            fsp,
                            fio);
                } catch (IOException e) {
                    System.out.println("  " + w.label() + ": strace run failed: " + e.getMessage());
                }
            }
        }
    }

    private static Result mean(List<Result> results) {
        double n = results.size();
        return new Result(
                results.stream().mapToDouble(Result::iops).sum() / n,
                results.stream().mapToDouble(Result::meanMicros).sum() / n,
                results.stream().mapToDouble(Result::p99Micros).sum() / n,
                results.stream().mapToDouble(Result::entersPerIo).sum() / n,
                results.stream().mapToLong(Result::ios).sum(),
                results.stream().mapToLong(Result::errors).sum());
    }

    private static void printRow(String label, String engine, Result r) {
        if (r == null) {
            System.out.printf(Locale.ROOT, "%-27s %-5s %10s%n", label, engine, "(fio not available)");
            return;
        }
        System.out.printf(
                Locale.ROOT,
                "%-27s %-5s %10.0f %10.1f %10.1f %9s%s%n",
                label,
                engine,
                r.iops(),
                r.meanMicros(),
                r.p99Micros(),
                Double.isNaN(r.entersPerIo()) ? "-" : String.format(Locale.ROOT, "%.3f", r.entersPerIo()),
                r.errors() > 0 ? "  (" + r.errors() + " errors)" : "");
    }

    // ---------------------------------------------------------------- FSP

    /** Drives the FSP driver from this thread for {@code seconds} after {@code warmupSeconds}. */
    static Result runFsp(Workload w, Path image, int seconds, int warmupSeconds) {
        IoUringBlockDevice.Options options =
                new IoUringBlockDevice.Options(image, w.qd(), w.sqPoll(), false, (long) w.qd() * w.bs(), 1000);
        try (IoUringBlockDevice device = IoUringBlockDevice.open(options);
                Arena arena = Arena.ofConfined()) {
            if (w.sqPoll() && !device.mode().equals("SQPOLL")) {
                System.out.println("  (SQPOLL unavailable: " + device.fallbackNote() + ")");
            }
            MemorySegment pool = device.registeredBuffers();
            if (pool.byteSize() == 0) {
                pool = arena.allocate((long) w.qd() * w.bs(), BLOCK);
            }
            long slots = device.blockCount() / (w.bs() / BLOCK);
            SplittableRandom random = new SplittableRandom(42);
            long[] nextSequential = {0};
            ClosedLoop driver = new ClosedLoop(
                    device,
                    pool,
                    w.qd(),
                    w.bs(),
                    w.write(),
                    () -> (w.random() ? random.nextLong(slots) : nextSequential[0]++ % slots) * (w.bs() / BLOCK),
                    // SQPOLL runs never park: the point of that mode is no system call at all.
                    w.sqPoll() ? Long.MAX_VALUE : spinNanos);
            driver.run(TimeUnit.SECONDS.toNanos(warmupSeconds), false);
            long callsBefore = device.stats().systemCalls();
            long elapsed = driver.run(TimeUnit.SECONDS.toNanos(seconds), true);
            long calls = device.stats().systemCalls() - callsBefore;
            Histogram h = driver.latencyNanos;
            return new Result(
                    driver.ios * 1e9 / elapsed,
                    h.getMean() / 1e3,
                    h.getValueAtPercentile(99) / 1e3,
                    driver.ios == 0 ? Double.NaN : (double) calls / driver.ios,
                    driver.ios,
                    driver.errors);
        }
    }

    /** Child process under strace: {@code --worker rw bs qd sqpoll seconds image}; prints the I/O count. */
    private static void worker(String[] args, int at) {
        Workload w = new Workload(
                args[at],
                Integer.parseInt(args[at + 1]),
                Integer.parseInt(args[at + 2]),
                Boolean.parseBoolean(args[at + 3]));
        Result r = runFsp(w, Path.of(args[at + 5]), Integer.parseInt(args[at + 4]), 0);
        System.out.println("FSP_WORKER_IOS " + r.ios());
    }

    static double straceFsp(Workload w, Path image) throws IOException, InterruptedException {
        Path out = Files.createTempFile("fsp-strace", ".txt");
        try {
            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> cmd = new ArrayList<>(List.of(
                    "strace",
                    "-f",
                    "-c",
                    "-e",
                    "trace=io_uring_enter",
                    "--seccomp-bpf",
                    "-o",
                    out.toString(),
                    java,
                    "--enable-native-access=ALL-UNNAMED",
                    "-cp",
                    workerClassPath(),
                    DeviceBench.class.getName(),
                    "--worker",
                    w.rw(),
                    String.valueOf(w.bs()),
                    String.valueOf(w.qd()),
                    String.valueOf(w.sqPoll()),
                    "2",
                    image.toString()));
            String stdout = run(cmd, 120);
            long ios = 0;
            for (String line : stdout.split("\n")) {
                if (line.startsWith("FSP_WORKER_IOS ")) {
                    ios = Long.parseLong(
                            line.substring("FSP_WORKER_IOS ".length()).trim());
                }
            }
            return ios == 0 ? Double.NaN : (double) straceCalls(out) / ios;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /**
     * The class path of the worker JVM: the jars (or class directories) this class and its dependencies were loaded
     * from, so that it works whether the caller put them on the class path or loaded them with a class loader of its
     * own (as {@code fsp bench} may).
     */
    private static String workerClassPath() {
        java.util.LinkedHashSet<String> entries = new java.util.LinkedHashSet<>();
        for (Class<?> c : List.of(
                DeviceBench.class,
                IoUringBlockDevice.class,
                org.fsp.linux.IoUring.class,
                BlockDevice.class,
                Histogram.class,
                org.slf4j.LoggerFactory.class)) {
            java.security.CodeSource source = c.getProtectionDomain().getCodeSource();
            if (source != null) {
                try {
                    entries.add(Path.of(source.getLocation().toURI()).toString());
                } catch (java.net.URISyntaxException e) {
                    throw new IllegalStateException("unreadable code source of " + c, e);
                }
            }
        }
        entries.add(System.getProperty("java.class.path"));
        return String.join(java.io.File.pathSeparator, entries);
    }

    static double straceFio(Workload w, Path image) throws IOException, InterruptedException {
        Path out = Files.createTempFile("fio-strace", ".txt");
        try {
            List<String> cmd = new ArrayList<>(
                    List.of("strace", "-f", "-c", "-e", "trace=io_uring_enter", "--seccomp-bpf", "-o", out.toString()));
            cmd.addAll(fioCommand(w, image, 2, 0));
            Map<?, ?> job = fioJob(run(cmd, 120));
            Map<?, ?> side = (Map<?, ?>) job.get(w.write() ? "write" : "read");
            long ios = ((Number) side.get("total_ios")).longValue();
            return ios == 0 ? Double.NaN : (double) straceCalls(out) / ios;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** The io_uring_enter call count from a {@code strace -c} summary. */
    private static long straceCalls(Path summary) throws IOException {
        for (String line : Files.readAllLines(summary)) {
            String[] t = line.trim().split("\\s+");
            if (t.length >= 5 && t[t.length - 1].equals("io_uring_enter")) {
                return Long.parseLong(t[3]);
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------- fio

    static Result runFio(Workload w, Path image, int seconds) throws IOException, InterruptedException {
        Map<?, ?> job = fioJob(run(fioCommand(w, image, seconds, WARMUP_SECONDS), 60L + seconds * 2L));
        Map<?, ?> side = (Map<?, ?>) job.get(w.write() ? "write" : "read");
        Map<?, ?> lat = (Map<?, ?>) side.get("lat_ns");
        Map<?, ?> pct = (Map<?, ?>) lat.get("percentile");
        double p99 = pct == null ? Double.NaN : ((Number) pct.get("99.000000")).doubleValue();
        return new Result(
                ((Number) side.get("iops")).doubleValue(),
                ((Number) lat.get("mean")).doubleValue() / 1e3,
                p99 / 1e3,
                Double.NaN,
                ((Number) side.get("total_ios")).longValue(),
                ((Number) job.get("error")).longValue());
    }

    private static List<String> fioCommand(Workload w, Path image, int seconds, int rampSeconds) {
        List<String> cmd = new ArrayList<>(List.of(
                "fio",
                "--name=fsp-bench",
                "--filename=" + image,
                "--ioengine=io_uring",
                "--direct=1",
                "--rw=" + w.rw(),
                "--bs=" + w.bs(),
                "--iodepth=" + w.qd(),
                "--numjobs=1",
                "--time_based",
                "--runtime=" + seconds,
                "--ramp_time=" + rampSeconds,
                "--randrepeat=0",
                "--norandommap",
                "--fixedbufs=1",
                "--registerfiles=1",
                "--lat_percentiles=1",
                "--output-format=json"));
        if (w.sqPoll()) {
            cmd.add("--sqthread_poll=1");
        }
        return cmd;
    }

    static Map<?, ?> fioJob(String json) {
        int start = json.indexOf('{');
        Map<?, ?> root = (Map<?, ?>) new FioJson(json.substring(start)).value();
        return (Map<?, ?>) ((List<?>) root.get("jobs")).get(0);
    }

    // ---------------------------------------------------------------- set-up

    /** Creates or grows the image and fills it with data, so that reads are served by the medium, not by holes. */
    static void ensureImage(Path image, long sizeBytes) throws IOException {
        if (Files.exists(image) && Files.size(image) >= sizeBytes) {
            return;
        }
        System.out.printf(Locale.ROOT, "creating %s (%d MiB, written out)...%n", image, sizeBytes >> 20);
        if (image.getParent() != null) {
            Files.createDirectories(image.getParent());
        }
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
        SplittableRandom random = new SplittableRandom(7);
        while (chunk.hasRemaining()) {
            chunk.putLong(random.nextLong());
        }
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long at = 0; at < sizeBytes; at += chunk.capacity()) {
                chunk.clear();
                while (chunk.hasRemaining()) {
                    ch.write(chunk, at + chunk.position());
                }
            }
            ch.force(true);
        }
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(sizeBytes);
        }
    }

    /** True if {@code tool} runs; otherwise tries apt-get (as root) once, as the benchmark's instructions say. */
    static boolean ensureTool(String tool) throws InterruptedException {
        if (runs(tool, "--version")) {
            return true;
        }
        System.out.println(tool + " not found; trying apt-get install " + tool);
        try {
            run(
                    List.of(
                            "sh",
                            "-c",
                            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq " + tool),
                    600);
        } catch (IOException e) {
            System.out.println("  could not install " + tool + ": " + e.getMessage());
        }
        return runs(tool, "--version");
    }

    private static boolean runs(String... cmd) throws InterruptedException {
        try {
            run(List.of(cmd), 30);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a command, returns its standard output; throws if it fails or exceeds the timeout. */
    static String run(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = ChildProcesses.start(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE));
        byte[][] err = new byte[1][];
        Thread errReader = Thread.ofVirtual().start(() -> {
            try {
                err[0] = p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                err[0] = new byte[0];
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " timed out");
        }
        errReader.join();
        if (p.exitValue() != 0) {
            throw new IOException(cmd.get(0) + " exited with " + p.exitValue() + ": "
                    + new String(err[0], StandardCharsets.UTF_8).trim());
        }
        return out;
    }
}
