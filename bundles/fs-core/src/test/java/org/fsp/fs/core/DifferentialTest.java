package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.testing.RandomNioOperations;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Differential testing: the same seeded random sequence of operations (creates, writes, reads, renames, links,
 * symlinks, deletes, truncates, chmods, listings, including the ones that fail) runs against fs-core and against the
 * kernel's file system through java.nio in a temporary directory ({@link RandomNioOperations}, which the FUSE mount's
 * suite runs too); each result or errno, and the final trees, must match. Runs as the test's user (root here), so the permission side is covered by {@link PermissionMatrixTest}.
 *
 * <p>System properties: {@code fsp.diff.seed}, {@code fsp.diff.rounds}, {@code fsp.diff.ops}, {@code
 * fsp.diff.verbose} (print every operation). A failure prints the seed and the operation index; rerun with {@code
 * -Dfsp.diff.seed=... -Dfsp.diff.rounds=1 -Dfsp.diff.verbose=true}.
 */
class DifferentialTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final long SEED = Long.getLong("fsp.diff.seed", 4242L);
    private static final int ROUNDS = Integer.getInteger("fsp.diff.rounds", 6);
    private static final int OPS = Integer.getInteger("fsp.diff.ops", 600);
    private static final boolean VERBOSE = Boolean.getBoolean("fsp.diff.verbose");
    private static final String TOP = "top";
    private static final int UMASK = 022;

    @TempDir
    Path tmp;

    @Test
    void shouldMatchTheKernelFileSystemOperationByOperation() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            long seed = SEED + round;
            // Both sides work one level below their root, so a symlink whose ".." climbs out of the tree lands in a
            // directory holding only TOP on either side.
            Path root = Files.createDirectories(tmp.resolve("round" + round).resolve(TOP));
            FsCore fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(4096));
            fs.mkdir(ROOT, "/" + TOP, 0755);
            try {
                runRound(seed, root, fs);
            } finally {
                fs.unmount();
            }
        }
    }

    private void runRound(long seed, Path root, FsCore fs) throws Exception {
        Random rnd = new Random(seed);
        for (int i = 0; i < OPS; i++) {
            RandomNioOperations.Op op = RandomNioOperations.next(rnd);
            String what = "seed " + seed + " op " + i + ": " + op.describe();
            String kernel = RandomNioOperations.outcome(() -> RandomNioOperations.apply(root, op));
            String ours = RandomNioOperations.outcome(() -> ourOp(fs, op));
            if (VERBOSE) {
                System.out.println(what + " -> " + kernel);
            }
            assertEquals(kernel, ours, what);
        }
        assertEquals(RandomNioOperations.tree(root), ourTree(fs), "final tree, seed " + seed);
    }

    // ---------------------------------------------------------------------------------------------------------
    // our side, with the same system calls java.nio makes

    private static String ourOp(FsCore fs, RandomNioOperations.Op op) throws Exception {
        String pa = "/" + TOP + "/" + op.a();
        String pb = "/" + TOP + "/" + op.b();
        int kind = op.kind();
        int variant = op.variant();
        byte[] data = op.data();
        long offset = op.offset();
        switch (kind) {
            case 0, 1 -> {
                fs.mkdir(ROOT, pa, 0777 & ~UMASK);
                return "";
            }
            case 2, 3, 4 -> {
                int flags = OpenFlags.O_WRONLY;
                if (kind != 4) {
                    flags |= OpenFlags.O_CREAT | ((variant & 1) != 0 ? OpenFlags.O_EXCL : 0);
                }
                boolean append = (variant & 4) != 0;
                if ((variant & 2) != 0 && !append) {
                    flags |= OpenFlags.O_TRUNC;
                }
                if (append) {
                    flags |= OpenFlags.O_APPEND;
                }
                long h = fs.open(ROOT, pa, flags, 0666 & ~UMASK);
                try {
                    int n = append
                            ? fs.write(ROOT, h, MemorySegment.ofArray(data))
                            : fs.pwrite(ROOT, h, offset, MemorySegment.ofArray(data));
                    return String.valueOf(n);
                } finally {
                    fs.close(ROOT, h);
                }
            }
            case 5 -> {
                long h = fs.open(ROOT, pa, OpenFlags.O_RDONLY | ((variant & 1) != 0 ? OpenFlags.O_NOFOLLOW : 0), 0);
                try {
                    long size = fs.fstat(ROOT, h).size();
                    byte[] out = new byte[(int) size];
                    int n = size == 0
                            ? fs.read(ROOT, h, MemorySegment.ofArray(new byte[1]))
                            : fs.read(ROOT, h, MemorySegment.ofArray(out));
                    return RandomNioOperations.digest(Arrays.copyOf(out, n));
                } finally {
                    fs.close(ROOT, h);
                }
            }
            case 6 -> {
                if (fs.lstat(ROOT, pa).isDirectory()) {
                    fs.rmdir(ROOT, pa);
                } else {
                    fs.unlink(ROOT, pa);
                }
                return "";
            }
            case 7, 8 -> {
                fs.rename(ROOT, pa, pb);
                return "";
            }
            case 9 -> {
                fs.link(ROOT, pa, pb);
                return "";
            }
            case 10 -> {
                fs.symlink(ROOT, RandomNioOperations.symlinkTarget(op.a(), variant), pb);
                return "";
            }
            case 11 -> {
                return fs.readlink(ROOT, pa);
            }
            case 12 -> {
                long h = fs.open(ROOT, pa, OpenFlags.O_WRONLY, 0);
                try {
                    if (offset < fs.fstat(ROOT, h).size()) {
                        fs.ftruncate(ROOT, h, offset);
                    }
                    return "";
                } finally {
                    fs.close(ROOT, h);
                }
            }
            case 13 -> {
                FileAttributes at = nioStat(fs, pa, (variant & 1) == 0);
                long size = at.isDirectory() ? 0 : at.size();
                return Integer.toOctalString(at.mode()) + " " + at.nlink() + " " + size;
            }
            case 14 -> {
                fs.chmod(ROOT, pa, 0700 | (variant * 011));
                return "";
            }
            default -> {
                Set<String> names = new TreeSet<>();
                FileAttributes st = fs.stat(ROOT, pa);
                if (!st.isDirectory()) {
                    throw new FsException(Errno.ENOTDIR, pa);
                }
                long cookie = 0;
                while (true) {
                    List<DirEntry> page = fs.readdir(ROOT, pa, cookie, 3);
                    if (page.isEmpty()) {
                        break;
                    }
                    for (DirEntry e : page) {
                        names.add(e.name());
                    }
                    cookie = page.get(page.size() - 1).cookie();
                }
                return names.toString();
            }
        }
    }

    /** Files.readAttributes as the JDK does it: a stat failing with ENOTDIR surfaces as NoSuchFileException. */
    private static FileAttributes nioStat(FsCore fs, String path, boolean follow) throws FsException {
        try {
            return follow ? fs.stat(ROOT, path) : fs.lstat(ROOT, path);
        } catch (FsException e) {
            throw e.errno() == Errno.ENOTDIR ? new FsException(Errno.ENOENT, path) : e;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // final trees

    private static Map<String, String> ourTree(FsCore fs) throws IOException {
        Map<String, String> out = new TreeMap<>();
        walk(fs, "/" + TOP, out);
        Map<String, String> relative = new TreeMap<>();
        out.forEach((k, v) -> relative.put(k.substring(TOP.length() + 1), v));
        return relative;
    }

    private static void walk(FsCore fs, String dir, Map<String, String> out) throws IOException {
        long cookie = 0;
        while (true) {
            List<DirEntry> page = fs.readdir(ROOT, dir, cookie, 64);
            if (page.isEmpty()) {
                return;
            }
            for (DirEntry e : page) {
                String p = (dir.equals("/") ? "" : dir) + "/" + e.name();
                FileAttributes at = fs.lstat(ROOT, p);
                String desc = Integer.toOctalString(at.mode()) + " n" + at.nlink();
                if (at.isSymbolicLink()) {
                    desc += " -> " + fs.readlink(ROOT, p);
                } else if (at.isRegularFile()) {
                    desc += " " + RandomNioOperations.digest(TestFs.readFile(fs, ROOT, p));
                }
                out.put(p, desc);
                if (at.isDirectory()) {
                    walk(fs, p, out);
                }
            }
            cookie = page.get(page.size() - 1).cookie();
        }
    }
}
