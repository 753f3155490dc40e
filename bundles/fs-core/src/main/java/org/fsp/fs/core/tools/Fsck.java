package org.fsp.fs.core.tools;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.fsp.fs.core.cache.BlockIo;

/**
 * {@code fsp fsck [--repair | -y] IMAGE}: checks an image and exits as e2fsck does: 0 when clean, 1 when errors were
 * corrected, 4 when errors are left, 8 when the check could not run (no such file, not an FSP image, a corrupt
 * superblock or journal, the image in use by fspd).
 *
 * <p>Without {@code --repair} nothing is written: committed journal transactions are taken into account as recovery
 * would apply them, in memory. With {@code --repair} (or {@code -y}) the image is repaired as e2fsck's preen mode
 * repairs (see {@link Repair}); it takes the lock fspd holds on the image ({@link #lockFileFor}) and refuses an image
 * a daemon is serving.
 *
 * <p>A typical sequence is: the fsp tool calls {@code Fsck.run(new String[] {"--repair", "disk.img"})} and exits with
 * the result.
 */
public final class Fsck {

    public static final int EXIT_CLEAN = 0;
    public static final int EXIT_ERRORS_CORRECTED = 1;
    public static final int EXIT_ERRORS_LEFT = 4;
    public static final int EXIT_OPERATIONAL_ERROR = 8;

    static final String USAGE = "usage: fsp fsck [--repair | -y] IMAGE";

    private Fsck() {}

    /** Runs fsck with {@code args = {[--repair | -y | -n], IMAGE}}, printing the report on standard output. */
    public static int run(String[] args) {
        return run(args, System.out);
    }

    public static int run(String[] args, PrintStream out) {
        boolean repair = false;
        String imageArg = null;
        for (String a : args) {
            switch (a) {
                case "--repair", "-y", "-p" -> repair = true;
                case "-n" -> repair = false;
                default -> {
                    if (a.startsWith("-") || imageArg != null) {
                        out.println("fsck: unexpected argument " + a);
                        out.println(USAGE);
                        return EXIT_OPERATIONAL_ERROR;
                    }
                    imageArg = a;
                }
            }
        }
        if (imageArg == null) {
            out.println(USAGE);
            return EXIT_OPERATIONAL_ERROR;
        }
        Path image = Path.of(imageArg);
        if (!Files.isRegularFile(image)) {
            out.println("fsck: " + image + ": no such image file");
            return EXIT_OPERATIONAL_ERROR;
        }
        if (!repair) {
            try (FileBlockDevice device = new FileBlockDevice(image, true)) {
                return report(new BlockIo(new DirectBlockScheduler(device)), image.toString(), out);
            } catch (IOException | RuntimeException e) {
                out.println("fsck: " + image + ": " + e.getMessage());
                return EXIT_OPERATIONAL_ERROR;
            }
        }
        Path lockFile = lockFileFor(image);
        try (FileChannel lockChannel =
                FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                out.println("fsck: " + image + " is in use by fspd (lock " + lockFile
                        + " is held); stop it first (bin/fsp shell -c shutdown): a mounted image is never repaired");
                return EXIT_OPERATIONAL_ERROR;
            }
            try (FileBlockDevice device = new FileBlockDevice(image, false)) {
                return Repair.run(new BlockIo(new DirectBlockScheduler(device)), image.toString(), out);
            }
        } catch (IOException | RuntimeException e) {
            out.println("fsck: " + image + ": " + e.getMessage());
            return EXIT_OPERATIONAL_ERROR;
        }
    }

    /**
     * The side file fspd locks for as long as it serves an image (a lock on the image itself would be dropped when
     * the driver closes its own descriptor for it); fsck --repair takes the same lock. {@code Fspd.lockDevice} in the
     * cli names it the same way.
     */
    public static Path lockFileFor(Path image) {
        return image.resolveSibling(image.getFileName() + ".lock");
    }

    /** Checks the device behind {@code io} read-only and prints the report; returns the exit code. */
    public static int report(BlockIo io, String name, PrintStream out) throws IOException {
        Checker.Report r = Checker.check(io);
        for (String p : r.problems()) {
            out.println(name + ": " + p);
        }
        if (r.unreadable() != null) {
            out.println(name + ": could not check");
            return EXIT_OPERATIONAL_ERROR;
        }
        String status;
        if (r.clean()) {
            status = "clean";
        } else if (r.unrepairable() == 0) {
            status = r.problems().size() + " problem(s), not repaired; fsp fsck --repair fixes them";
        } else {
            status = r.problems().size() + " problem(s), not repaired; " + r.unrepairable()
                    + " of them of a kind fsp fsck --repair does not fix";
        }
        summary(name, r, status, out);
        if (!r.cleanlyUnmounted()) {
            out.println(name + ": the image was not cleanly unmounted (it is in use, or its daemon stopped abruptly)");
        }
        return r.clean() ? EXIT_CLEAN : EXIT_ERRORS_LEFT;
    }

    static void summary(String name, Checker.Report r, String status, PrintStream out) {
        out.printf(
                "%s: %s, %d inodes in use (%d directories, %d other entries), %d blocks in use"
                        + ", %d committed journal transactions pending replay%n",
                name, status, r.inodesInUse(), r.directories(), r.files(), r.blocksInUse(), r.journalTransactions());
    }
}
