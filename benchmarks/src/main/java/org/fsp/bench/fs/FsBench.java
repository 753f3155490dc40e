package org.fsp.bench.fs;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.OpenFlags;
import org.fsp.bench.BenchHost;
import org.fsp.bench.ChildProcesses;
import org.fsp.block.nvme.IoUringBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;

/**
 * fs-core in process (no IPC) on the io_uring driver over an image file, against java.nio on ext4 on a
 * loop-mounted image of the same size on the same disk, in the same run. Workloads: the DashFS paper's
 * micro-benchmark (N files, each: create, write 4 KiB, fsync, close) and create / stat / unlink / mkdir / readdir
 * rates. Prints times per operation and the FSP/ext4 ratio (below 1 means FSP is faster). Not a test: absolute
 * numbers vary between machines, ratios within one run are what to read.
 *
 * <p>Usage: {@code FsBench [--dir DIR] [--size BYTES] [--files N] [--rounds R] [--paper-only]}; needs root for the
 * loop mount (the ext4 side is skipped with a note otherwise). Each round prints the paper benchmark of both sides
 * (the side that goes first alternates) and, for fs-core, device and journal counters per file.
 */
public final class FsBench {

    private static final Credentials ROOT = Credentials.ROOT;

    /** Set by {@code --paper-only}: run the paper micro-benchmark alone (for profiling it). */
    private static boolean paperOnly;

    /** What {@link Target#counters()} returns, in order; printed per file of the paper workload. */
    private static final String[] COUNTERS = {
        "device writes", "device flushes", "io_uring_enter", "journal commits", "checkpoints", "blocks written"
    };

    private FsBench() {}

    /** The operations both sides implement. */
    private interface Target {
        String name();

        void createWriteFsyncClose(String path, byte[] data) throws IOException;

        /** Counters sampled around the paper workload ({@link #COUNTERS}); empty if the target has none. */
        default long[] counters() {
            return new long[0];
        }

        void createClose(String path) throws IOException;

        void stat(String path) throws IOException;

        void unlink(String path) throws IOException;

        void mkdir(String path) throws IOException;

        int readdir(String path) throws IOException;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of("/var/tmp/fsp-fsbench");
        long size = 1L << 30;
        int files = 1000;
        int rounds = 3;
        for (int k = 0; k < args.length; k++) {
            switch (args[k]) {
                case "--dir" -> dir = Path.of(args[++k]);
                case "--size" -> size = Long.parseLong(args[++k]);
                case "--files" -> files = Integer.parseInt(args[++k]);
                case "--rounds" -> rounds = Integer.parseInt(args[++k]);
                case "--paper-only" -> paperOnly = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[k]);
            }
        }
        Files.createDirectories(dir);
        Path fspImage = dir.resolve("fsp.img");
        Path extImage = dir.resolve("ext4.img");
        Path mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
        preallocate(fspImage, size);
        preallocate(extImage, size);
        System.out.printf(
                Locale.ROOT,
                "fs-core vs ext4 (java.nio, loop-mounted), images of %d MiB in %s, %d files, " + "best of %d rounds%n",
                size >> 20,
                dir,
                files,
                rounds);

        List<double[]> fsp = new ArrayList<>();
        List<double[]> ext = new ArrayList<>();
        String extNote = null;
        for (int r = 0; r < rounds; r++) {
            // Alternate which side goes first, so drift on a shared machine favours neither.
            boolean fspFirst = r % 2 == 0;
            if (fspFirst) {
                fsp.add(runFsp(fspImage, files));
            }
            try {
                ext.add(runExt4(extImage, mnt, files));
            } catch (IOException e) {
                extNote = e.getMessage();
            }
            if (!fspFirst) {
                fsp.add(runFsp(fspImage, files));
            }
            double f = fsp.get(fsp.size() - 1)[0];
            double e = ext.size() > r ? ext.get(r)[0] : Double.NaN;
            System.out.printf(
                    Locale.ROOT,
                    "round %d (%s first): paper benchmark fs-core %.1f us, ext4 %.1f us, "
                            + "ratio %.2f, load average %s%n",
                    r + 1,
                    fspFirst ? "fs-core" : "ext4",
                    f,
                    e,
                    f / e,
                    BenchHost.loadAverage());
        }
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < Math.min(fsp.size(), ext.size()); r++) {
            ratios.add(fsp.get(r)[0] / ext.get(r)[0]);
        }
        if (!ratios.isEmpty()) {
            ratios.sort(null);
            System.out.printf(
                    Locale.ROOT,
                    "paper benchmark ratio over %d rounds: min %.2f, median %.2f, max %.2f%n",
                    ratios.size(),
                    ratios.get(0),
                    ratios.get(ratios.size() / 2),
                    ratios.get(ratios.size() - 1));
        }
        String[] labels = {"create+write 4K+fsync+close", "create", "stat", "unlink", "mkdir", "readdir (per entry)"};
        System.out.printf(Locale.ROOT, "%-30s %14s %14s %10s%n", "workload (us per op)", "fs-core", "ext4", "ratio");
        for (int w = 0; w < labels.length; w++) {
            double f = best(fsp, w);
            double e = ext.isEmpty() ? Double.NaN : best(ext, w);
            System.out.printf(Locale.ROOT, "%-30s %14.2f %14.2f %10.2f%n", labels[w], f, e, f / e);
        }
        if (extNote != null) {
            System.out.println("ext4 side unavailable: " + extNote);
        }
        System.out.println("targets: paper benchmark ratio <= 0.40 (DashFS reached 0.56), stat ratio <= 0.50");
    }

    /**
     * The calling thread's CPU time (ns) and its voluntary and involuntary context switches: a thread that waits by
     * spinning burns CPU, one that parks switches; both cost a loaded machine.
     */
    private static long[] threadCounters() {
        long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        long voluntary = 0;
        long involuntary = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
                if (line.startsWith("voluntary_ctxt_switches:")) {
                    voluntary =
                            Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                    involuntary =
                            Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                }
            }
        } catch (IOException e) {
            // Not Linux: CPU time only.
        }
        return new long[] {cpu, voluntary, involuntary};
    }

    private static double best(List<double[]> runs, int w) {
        double b = Double.MAX_VALUE;
        for (double[] r : runs) {
            b = Math.min(b, r[w]);
        }
        return b;
    }

    private static void preallocate(Path image, long size) throws IOException {
        if (Files.exists(image) && Files.size(image) == size) {
            return;
        }
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(0);
            byte[] chunk = new byte[1 << 20];
            for (long done = 0; done < size; done += chunk.length) {
                f.write(chunk, 0, (int) Math.min(chunk.length, size - done));
            }
            f.getFD().sync();
        }
    }

    /** Runs the workloads on {@code t}; returns microseconds per operation for each. */
    private static double[] workloads(Target t, String root, int files) throws IOException {
        byte[] data = new byte[4096];
        double[] out = new double[6];
        t.mkdir(root + "/paper");
        long[] before = t.counters();
        long[] threadBefore = threadCounters();
        long start = System.nanoTime();
        for (int i = 0; i < files; i++) {
            t.createWriteFsyncClose(root + "/paper/f" + i, data);
        }
        out[0] = micros(start, files);
        long[] threadAfter = threadCounters();
        long[] after = t.counters();
        StringBuilder sb = new StringBuilder(String.format(
                Locale.ROOT,
                "  %s paper benchmark, per file: thread CPU %.1f us, context switches %.2f voluntary %.2f involuntary,",
                t.name(),
                (threadAfter[0] - threadBefore[0]) / 1e3 / files,
                (threadAfter[1] - threadBefore[1]) / (double) files,
                (threadAfter[2] - threadBefore[2]) / (double) files));
        for (int c = 0; c < after.length; c++) {
            sb.append(String.format(Locale.ROOT, " %s %.3f,", COUNTERS[c], (after[c] - before[c]) / (double) files));
        }
        System.out.println(sb.substring(0, sb.length() - 1));
        if (paperOnly) {
            java.util.Arrays.fill(out, 1, out.length, Double.NaN);
            return out;
        }
        t.mkdir(root + "/meta");
        int n = files * 10;
        start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            t.createClose(root + "/meta/c" + i);
        }
        out[1] = micros(start, n);
        start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            t.stat(root + "/meta/c" + i);
        }
        out[2] = micros(start, n);
        start = System.nanoTime();
        int listed = 0;
        for (int k = 0; k < 10; k++) {
            listed += t.readdir(root + "/meta");
        }
        out[5] = micros(start, Math.max(1, listed));
        start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            t.unlink(root + "/meta/c" + i);
        }
        out[3] = micros(start, n);
        start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            t.mkdir(root + "/meta/d" + i);
        }
        out[4] = micros(start, n);
        return out;
    }

    private static double micros(long start, int ops) {
        return (System.nanoTime() - start) / 1e3 / ops;
    }

    // ---------------------------------------------------------------------------------------------------------

    private static double[] runFsp(Path image, int files) throws IOException {
        try (IoUringBlockDevice device = IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(image, 256))) {
            BlockScheduler scheduler = new BatchingBlockScheduler(device, 1024);
            Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
            FsCore fs = FsCore.mount(scheduler, new FsCore.Options(256L << 20, 32, 5000));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(4096, 4096);
                Target t = new Target() {
                    @Override
                    public String name() {
                        return "fs-core";
                    }

                    @Override
                    public void createWriteFsyncClose(String path, byte[] data) throws IOException {
                        long h = fs.open(ROOT, path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0644);
                        MemorySegment.copy(data, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
                        fs.write(ROOT, h, buf.asSlice(0, data.length));
                        fs.fsync(ROOT, h);
                        fs.close(ROOT, h);
                    }

                    @Override
                    public long[] counters() {
                        Map<String, Object> st = fs.status();
                        return new long[] {
                            device.stats().writes(),
                            device.stats().flushes(),
                            device.stats().systemCalls(),
                            ((Number) st.get("journal.commits")).longValue(),
                            ((Number) st.get("journal.checkpoints")).longValue(),
                            device.stats().toMap().get("bytesWritten") instanceof Number n ? n.longValue() / 4096 : 0
                        };
                    }

                    @Override
                    public void createClose(String path) throws IOException {
                        fs.close(ROOT, fs.open(ROOT, path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644));
                    }

                    @Override
                    public void stat(String path) throws IOException {
                        fs.stat(ROOT, path);
                    }

                    @Override
                    public void unlink(String path) throws IOException {
                        fs.unlink(ROOT, path);
                    }

                    @Override
                    public void mkdir(String path) throws IOException {
                        fs.mkdir(ROOT, path, 0755);
                    }

                    @Override
                    public int readdir(String path) throws IOException {
                        int n = 0;
                        long cookie = 0;
                        while (true) {
                            List<DirEntry> page = fs.readdir(ROOT, path, cookie, 1024);
                            if (page.isEmpty()) {
                                return n;
                            }
                            n += page.size();
                            cookie = page.get(page.size() - 1).cookie();
                        }
                    }
                };
                return workloads(t, "", files);
            } finally {
                fs.unmount();
            }
        }
    }

    private static double[] runExt4(Path image, Path mnt, int files) throws IOException {
        run("mkfs.ext4", "-q", "-F", image.toString());
        run("mount", "-o", "loop", image.toString(), mnt.toString());
        try {
            Target t = new Target() {
                @Override
                public String name() {
                    return "ext4";
                }

                @Override
                public void createWriteFsyncClose(String path, byte[] data) throws IOException {
                    try (FileChannel ch =
                            FileChannel.open(Path.of(path), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.wrap(data));
                        ch.force(true);
                    }
                }

                @Override
                public void createClose(String path) throws IOException {
                    FileChannel.open(Path.of(path), StandardOpenOption.CREATE, StandardOpenOption.WRITE)
                            .close();
                }

                @Override
                public void stat(String path) throws IOException {
                    Files.readAttributes(Path.of(path), BasicFileAttributes.class);
                }

                @Override
                public void unlink(String path) throws IOException {
                    Files.delete(Path.of(path));
                }

                @Override
                public void mkdir(String path) throws IOException {
                    Files.createDirectory(Path.of(path));
                }

                @Override
                public int readdir(String path) throws IOException {
                    int n = 0;
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(Path.of(path))) {
                        for (Path p : s) {
                            n += p == null ? 0 : 1;
                        }
                    }
                    return n;
                }
            };
            return workloads(t, mnt.toString(), files);
        } finally {
            run("umount", mnt.toString());
        }
    }

    private static void run(String... command) throws IOException {
        Process p = ChildProcesses.start(new ProcessBuilder(command).redirectErrorStream(true));
        try {
            String output = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + output.trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + command[0]);
        }
    }
}
