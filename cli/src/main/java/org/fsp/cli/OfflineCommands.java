package org.fsp.cli;

import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.fsp.fs.core.tools.Fsck;
import org.fsp.fs.core.tools.Mkfs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/** The {@code fsp} commands that work on an image with no daemon running: mkfs, fsck, and the benchmarks. */
final class OfflineCommands {

    private OfflineCommands() {}

    @Command(name = "mkfs", description = "Writes an empty FSP file system into an image (created with --size).")
    static final class MkfsCommand implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "IMAGE", description = "The image file to format.")
        String image;

        @Option(
                names = "--size",
                paramLabel = "SIZE",
                description = "Create or resize the image to SIZE (e.g. 1G) first.")
        String size;

        @Option(
                names = "--journal-blocks",
                paramLabel = "N",
                description = "Journal length in 4 KiB blocks (default: sized by the device).")
        Long journalBlocks;

        @Override
        public Integer call() {
            List<String> args = new ArrayList<>(List.of(image));
            if (size != null) {
                args.addAll(List.of("--size", Long.toString(Sizes.parse(size))));
            }
            if (journalBlocks != null) {
                args.addAll(List.of("--journal-blocks", journalBlocks.toString()));
            }
            return Mkfs.run(args.toArray(String[]::new));
        }
    }

    @Command(
            name = "fsck",
            description = "Checks an FSP image offline (read-only unless --repair); exits 0 when clean, 1 when errors"
                    + " were corrected, 4 when errors are left, 8 when it could not check.")
    static final class FsckCommand implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "IMAGE", description = "The image file to check.")
        String image;

        @Option(
                names = {"--repair", "-y"},
                description = "Replay the journal and fix what e2fsck fixes in preen mode (leaked blocks and inodes,"
                        + " link counts, sizes, bitmaps; orphans to /lost+found). Refused while fspd serves the image.")
        boolean repair;

        @Override
        public Integer call() {
            return Fsck.run(repair ? new String[] {"--repair", image} : new String[] {image});
        }
    }

    @Command(
            name = "bench",
            description =
                    "Runs a benchmark suite against its baseline in the same run and prints ratios: "
                            + "device (FSP io_uring driver vs fio), fs (fs-core vs ext4 on a loop device), ipc (JMH: channel round trips "
                            + "vs a raw shared-memory ping-pong), syscalls (the client's system calls under strace for 100k and 1M "
                            + "requests), sched, upgrade (the pause per layer upgrade under load), fairness (an honest client beside a SYNC flood and silent connections), apps (H2, Lucene and Files calls through the java.nio provider vs ext4 and tmpfs), eval (FSP vs ext4 and tmpfs: micro, meta, cached, filebench, channel), or all. Arguments after SUITE go to the suite.")
    static final class BenchCommand implements Callable<Integer> {

        /** The evaluation against the kernel file systems (issue 8): one main class, told its suite ("eval": all). */
        static final String EVAL = "org.fsp.bench.eval.EvalBench";

        /** Suite name to the main class in the fsp-benchmarks jar (lib/tools), each runnable on its own too. */
        static final Map<String, String> SUITES = new LinkedHashMap<>();

        static {
            SUITES.put("device", "org.fsp.bench.device.DeviceBench");
            SUITES.put("fs", "org.fsp.bench.fs.FsBench");
            SUITES.put("ipc", "org.fsp.bench.jmh.ChannelJmh");
            SUITES.put("syscalls", "org.fsp.bench.jmh.SyscallCount");
            SUITES.put("sched", "org.fsp.bench.sched.SchedBench");
            SUITES.put("upgrade", "org.fsp.bench.upgrade.UpgradeBench");
            SUITES.put("fairness", "org.fsp.bench.fairness.FairnessBench");
            SUITES.put("fuse", "org.fsp.bench.eval.FuseBench");
            SUITES.put("apps", "org.fsp.bench.eval.AppsBench");
            SUITES.put("recovery", "org.fsp.bench.recovery.RecoveryBench");
            for (String s : List.of("eval", "micro", "meta", "cached", "filebench", "channel")) {
                SUITES.put(s, EVAL);
            }
        }

        @Parameters(
                index = "0",
                paramLabel = "SUITE",
                description =
                        "device, fs, ipc, syscalls, sched, upgrade, fairness, apps, recovery, eval (micro, meta, cached,"
                                + " filebench, channel) or all")
        String suite;

        @Unmatched
        List<String> suiteArgs = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            List<String> run = suite.equals("all")
                    ? SUITES.keySet().stream()
                            .filter(n -> n.equals("eval") || !EVAL.equals(SUITES.get(n)))
                            .toList()
                    : List.of(suite);
            for (String name : run) {
                String mainClass = SUITES.get(name);
                List<String> args = new ArrayList<>(suiteArgs);
                if (EVAL.equals(mainClass)) {
                    args.addFirst(name);
                }
                if (mainClass == null) {
                    System.err.println(
                            "fsp bench: unknown suite '" + name + "'; use one of " + SUITES.keySet() + " or all");
                    return 2;
                }
                try {
                    Class.forName(mainClass).getMethod("main", String[].class).invoke(null, (Object)
                            args.toArray(String[]::new));
                } catch (ClassNotFoundException e) {
                    System.err.println(
                            "fsp bench: suite '" + name + "' is not in this distribution (" + mainClass + ")");
                    return 2;
                } catch (InvocationTargetException e) {
                    throw e.getCause() instanceof Exception ex ? ex : e;
                }
            }
            return 0;
        }
    }
}
