package org.fsp.bench.device;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import org.fsp.api.block.BlockDevice;
import org.fsp.block.nvme.IoUringBlockDevice;
import org.fsp.block.nvme.NvmeBlockDevice;
import org.fsp.block.nvme.NvmePassthroughBlockDevice;

/**
 * {@code fsp bench device --driver nvme --pci ADDRESS}: what the kernel costs on one NVMe controller, in one run. The
 * controller starts bound to the kernel's nvme driver; the bench measures io_uring with O_DIRECT on its block device
 * ({@code /dev/nvmeXn1}), fio's io_uring engine on the same block device, and io_uring NVMe passthrough on its generic
 * device ({@code /dev/ngXn1}); then it binds the controller to vfio-pci, measures FSP's user-space NVMe driver, and
 * binds it back to nvme. Workloads: 4 KiB random reads and writes at QD1 (latency) and QD32 (IOPS), over the first
 * {@code --region-mib} MiB of the namespace, one submitting and polling thread per engine.
 *
 * <p>Per engine and workload it prints IOPS, mean and p99 latency and CPU time per I/O (the submitting thread's CPU
 * time, user and system, over the I/Os: for fio its job's usr+sys share of the run); then the ratios the issue asks
 * for: NVMe driver / io_uring mean latency at QD1 (target at most 0.6) and NVMe driver / fio IOPS at QD32 (target at
 * least 1.0), with passthrough beside them. On an emulated controller the absolute figures say little; the ratios
 * say what the kernel's layers cost.
 *
 * <p>Usage: {@code --driver nvme --pci ADDRESS [--seconds N] [--region-mib N]}; needs root (sysfs binding, VFIO).
 */
public final class NvmeDeviceBench {

    private static final int BLOCK = 4096;
    private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    private static final List<String> ENGINES = List.of("nvme", "passthru", "io_uring", "fio");

    /** One workload: random reads or writes of 4 KiB at a queue depth. */
    record Workload(boolean write, int qd) {
        String label() {
            return String.format(Locale.ROOT, "%-9s 4k QD%-2d", write ? "randwrite" : "randread", qd);
        }
    }

    /** What one engine achieved; {@code cpuMicrosPerIo} is NaN when not measured. */
    record Result(double iops, double meanMicros, double p99Micros, double cpuMicrosPerIo, long ios, long errors) {}

    private NvmeDeviceBench() {}

    public static void main(String[] args) throws Exception {
        String pci = null;
        int seconds = 3;
        long regionBytes = 256L << 20;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--driver" -> {
                    if (!args[++i].equals("nvme")) {
                        throw new IllegalArgumentException("--driver: only nvme is measured here, got " + args[i]);
                    }
                }
                case "--pci" -> pci = args[++i];
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--region-mib" -> regionBytes = Long.parseLong(args[++i]) << 20;
                default ->
                    throw new IllegalArgumentException("unknown argument " + args[i]
                            + " (usage: fsp bench device --driver nvme --pci ADDRESS [--seconds N] [--region-mib N])");
            }
        }
        if (pci == null) {
            throw new IllegalArgumentException("--driver nvme needs --pci ADDRESS of a controller bound to nvme");
        }
        Path function = Path.of("/sys/bus/pci/devices", pci);
        String controller = kernelController(function);
        Path block = Path.of("/dev", controller + "n1");
        Path generic = Path.of("/dev", "ng" + controller.substring("nvme".length()) + "n1");
        List<Workload> workloads =
                List.of(new Workload(false, 1), new Workload(true, 1), new Workload(false, 32), new Workload(true, 32));
        boolean haveFio = DeviceBench.ensureTool("fio");
        System.out.printf(
                Locale.ROOT,
                "fsp bench device --driver nvme: controller %s (%s, %s, %s), %d s per engine and workload after 1 s"
                        + " warm-up, region %d MiB, kernel %s%n",
                pci,
                controller,
                block,
                generic,
                seconds,
                regionBytes >> 20,
                System.getProperty("os.version"));

        Map<String, Result[]> results = new LinkedHashMap<>();
        for (String e : ENGINES) {
            results.put(e, new Result[workloads.size()]);
        }
        for (int w = 0; w < workloads.size(); w++) {
            Workload wl = workloads.get(w);
            results.get("io_uring")[w] = measure(
                    IoUringBlockDevice.open(
                            new IoUringBlockDevice.Options(block, wl.qd(), false, false, (long) wl.qd() * BLOCK, 0)),
                    wl,
                    seconds,
                    regionBytes);
            results.get("passthru")[w] =
                    measure(NvmePassthroughBlockDevice.open(generic, wl.qd()), wl, seconds, regionBytes);
            if (haveFio) {
                results.get("fio")[w] = fio(block, wl, seconds, regionBytes);
            }
        }
        bind(function, "vfio-pci");
        try {
            for (int w = 0; w < workloads.size(); w++) {
                Workload wl = workloads.get(w);
                NvmeBlockDevice.Options o = NvmeBlockDevice.Options.of(pci, wl.qd());
                results.get("nvme")[w] = measure(
                        NvmeBlockDevice.open(new NvmeBlockDevice.Options(
                                pci, wl.qd(), o.nsid(), o.dmaPoolBytes(), o.timeoutNanos(), 1)),
                        wl,
                        seconds,
                        regionBytes);
            }
        } finally {
            bind(function, "nvme");
        }

        System.out.printf(
                Locale.ROOT,
                "%-17s %-9s %10s %9s %9s %10s%n",
                "workload",
                "engine",
                "IOPS",
                "mean us",
                "p99 us",
                "CPU us/IO");
        for (int w = 0; w < workloads.size(); w++) {
            for (String e : ENGINES) {
                Result r = results.get(e)[w];
                String label = e.equals(ENGINES.getFirst()) ? workloads.get(w).label() : "";
                if (r == null) {
                    System.out.printf(Locale.ROOT, "%-17s %-9s %10s%n", label, e, "(not available)");
                    continue;
                }
                System.out.printf(
                        Locale.ROOT,
                        "%-17s %-9s %10.0f %9.1f %9.1f %10.1f%s%n",
                        label,
                        e,
                        r.iops(),
                        r.meanMicros(),
                        r.p99Micros(),
                        r.cpuMicrosPerIo(),
                        r.errors() > 0 ? "  (" + r.errors() + " errors)" : "");
            }
        }
        System.out.println();
        System.out.println("ratios (same controller, same run):");
        for (int w = 0; w < workloads.size(); w++) {
            Workload wl = workloads.get(w);
            Result nvme = results.get("nvme")[w];
            Result pt = results.get("passthru")[w];
            Result uring = results.get("io_uring")[w];
            Result fio = results.get("fio")[w];
            if (wl.qd() == 1) {
                double r = nvme.meanMicros() / uring.meanMicros();
                System.out.printf(
                        Locale.ROOT,
                        "  %s mean latency: nvme/io_uring %.2f (target <= 0.60) %s; passthru/io_uring %.2f;"
                                + " CPU per I/O nvme/io_uring %.2f%n",
                        wl.label(),
                        r,
                        r <= 0.6 ? "met" : "MISSED",
                        pt.meanMicros() / uring.meanMicros(),
                        nvme.cpuMicrosPerIo() / uring.cpuMicrosPerIo());
            } else if (fio != null) {
                double r = nvme.iops() / fio.iops();
                System.out.printf(
                        Locale.ROOT,
                        "  %s IOPS: nvme/fio %.2f (target >= 1.00) %s; passthru/fio %.2f; io_uring/fio %.2f;"
                                + " CPU per I/O nvme/fio %.2f%n",
                        wl.label(),
                        r,
                        r >= 1.0 ? "met" : "MISSED",
                        pt.iops() / fio.iops(),
                        uring.iops() / fio.iops(),
                        nvme.cpuMicrosPerIo() / fio.cpuMicrosPerIo());
            }
        }
    }

    /** The kernel's name of the controller at {@code function} ({@code nvmeN}); it must be bound to nvme. */
    private static String kernelController(Path function) throws IOException {
        String driver = driverOf(function);
        if (!"nvme".equals(driver)) {
            throw new IllegalStateException(function.getFileName() + " is bound to " + driver
                    + ", not nvme: the bench starts on the kernel's driver and binds vfio-pci itself");
        }
        try (Stream<Path> names = Files.list(function.resolve("nvme"))) {
            return names.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("nvme\\d+"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no nvme controller under " + function));
        }
    }

    private static String driverOf(Path function) throws IOException {
        Path link = function.resolve("driver");
        return Files.isSymbolicLink(link)
                ? Files.readSymbolicLink(link).getFileName().toString()
                : null;
    }

    /**
     * Rebinds the PCI function to {@code driver} through driver_override and drivers_probe; waits until it is bound
     * and, for nvme, until its namespace's devices exist again.
     */
    private static void bind(Path function, String driver) throws IOException, InterruptedException {
        String address = function.getFileName().toString();
        Files.writeString(function.resolve("driver_override"), driver.equals("nvme") ? "\n" : driver);
        if (Files.exists(function.resolve("driver"))) {
            Files.writeString(function.resolve("driver/unbind"), address);
        }
        Files.writeString(Path.of("/sys/bus/pci/drivers_probe"), address);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            boolean bound = driver.equals(driverOf(function));
            if (bound && driver.equals("nvme")) {
                try {
                    String c = kernelController(function);
                    bound = Files.exists(Path.of("/dev", "ng" + c.substring(4) + "n1"))
                            && Files.exists(Path.of("/dev", c + "n1"));
                } catch (IOException | IllegalStateException notYet) {
                    bound = false;
                }
            }
            if (bound) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(address + " did not bind to " + driver + " within 60 s");
            }
            Thread.sleep(100);
        }
    }

    /** One thread keeps {@code qd} requests in flight for 1 s of warm-up and then {@code seconds}; closes the device. */
    private static Result measure(BlockDevice device, Workload w, int seconds, long regionBytes) {
        try (device;
                Arena arena = Arena.ofConfined()) {
            MemorySegment pool = device instanceof IoUringBlockDevice u
                            && u.registeredBuffers().byteSize() > 0
                    ? u.registeredBuffers()
                    : arena.allocate((long) w.qd() * BLOCK, BLOCK);
            int perIo = BLOCK / device.blockSize();
            long slots = Math.min(regionBytes, device.blockCount() * device.blockSize()) / BLOCK;
            SplittableRandom random = new SplittableRandom(42);
            ClosedLoop loop = new ClosedLoop(
                    device, pool, w.qd(), BLOCK, w.write(), () -> random.nextLong(slots) * perIo, SPIN_NANOS);
            loop.run(TimeUnit.SECONDS.toNanos(1), false);
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long cpu0 = threads.getCurrentThreadCpuTime();
            long elapsed = loop.run(TimeUnit.SECONDS.toNanos(seconds), true);
            long cpu = threads.getCurrentThreadCpuTime() - cpu0;
            Histogram h = loop.latencyNanos;
            return new Result(
                    loop.ios * 1e9 / elapsed,
                    h.getMean() / 1e3,
                    h.getValueAtPercentile(99) / 1e3,
                    loop.ios == 0 ? Double.NaN : cpu / 1e3 / loop.ios,
                    loop.ios,
                    loop.errors);
        }
    }

    /** fio's io_uring engine on the block device, O_DIRECT, fixed buffers and registered file, as FSP's engines. */
    private static Result fio(Path block, Workload w, int seconds, long regionBytes)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                "fio",
                "--name=fsp-bench-nvme",
                "--filename=" + block,
                "--ioengine=io_uring",
                "--direct=1",
                "--rw=" + (w.write() ? "randwrite" : "randread"),
                "--bs=4096",
                "--iodepth=" + w.qd(),
                "--numjobs=1",
                "--size=" + regionBytes,
                "--time_based",
                "--runtime=" + seconds,
                "--ramp_time=1",
                "--randrepeat=0",
                "--norandommap",
                "--fixedbufs=1",
                "--registerfiles=1",
                "--lat_percentiles=1",
                "--output-format=json"));
        Map<?, ?> job = DeviceBench.fioJob(DeviceBench.run(cmd, 60L + seconds * 2L));
        Map<?, ?> side = (Map<?, ?>) job.get(w.write() ? "write" : "read");
        Map<?, ?> lat = (Map<?, ?>) side.get("lat_ns");
        Map<?, ?> pct = (Map<?, ?>) lat.get("percentile");
        double p99 = pct == null ? Double.NaN : ((Number) pct.get("99.000000")).doubleValue();
        long ios = ((Number) side.get("total_ios")).longValue();
        double cpuShare =
                (((Number) job.get("usr_cpu")).doubleValue() + ((Number) job.get("sys_cpu")).doubleValue()) / 100.0;
        double runtimeMicros = ((Number) job.get("job_runtime")).doubleValue() * 1e3;
        return new Result(
                ((Number) side.get("iops")).doubleValue(),
                ((Number) lat.get("mean")).doubleValue() / 1e3,
                p99 / 1e3,
                ios == 0 ? Double.NaN : cpuShare * runtimeMicros / ios,
                ios,
                ((Number) job.get("error")).longValue());
    }
}
