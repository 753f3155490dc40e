package org.fsp.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.fsp.bench.device.DeviceBench;
import org.fsp.bench.fs.FsBench;
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

        @Option(names = "--size", paramLabel = "SIZE", description = "Create or resize the image to SIZE (e.g. 1G) first.")
        String size;

        @Option(names = "--journal-blocks", paramLabel = "N", description = "Journal length in 4 KiB blocks (default: sized by the device).")
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

    @Command(name = "fsck", description = "Checks an FSP image offline; exits 0 when clean, 4 when errors are left, 8 when it could not check.")
    static final class FsckCommand implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "IMAGE", description = "The image file to check (read-only).")
        String image;

        @Override
        public Integer call() {
            return Fsck.run(new String[] {image});
        }
    }

    @Command(name = "bench", description = "Runs a benchmark suite against its baseline in the same run and prints ratios: "
            + "device (FSP io_uring driver vs fio), fs (fs-core vs ext4 on a loop device).")
    static final class BenchCommand implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "SUITE", description = "device, fs or all")
        String suite;

        @Unmatched
        List<String> suiteArgs = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            String[] args = suiteArgs.toArray(String[]::new);
            switch (suite) {
                case "device" -> DeviceBench.main(args);
                case "fs" -> FsBench.main(args);
                case "all" -> {
                    DeviceBench.main(args);
                    FsBench.main(args);
                }
                default -> {
                    System.err.println("fsp bench: unknown suite '" + suite + "'; use device, fs or all");
                    return 2;
                }
            }
            return 0;
        }
    }
}
