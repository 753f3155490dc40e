package org.fsp.fs.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FsStats;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Fsck;

/**
 * Gogo commands {@code fsp:fsck} and {@code fsp:df} on the live file system. fsck syncs, then checks the device
 * read-only through the same scheduler (with the journal's committed transactions applied in memory, as recovery
 * would); operations running meanwhile can make it report problems that are only in flight.
 */
public final class FsCommands {

    private final FsCore fs;
    private final BlockScheduler scheduler;

    public FsCommands(FsCore fs, BlockScheduler scheduler) {
        this.fs = fs;
        this.scheduler = scheduler;
    }

    /** Checks the live device read-only and returns the report; the last line says clean or how many problems. */
    public String fsck() throws IOException {
        fs.sync();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        int code = Fsck.report(new BlockIo(scheduler), scheduler.device().describe(), ps);
        ps.println("exit code " + code + " ("
                + switch (code) {
                    case Fsck.EXIT_CLEAN -> "clean";
                    case Fsck.EXIT_ERRORS_LEFT -> "errors left";
                    default -> "could not check";
                }
                + ")");
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * {@code fsp:fsck --repair} (or {@code -y}) is refused: a mounted file system is never repaired under itself, as
     * e2fsck refuses one. {@code -n} is the read-only check.
     */
    public String fsck(String option) throws IOException {
        return switch (option) {
            case "-n" -> fsck();
            case "--repair", "-y", "-p" ->
                "fsp:fsck does not repair a mounted file system: stop fspd (shutdown) and run"
                        + " bin/fsp fsck --repair IMAGE\n";
            default -> "usage: fsp:fsck [-n]   (repair: offline, bin/fsp fsck --repair IMAGE)\n";
        };
    }

    /** Blocks and inodes, total / used / free, as df and df -i print them. */
    public String df() throws IOException {
        FsStats s = fs.statfs(Credentials.ROOT);
        long kib = s.blockSize() / 1024;
        return String.format("%-12s %12s %12s %12s %5s%n", "", "1K-blocks", "Used", "Available", "Use%")
                + String.format(
                        "%-12s %12d %12d %12d %4d%%%n",
                        "blocks",
                        s.totalBlocks() * kib,
                        (s.totalBlocks() - s.freeBlocks()) * kib,
                        s.availableBlocks() * kib,
                        // As df: Available leaves out root's reserve, and Use% is used / (used + available).
                        percent(
                                s.totalBlocks() - s.freeBlocks(),
                                s.totalBlocks() - s.freeBlocks() + s.availableBlocks()))
                + String.format(
                        "%-12s %12d %12d %12d %4d%%%n",
                        "inodes",
                        s.totalInodes(),
                        s.totalInodes() - s.freeInodes(),
                        s.freeInodes(),
                        percent(s.totalInodes() - s.freeInodes(), s.totalInodes()));
    }

    private static long percent(long used, long total) {
        return total == 0 ? 0 : (used * 100 + total - 1) / total;
    }
}
