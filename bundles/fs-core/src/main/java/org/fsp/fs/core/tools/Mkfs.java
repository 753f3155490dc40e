package org.fsp.fs.core.tools;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;

/**
 * {@code fsp mkfs IMAGE [--size BYTES] [--journal-blocks N] [-m PERCENT]}: writes an empty file system into an image file,
 * creating or resizing the file when {@code --size} is given (suffixes K, M, G, T accepted); {@code -m} (or
 * {@code --reserved-percent}) keeps that percentage of the data blocks for root (default 5, as mke2fs). Returns 0 on success,
 * 1 on failure, printing what was made or what went wrong.
 *
 * <p>A typical sequence is: the fsp tool calls {@code Mkfs.run(new String[] {"disk.img", "--size", "1G"})}.
 */
public final class Mkfs {

    private Mkfs() {}

    public static int run(String[] args) {
        return run(args, System.out);
    }

    public static int run(String[] args, PrintStream out) {
        String image = null;
        long size = -1;
        long journal = 0;
        int reservedPercent = Formatter.DEFAULT_RESERVED_PERCENT;
        try {
            for (int k = 0; k < args.length; k++) {
                switch (args[k]) {
                    case "--size" -> size = parseSize(args[++k]);
                    case "--journal-blocks" -> journal = Long.parseLong(args[++k]);
                    case "-m", "--reserved-percent" -> reservedPercent = Integer.parseInt(args[++k]);
                    default -> {
                        if (image != null || args[k].startsWith("--")) {
                            throw new IllegalArgumentException("unexpected argument " + args[k]);
                        }
                        image = args[k];
                    }
                }
            }
            if (image == null) {
                throw new IllegalArgumentException("no image given");
            }
        } catch (RuntimeException e) {
            out.println("mkfs: " + e.getMessage());
            out.println("usage: fsp mkfs IMAGE [--size BYTES] [--journal-blocks N] [-m RESERVED_PERCENT]");
            return 1;
        }
        Path path = Path.of(image);
        try {
            if (size >= 0) {
                try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
                    f.setLength(size / Layout.BLOCK_SIZE * Layout.BLOCK_SIZE);
                }
            } else if (!Files.isRegularFile(path)) {
                out.println("mkfs: " + image + " does not exist; give --size to create it");
                return 1;
            }
            try (FileBlockDevice device = new FileBlockDevice(path, false)) {
                BlockIo io = new BlockIo(new DirectBlockScheduler(device));
                Geometry g = Formatter.format(io, io.blockCount(), journal, reservedPercent);
                out.printf(
                        "mkfs: %s: %d blocks of %d bytes, %d inodes, journal %d blocks, data from block %d, %d%%"
                                + " reserved for root%n",
                        image,
                        g.totalBlocks(),
                        Layout.BLOCK_SIZE,
                        g.inodeCount() - 1,
                        g.journalBlocks(),
                        g.dataStart(),
                        reservedPercent);
            }
            return 0;
        } catch (IOException | RuntimeException e) {
            out.println("mkfs: " + image + ": " + e.getMessage());
            return 1;
        }
    }

    /** Parses "4096", "64M", "1G"... into bytes. */
    static long parseSize(String s) {
        String t = s.trim().toUpperCase();
        long mult = 1;
        char last = t.charAt(t.length() - 1);
        if (last == 'B') {
            t = t.substring(0, t.length() - 1);
            last = t.charAt(t.length() - 1);
        }
        switch (last) {
            case 'K' -> mult = 1L << 10;
            case 'M' -> mult = 1L << 20;
            case 'G' -> mult = 1L << 30;
            case 'T' -> mult = 1L << 40;
            default -> mult = 1;
        }
        if (mult != 1) {
            t = t.substring(0, t.length() - 1);
        }
        return Long.parseLong(t) * mult;
    }
}
