package org.fsp.fs.core.tools;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.fsp.fs.core.cache.BlockIo;

/**
 * {@code fsp fsck IMAGE}: checks an image read-only and exits as e2fsck does: 0 when clean, 4 when errors are left
 * (nothing is repaired), 8 when the check could not run. Committed journal transactions are taken into account as
 * recovery would apply them, without writing.
 *
 * <p>A typical sequence is: the fsp tool calls {@code Fsck.run(new String[] {"disk.img"})} and exits with the result.
 */
public final class Fsck {

    public static final int EXIT_CLEAN = 0;
    public static final int EXIT_ERRORS_LEFT = 4;
    public static final int EXIT_OPERATIONAL_ERROR = 8;

    private Fsck() {}

    /** Runs fsck with {@code args = {IMAGE}}, printing the report on standard output. */
    public static int run(String[] args) {
        return run(args, System.out);
    }

    public static int run(String[] args, PrintStream out) {
        if (args.length != 1) {
            out.println("usage: fsp fsck IMAGE");
            return EXIT_OPERATIONAL_ERROR;
        }
        Path image = Path.of(args[0]);
        if (!Files.isRegularFile(image)) {
            out.println("fsck: " + image + ": no such image file");
            return EXIT_OPERATIONAL_ERROR;
        }
        try (FileBlockDevice device = new FileBlockDevice(image, true)) {
            return report(new BlockIo(new DirectBlockScheduler(device)), image.toString(), out);
        } catch (IOException | RuntimeException e) {
            out.println("fsck: " + image + ": " + e.getMessage());
            return EXIT_OPERATIONAL_ERROR;
        }
    }

    /** Checks the device behind {@code io} and prints the report; returns the exit code. */
    public static int report(BlockIo io, String name, PrintStream out) throws IOException {
        Checker.Report r = Checker.check(io);
        for (String p : r.problems()) {
            out.println(name + ": " + p);
        }
        out.printf(
                "%s: %s, %d inodes in use (%d directories, %d other entries), %d blocks in use"
                        + ", %d committed journal transactions pending replay%n",
                name,
                r.clean() ? "clean" : r.problems().size() + " problem(s), not repaired",
                r.inodesInUse(),
                r.directories(),
                r.files(),
                r.blocksInUse(),
                r.journalTransactions());
        return r.clean() ? EXIT_CLEAN : EXIT_ERRORS_LEFT;
    }
}
