package org.fsp.bench.eval;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fsp.bench.ChildProcesses;

/**
 * {@code fsp bench fuse} (issue 14): programs that are not Java, the same ones on three file systems in one run: FSP
 * through its FUSE mount ({@code bin/fspd --headless --mount DIR} on a fresh image), bindfs (a libfuse passthrough,
 * the reference FUSE file system) over ext4, and that ext4 directly (a loop-mounted image of the same size on the same
 * disk). Workloads: {@code git clone --no-hardlinks} of a generated repository, {@code tar -xf} of its tree, fio 4 KiB
 * random read and write at QD1 (psync) and QD32 (io_uring), buffered, on a 256 MiB file, and Filebench's varmail
 * through java.nio. Prints a table of the three figures with FSP / bindfs and FSP / ext4 against the targets
 * and the FUSE requests FSP served per operation, writes {@code results.json} and {@code table.md} to {@code --out},
 * and unmounts and stops everything it started, also on Ctrl-C (the helpers of {@link EvalBench}). Needs root; a
 * missing bindfs or fio is reported and its column or rows are left out.
 *
 * <p>Usage: {@code FuseBench [--out DIR] [--rounds N] [--seconds S] [--files N] [--commits N] [--size 2G]
 * [--fspd PATH] [--work DIR] [--only NAME,...]}; {@code --only} keeps the workloads whose name contains one of the
 * names (e.g. {@code --only O_DIRECT,untar}).
 */
public final class FuseBench {

    private static final Pattern REQUESTS = Pattern.compile("requests:\\s+(\\d+)");

    private final Options o;
    private final Closer closer = new Closer();
    private final long began = System.nanoTime();
    private final String loadAtStart = EvalBench.loadAverage();
    private final List<String> notes = new ArrayList<>();
    private final List<Result> results = new ArrayList<>();
    private Fspd fspd;

    private FuseBench(Options o) {
        this.o = o;
    }

    static final class Options extends BenchOptions {
        int files = 3000;
        int commits = 200;
        /** {@code --only}: run just the workloads whose name contains one of these ("fio", "untar", "O_DIRECT"). */
        List<String> only = List.of();

        Options() {
            super(3, 3, false);
        }

        static Options parse(String[] args) {
            Options o = new Options();
            o.parse(args, 0, "fsp bench fuse", "fuse-", "fsp-fuse-bench-");
            return o;
        }

        @Override
        boolean option(String name, String value) {
            switch (name) {
                case "--files" -> files = atLeastOne(name, value);
                case "--commits" -> commits = atLeastOne(name, value);
                case "--only" -> only = List.of(value.split(","));
                default -> {
                    return false;
                }
            }
            return true;
        }
    }

    /** A file system under test: a directory to work in, and (FSP only) a way to read the FUSE requests served. */
    private record Target(String name, Path dir) {}

    /** One workload's figures: per target the rounds' measurements, and FSP's FUSE requests per operation. */
    record Result(
            String workload,
            String params,
            Metric metric,
            Goal vsBindfs,
            Goal vsExt4,
            Map<String, List<Measurement>> runs,
            double requestsPerOp) {}

    /** A workload run as programs: one timed run on one target. */
    private interface Run {
        Measurement on(Target t, int round) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Options o = BenchOptions.parseOrExit(
                "fsp bench fuse",
                "fsp bench fuse [--out DIR] [--rounds N] [--seconds S] [--files N] [--commits N]"
                        + " [--size 2G] [--fspd PATH] [--work DIR] [--only NAME,...]",
                Options::parse,
                args);
        BenchOptions.exitIfMissing("fsp bench fuse", missingPrerequisite(o));
        new FuseBench(o).run();
    }

    /** What the run cannot do without, or null: root, /dev/fuse, fspd, git, tar, mkfs.ext4, losetup. */
    private static String missingPrerequisite(Options o) throws IOException {
        if (!isRoot()) {
            return "needs root (mount(2) of FUSE and ext4, losetup); run it with sudo";
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return "needs /dev/fuse (modprobe fuse)";
        }
        if (o.missingFspd() != null) {
            return o.missingFspd();
        }
        for (String tool : List.of("git", "tar", "mkfs.ext4", "losetup")) {
            if (!onPath(tool)) {
                return "needs " + tool + " on the PATH";
            }
        }
        return null;
    }

    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return line.split("\\s+")[2].equals("0"); // the effective uid
            }
        }
        return false;
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        for (String dir : List.of("/usr/sbin", "/sbin")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    private void run() throws Exception {
        Files.createDirectories(o.out);
        Files.createDirectories(o.work);
        if (!closer.runCleaningUp(o.work, "fuse-bench-cleanup", () -> {
            List<Target> targets = start();
            Path repo = generateRepository();
            Path tarball = o.work.resolve("tree.tar");
            Shell.run("git", "--git-dir=" + repo, "archive", "--format=tar", "-o", tarball.toString(), "HEAD");
            String tree = o.files + " files of 1-8 KiB in 100 directories";
            attempt(
                    "git clone",
                    () -> timedCommand(
                            "git clone",
                            "git clone --no-hardlinks of a local repository: " + tree + ", " + o.commits + " commits",
                            targets,
                            (t, round) -> timed(
                                    "git",
                                    "clone",
                                    "-q",
                                    "--no-hardlinks",
                                    repo.toString(),
                                    t.dir.resolve("clone-" + round).toString())));
            attempt(
                    "untar",
                    () -> timedCommand(
                            "untar",
                            "tar -xf of the same tree (" + Files.size(tarball) / 1024 + " KiB tarball)",
                            targets,
                            (t, round) -> {
                                Path dir = Files.createDirectories(t.dir.resolve("untar-" + round));
                                return timed("tar", "-xf", tarball.toString(), "-C", dir.toString());
                            }));
            if (onPath("fio")) {
                for (String rw : List.of("randread", "randwrite")) {
                    for (int depth : new int[] {1, 32}) {
                        attempt("fio " + rw + " QD" + depth, () -> fio(targets, rw, depth, false));
                    }
                }
                // O_DIRECT: every read is a FUSE request, so this row compares the transports themselves.
                attempt("fio randread QD1 O_DIRECT", () -> fio(targets, "randread", 1, true));
            } else {
                note("fio is not installed (apt-get install -y fio): the fio rows are left out");
            }
            attempt("varmail", () -> varmail(targets));
        })) {
            return;
        }
        new FuseBenchReport(o, loadAtStart, results, notes).write();
    }

    /** A workload of the run; one that fails is reported beside the table and the run goes on. */
    private interface Step {
        void run() throws Exception;
    }

    private void attempt(String name, Step step) {
        if (!o.only.isEmpty() && o.only.stream().noneMatch(name::contains)) {
            return;
        }
        try {
            step.run();
        } catch (Exception e) {
            if (closer.interrupted) {
                throw new IllegalStateException("interrupted: everything started has been stopped", e);
            }
            note(name + " failed: " + e.getMessage());
        }
    }

    /** Starts ext4, fspd with its FUSE mount, and bindfs over a directory of that ext4 (if installed). */
    private List<Target> start() throws Exception {
        progress("starting ext4 (loop, " + o.size + "), fspd --mount (io_uring device, fresh " + o.size
                + " image) with the classic FUSE transport and another with FUSE-over-io_uring, and bindfs in "
                + o.work);
        KernelMount ext4 = closer.add(KernelMount.ext4(o.work, EvalBench.parseSize(o.size)));
        Path mnt = Files.createDirectories(o.work.resolve("fsp-mnt"));
        fspd = closer.add(Fspd.startWithJvmOptions(
                o.fspd,
                o.work,
                "fsp-fuse",
                "io_uring",
                o.size,
                "-Dfsp.fuse.transport=classic",
                "--mount",
                mnt.toString()));
        awaitMount(mnt);
        List<Target> targets = new ArrayList<>();
        targets.add(new Target("FSP", mnt));
        if (uringEnabled()) {
            Path uringMnt = Files.createDirectories(o.work.resolve("fsp-uring-mnt"));
            closer.add(Fspd.startWithJvmOptions(
                    o.fspd,
                    o.work,
                    "fsp-fuse-uring",
                    "io_uring",
                    o.size,
                    "-Dfsp.fuse.transport=uring",
                    "--mount",
                    uringMnt.toString()));
            awaitMount(uringMnt);
            targets.add(new Target(URING, uringMnt));
        } else {
            note("FUSE-over-io_uring is off (" + ENABLE_URING + " is not Y and cannot be set): the io_uring column is"
                    + " left out");
        }
        if (onPath("bindfs")) {
            KernelMount bindfs = closer.add(KernelMount.bindfs(o.work, ext4.mountPoint.resolve("bindfs-src")));
            targets.add(new Target("bindfs", bindfs.mountPoint));
        } else {
            note(
                    "bindfs is not installed (apt-get install -y bindfs): the reference FUSE passthrough column is left out");
        }
        targets.add(new Target("ext4", Files.createDirectories(ext4.mountPoint.resolve("direct"))));
        return targets;
    }

    /** The FSP target served by FUSE-over-io_uring; "FSP" is the classic transport. */
    static final String URING = "FSP io_uring";

    private static final Path ENABLE_URING = Path.of("/sys/module/fuse/parameters/enable_uring");

    /** True if FUSE-over-io_uring is on, switching it on as root where it is off (it stays on). */
    private static boolean uringEnabled() {
        try {
            if (!Files.readString(ENABLE_URING).trim().equals("Y")) {
                Files.writeString(ENABLE_URING, "Y");
            }
            return Files.readString(ENABLE_URING).trim().equals("Y");
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits until the kernel lists a fuse.fsp mount at {@code mnt} (fspd mounts after its socket accepts clients). */
    private static void awaitMount(Path mnt) throws IOException, InterruptedException {
        String where = " " + mnt.toAbsolutePath().normalize() + " ";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                if (line.contains(where) && line.contains(" - fuse.fsp ")) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new IOException("fspd did not mount FSP at " + mnt + " within 60 s");
    }

    /**
     * A repository of {@code files} text files in 100 directories, built with git fast-import: the first commit adds
     * them all, each further one changes 10, so that the history has as many versions of the tree.
     */
    private Path generateRepository() throws IOException, InterruptedException {
        Path repo = o.work.resolve("source.git");
        progress("generating the source repository (" + o.files + " files, " + o.commits + " commits)");
        Shell.run("git", "init", "-q", "--bare", repo.toString());
        Process p = ChildProcesses.start(new ProcessBuilder("git", "--git-dir=" + repo, "fast-import", "--quiet")
                .redirectErrorStream(true)
                .redirectOutput(o.work.resolve("fast-import.out").toFile()));
        SplittableRandom random = new SplittableRandom(14);
        int[] versions = new int[o.files];
        try (OutputStream in = p.getOutputStream()) {
            for (int c = 0; c < o.commits; c++) {
                StringBuilder cmd = new StringBuilder();
                cmd.append("commit refs/heads/main\n")
                        .append("committer Bench <bench@fsp.invalid> ")
                        .append(1_700_000_000L + c * 60L)
                        .append(" +0000\n");
                String message = "commit " + c + "\n";
                cmd.append("data ").append(message.length()).append('\n').append(message);
                in.write(cmd.toString().getBytes(StandardCharsets.UTF_8));
                int changes = c == 0 ? o.files : Math.min(10, o.files);
                for (int k = 0; k < changes; k++) {
                    int f = c == 0 ? k : random.nextInt(o.files);
                    versions[f]++;
                    byte[] content = content(f, versions[f], 1024 + (f * 7919) % 7168);
                    in.write(("M 100644 inline d" + (f % 100) + "/file-" + f + ".txt\ndata " + content.length + "\n")
                            .getBytes(StandardCharsets.UTF_8));
                    in.write(content);
                    in.write('\n');
                }
            }
        }
        if (p.waitFor() != 0) {
            throw new IOException("git fast-import failed: " + Files.readString(o.work.resolve("fast-import.out")));
        }
        Shell.run("git", "--git-dir=" + repo, "symbolic-ref", "HEAD", "refs/heads/main");
        return repo;
    }

    /** Text of about {@code bytes}, different per file and version, so that git stores each blob. */
    private static byte[] content(int file, int version, int bytes) {
        StringBuilder b = new StringBuilder(bytes + 80);
        int line = 0;
        while (b.length() < bytes) {
            b.append("file ")
                    .append(file)
                    .append(" version ")
                    .append(version)
                    .append(" line ")
                    .append(line++)
                    .append(": the quick brown fox jumps over the lazy dog\n");
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A workload timed as one command: a warm-up run on each target (dropped), then {@code rounds} rounds with the
     * order rotating; FSP's FUSE requests are counted over its first timed run and divided by the files in the tree.
     */
    private void timedCommand(String name, String params, List<Target> targets, Run run) throws Exception {
        Map<String, List<Measurement>> runs = new LinkedHashMap<>();
        for (Target t : targets) {
            progress(name + ": warm-up on " + t.name);
            sync();
            run.on(t, -1);
            runs.put(t.name, new ArrayList<>());
        }
        double perOp = Double.NaN;
        for (int round = 0; round < o.rounds; round++) {
            for (int k = 0; k < targets.size(); k++) {
                Target t = targets.get((k + round) % targets.size());
                sync();
                boolean count = round == 0 && t.name.equals("FSP");
                long before = count ? requests() : 0;
                Measurement m = run.on(t, round);
                if (count) {
                    perOp = (requests() - before) / (double) o.files;
                }
                runs.get(t.name).add(m);
                progress(String.format(
                        Locale.ROOT,
                        "%s: round %d/%d on %-6s %.2f s",
                        name,
                        round + 1,
                        o.rounds,
                        t.name,
                        m.nanos() / 1e9));
            }
        }
        results.add(new Result(name, params, Metric.MILLIS_PER_OP, Goal.atMost(0.5), Goal.atMost(1.5), runs, perOp));
    }

    /**
     * fio, 4 KiB random I/O on a 256 MiB file per target, buffered or with {@code direct} O_DIRECT; one run of
     * {@code --seconds} per target. Buffered random reads are served more and more by the page cache as the run goes
     * on (with replacement, no random map); O_DIRECT ones all reach the file system.
     */
    private void fio(List<Target> targets, String rw, int depth, boolean direct) throws Exception {
        String name = "fio " + rw + " 4K QD" + depth + (direct ? " O_DIRECT" : "");
        String engine = depth == 1 ? "psync" : "io_uring";
        Map<String, List<Measurement>> runs = new LinkedHashMap<>();
        double perOp = Double.NaN;
        for (Target t : targets) {
            Path file = t.dir.resolve("fio.dat");
            if (!Files.exists(file)) {
                progress("fio: laying out 256 MiB on " + t.name);
                Shell.run(
                        "fio",
                        "--name=layout",
                        "--filename=" + file,
                        "--size=256m",
                        "--rw=write",
                        "--bs=1m",
                        "--direct=0",
                        "--end_fsync=1",
                        "--output-format=terse");
            }
            sync();
            boolean count = t.name.equals("FSP");
            long before = count ? requests() : 0;
            String terse = Shell.run(
                    "fio",
                    "--name=bench",
                    "--filename=" + file,
                    "--size=256m",
                    "--rw=" + rw,
                    "--bs=4k",
                    "--direct=" + (direct ? 1 : 0),
                    "--ioengine=" + engine,
                    "--iodepth=" + depth,
                    "--time_based",
                    "--runtime=" + fioSeconds(),
                    "--randrepeat=1",
                    "--norandommap",
                    "--output-format=terse",
                    "--terse-version=3");
            Measurement m = fioMeasurement(terse, rw.equals("randread"));
            if (count) {
                perOp = (requests() - before) / (double) m.ops();
            }
            runs.put(t.name, List.of(m));
            progress(String.format(Locale.ROOT, "%s on %-6s %,.0f IOPS", name, t.name, m.opsPerSecond()));
        }
        results.add(new Result(
                name,
                "fio --ioengine=" + engine + " --iodepth=" + depth
                        + (direct
                                ? " --direct=1 (every read reaches the file system)"
                                : " --direct=0 (fio drops the file's cached pages at its start; then more and more"
                                        + " reads hit them)")
                        + ", 256 MiB file, " + fioSeconds() + " s",
                Metric.OPS_PER_SECOND,
                null,
                null,
                runs,
                perOp));
    }

    private String fioSeconds() {
        return Long.toString(Math.max(1, Math.round(o.seconds)));
    }

    /** The I/Os and runtime of fio's terse (version 3) line: read IOPS and runtime in fields 8 and 9, write 49, 50. */
    static Measurement fioMeasurement(String terse, boolean read) throws IOException {
        String line = terse.lines()
                .filter(l -> l.startsWith("3;"))
                .reduce((a, b) -> b)
                .orElse(null);
        if (line == null) {
            throw new IOException("fio printed no terse result: " + terse);
        }
        String[] f = line.split(";");
        int iops = read ? 7 : 48;
        double rate = Double.parseDouble(f[iops]);
        long millis = Long.parseLong(f[iops + 1]);
        if (millis <= 0) {
            throw new IOException("fio ran no I/O: " + line);
        }
        return new Measurement(
                Math.round(rate * millis / 1e3), TimeUnit.MILLISECONDS.toNanos(millis), Measurement.newHistogram());
    }

    /** Filebench's varmail, one thread, 400 files, through java.nio on each target (the mount's directory). */
    private void varmail(List<Target> targets) throws Exception {
        Workload w = Filebench.one(Filebench.Personality.VARMAIL, 400, 1, o.seconds);
        Map<String, List<Measurement>> runs = new LinkedHashMap<>();
        double perOp = Double.NaN;
        for (Target t : targets) {
            progress("varmail: preparing and warming up on " + t.name);
            FileApi api = new NioFileApi(Files.createDirectories(t.dir.resolve("varmail")), t.name);
            w.prepare(api);
            w.run(api, -1);
            sync();
            boolean count = t.name.equals("FSP");
            long before = count ? requests() : 0;
            Measurement m = w.run(api, 0);
            if (count) {
                perOp = (requests() - before) / (double) m.ops();
            }
            runs.put(t.name, List.of(m));
            progress(String.format(Locale.ROOT, "varmail on %-6s %,.0f flowops/s", t.name, m.opsPerSecond()));
        }
        results.add(new Result(
                "varmail",
                w.params() + " (Filebench's 13 flowops, fsync)",
                Metric.OPS_PER_SECOND,
                null,
                null,
                runs,
                perOp));
    }

    /** The FUSE requests fspd's mount has served so far ({@code fsp:mount}, through the admin socket). */
    private long requests() throws IOException {
        String out = Shell.run(
                o.fspd.resolveSibling("fsp").toString(),
                "--socket",
                fspd.socket.toString(),
                "shell",
                "-c",
                "fsp:mount");
        Matcher m = REQUESTS.matcher(out);
        if (!m.find()) {
            throw new IOException("fsp:mount printed no request count: " + out);
        }
        return Long.parseLong(m.group(1));
    }

    /** One run of a command, timed from start to exit: one operation. */
    private static Measurement timed(String... command) throws IOException {
        long start = System.nanoTime();
        Shell.run(command);
        long nanos = System.nanoTime() - start;
        var latency = Measurement.newHistogram();
        latency.recordValue(nanos);
        return new Measurement(1, nanos, latency);
    }

    /** Writes back what earlier runs left dirty, so that a run does not pay for the one before it. */
    private static void sync() throws IOException {
        Shell.run("sync");
    }

    private void note(String message) {
        notes.add(message);
        progress(message);
    }

    private void progress(String message) {
        System.err.printf(Locale.ROOT, "[%6.1fs] %s%n", (System.nanoTime() - began) / 1e9, message);
    }
}
