package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Differential testing: the same seeded random sequence of operations (creates, writes, reads, renames, links,
 * symlinks, deletes, truncates, chmods, listings, including the ones that fail) runs against fs-core and against the
 * kernel's file system through java.nio in a temporary directory; each result or errno, and the final trees, must
 * match. Runs as the test's user (root here), so the permission side is covered by {@link PermissionMatrixTest}.
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
    private static final String[] NAMES = {"a", "b", "c", "dd", "e"};
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
        for (int op = 0; op < OPS; op++) {
            String a = randomPath(rnd);
            String b = randomPath(rnd);
            int kind = rnd.nextInt(16);
            byte[] data = new byte[rnd.nextInt(4) == 0 ? rnd.nextInt(30_000) : rnd.nextInt(300)];
            rnd.nextBytes(data);
            long offset = rnd.nextInt(3) == 0 ? rnd.nextInt(10_000) : 0;
            int variant = rnd.nextInt(8);
            String what = "seed " + seed + " op " + op + ": " + describe(kind, a, b, variant);
            String kernel = outcome(() -> kernelOp(root, kind, a, b, data, offset, variant));
            String ours = outcome(() -> ourOp(fs, kind, a, b, data, offset, variant));
            if (VERBOSE) {
                System.out.println(what + " -> " + kernel);
            }
            assertEquals(kernel, ours, what);
        }
        assertEquals(kernelTree(root), ourTree(fs), "final tree, seed " + seed);
    }

    private static String randomPath(Random rnd) {
        int depth = 1 + rnd.nextInt(3);
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < depth; k++) {
            if (k > 0) {
                sb.append('/');
            }
            sb.append(NAMES[rnd.nextInt(rnd.nextInt(10) == 0 ? NAMES.length : 3)]);
        }
        return sb.toString();
    }

    private static String describe(int kind, String a, String b, int variant) {
        String[] ops = {
            "mkdir",
            "mkdir",
            "create/write",
            "create/write",
            "write",
            "read",
            "delete",
            "rename",
            "rename",
            "link",
            "symlink",
            "readlink",
            "truncate",
            "stat",
            "chmod",
            "readdir"
        };
        return ops[kind] + " " + a + " " + b + " v" + variant;
    }

    @FunctionalInterface
    private interface Action {
        String run() throws Exception;
    }

    private static String outcome(Action a) {
        try {
            return "ok " + a.run();
        } catch (FsException e) {
            return "error " + e.errno();
        } catch (NoSuchFileException e) {
            return "error ENOENT";
        } catch (FileAlreadyExistsException e) {
            return "error EEXIST";
        } catch (DirectoryNotEmptyException e) {
            return "error ENOTEMPTY";
        } catch (NotDirectoryException e) {
            return "error ENOTDIR";
        } catch (NotLinkException e) {
            return "error EINVAL";
        } catch (AccessDeniedException e) {
            return "error EACCES";
        } catch (FileSystemException e) {
            return "error " + fromReason(String.valueOf(e.getReason()));
        } catch (IOException e) {
            return "error " + fromReason(String.valueOf(e.getMessage()));
        } catch (Exception e) {
            return "exception " + e;
        }
    }

    private static String fromReason(String r) {
        Map<String, Errno> m = Map.ofEntries(
                Map.entry("Is a directory", Errno.EISDIR),
                Map.entry("Not a directory", Errno.ENOTDIR),
                Map.entry("Invalid argument", Errno.EINVAL),
                Map.entry("Directory not empty", Errno.ENOTEMPTY),
                Map.entry("Too many levels of symbolic links", Errno.ELOOP),
                Map.entry("Operation not permitted", Errno.EPERM),
                Map.entry("Device or resource busy", Errno.EBUSY),
                Map.entry("File name too long", Errno.ENAMETOOLONG),
                Map.entry("No space left on device", Errno.ENOSPC),
                Map.entry("Too many links", Errno.EMLINK),
                Map.entry("File exists", Errno.EEXIST),
                Map.entry("No such file or directory", Errno.ENOENT));
        for (Map.Entry<String, Errno> e : m.entrySet()) {
            if (r.contains(e.getKey())) {
                return e.getValue().name();
            }
        }
        return "unmapped(" + r + ")";
    }

    // ---------------------------------------------------------------------------------------------------------
    // the kernel side

    private static String kernelOp(Path root, int kind, String a, String b, byte[] data, long offset, int variant)
            throws Exception {
        Path pa = root.resolve(a);
        Path pb = root.resolve(b);
        switch (kind) {
            case 0, 1 -> {
                Files.createDirectory(pa);
                return "";
            }
            case 2, 3, 4 -> {
                Set<OpenOption> opts = new HashSet<>();
                opts.add(StandardOpenOption.WRITE);
                if (kind != 4) {
                    opts.add((variant & 1) != 0 ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE);
                }
                boolean append = (variant & 4) != 0;
                if ((variant & 2) != 0 && !append) {
                    opts.add(StandardOpenOption.TRUNCATE_EXISTING);
                }
                if (append) {
                    opts.add(StandardOpenOption.APPEND);
                }
                try (FileChannel fc = FileChannel.open(pa, opts)) {
                    int n = append ? fc.write(ByteBuffer.wrap(data)) : fc.write(ByteBuffer.wrap(data), offset);
                    return String.valueOf(n);
                }
            }
            case 5 -> {
                if ((variant & 1) != 0) {
                    try (FileChannel fc = FileChannel.open(pa, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                        ByteBuffer bb = ByteBuffer.allocate((int) fc.size());
                        int n;
                        do {
                            n = fc.read(bb);
                        } while (n > 0 && bb.hasRemaining());
                        return digest(Arrays.copyOf(bb.array(), bb.position()));
                    }
                }
                return digest(Files.readAllBytes(pa));
            }
            case 6 -> {
                Files.delete(pa);
                return "";
            }
            case 7, 8 -> {
                Files.move(pa, pb, StandardCopyOption.ATOMIC_MOVE);
                return "";
            }
            case 9 -> {
                Files.createLink(pb, pa);
                return "";
            }
            case 10 -> {
                Files.createSymbolicLink(pb, Path.of(symlinkTarget(a, variant)));
                return "";
            }
            case 11 -> {
                return Files.readSymbolicLink(pa).toString();
            }
            case 12 -> {
                try (FileChannel fc = FileChannel.open(pa, StandardOpenOption.WRITE)) {
                    long size = offset;
                    if (size < fc.size()) {
                        fc.truncate(size);
                    }
                    return "";
                }
            }
            case 13 -> {
                LinkOption[] lo = (variant & 1) != 0 ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS} : new LinkOption[0];
                Map<String, Object> at = Files.readAttributes(pa, "unix:mode,nlink,size", lo);
                int mode = (Integer) at.get("mode");
                long size = (mode & 0170000) == 0040000 ? 0 : (Long) at.get("size");
                return Integer.toOctalString(mode) + " " + at.get("nlink") + " " + size;
            }
            case 14 -> {
                Files.setAttribute(pa, "unix:mode", 0700 | (variant * 011));
                return "";
            }
            default -> {
                try (Stream<Path> s = Files.list(pa)) {
                    return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList()).toString();
                }
            }
        }
    }

    /** A relative target: the last name of {@code a}, a dangling name, a two-level path, or a step up. */
    private static String symlinkTarget(String a, int variant) {
        String last = a.substring(a.lastIndexOf('/') + 1);
        return switch (variant % 4) {
            case 0 -> last;
            case 1 -> "nowhere";
            case 2 -> "b/c";
            default -> "../" + last;
        };
    }

    // ---------------------------------------------------------------------------------------------------------
    // our side, with the same system calls java.nio makes

    private static String ourOp(FsCore fs, int kind, String a, String b, byte[] data, long offset, int variant)
            throws Exception {
        String pa = "/" + TOP + "/" + a;
        String pb = "/" + TOP + "/" + b;
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
                    return digest(Arrays.copyOf(out, n));
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
                fs.symlink(ROOT, symlinkTarget(a, variant), pb);
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

    private static String digest(byte[] b) {
        return b.length + ":" + Arrays.hashCode(b);
    }

    // ---------------------------------------------------------------------------------------------------------
    // final trees

    private static Map<String, String> kernelTree(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.forEach(all::add);
        }
        for (Path p : all) {
            String rel = "/" + root.relativize(p).toString().replace('\\', '/');
            if (rel.equals("/")) {
                continue;
            }
            Map<String, Object> at = Files.readAttributes(p, "unix:mode,nlink,size", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) at.get("mode");
            String desc = Integer.toOctalString(mode) + " n" + at.get("nlink");
            if (Files.isSymbolicLink(p)) {
                desc += " -> " + Files.readSymbolicLink(p);
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                desc += " " + digest(Files.readAllBytes(p));
            }
            out.put(rel, desc);
        }
        return out;
    }

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
                    desc += " " + digest(TestFs.readFile(fs, ROOT, p));
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
