package org.fsp.testing;

import java.io.IOException;
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
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;

/**
 * The operations of a differential test, run through java.nio on a directory of a kernel file system: seeded random
 * creates, writes, reads, renames, links, symlinks, deletes, truncates, chmods, stats and listings (including the ones
 * that fail), each turned into an outcome string ("ok ..." or "error ERRNO") that two file systems must agree on, and
 * the final tree as a map of path to mode, links and contents. fs-core's DifferentialTest compares fs-core with the
 * kernel through them; the FUSE mount's suite compares the mount with tmpfs.
 *
 * <p>A typical sequence is: {@code Op op = RandomNioOperations.next(rnd)}; {@code assertEquals(outcome(() ->
 * apply(tmpfsRoot, op)), outcome(() -> apply(mountRoot, op)), op.describe())}; at the end {@code tree(root)} of both.
 */
public final class RandomNioOperations {

    /** Names the paths are made of: mostly the first three, so that operations meet each other's files. */
    private static final String[] NAMES = {"a", "b", "c", "dd", "e"};

    private static final String[] KINDS = {
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

    private RandomNioOperations() {}

    /**
     * One operation: {@code kind} indexes {@link #KINDS}; {@code a} and {@code b} are paths relative to the root;
     * {@code variant} picks the flags (CREATE_NEW, TRUNCATE_EXISTING, APPEND, NOFOLLOW_LINKS) and the symlink target.
     */
    public record Op(int kind, String a, String b, byte[] data, long offset, int variant) {
        public String describe() {
            return KINDS[kind] + " " + a + " " + b + " v" + variant;
        }
    }

    /** The next operation from {@code rnd}: the same seed gives the same sequence. */
    public static Op next(Random rnd) {
        String a = randomPath(rnd);
        String b = randomPath(rnd);
        int kind = rnd.nextInt(KINDS.length);
        byte[] data = new byte[rnd.nextInt(4) == 0 ? rnd.nextInt(30_000) : rnd.nextInt(300)];
        rnd.nextBytes(data);
        long offset = rnd.nextInt(3) == 0 ? rnd.nextInt(10_000) : 0;
        int variant = rnd.nextInt(8);
        return new Op(kind, a, b, data, offset, variant);
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

    /** An operation whose result two file systems compare. */
    @FunctionalInterface
    public interface Action {
        String run() throws Exception;
    }

    /** "ok " and the result, or "error " and the errno the failure stands for (an FsException's, or java.nio's). */
    public static String outcome(Action a) {
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

    /** Runs {@code op} under {@code root} through java.nio; returns its result (a count, a digest, a listing...). */
    public static String apply(Path root, Op op) throws Exception {
        Path pa = root.resolve(op.a());
        Path pb = root.resolve(op.b());
        int variant = op.variant();
        switch (op.kind()) {
            case 0, 1 -> {
                Files.createDirectory(pa);
                return "";
            }
            case 2, 3, 4 -> {
                Set<OpenOption> opts = new HashSet<>();
                opts.add(StandardOpenOption.WRITE);
                if (op.kind() != 4) {
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
                    ByteBuffer data = ByteBuffer.wrap(op.data());
                    int n = append ? fc.write(data) : fc.write(data, op.offset());
                    return String.valueOf(n);
                }
            }
            case 5 -> {
                if ((variant & 1) != 0) {
                    try (FileChannel fc = FileChannel.open(pa, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                        // At least one byte, so that a read is made even where a directory's size is 0 (fs-core's
                        // empty directory; tmpfs counts its entries): reading a directory is EISDIR on every one.
                        ByteBuffer bb = ByteBuffer.allocate((int) Math.max(1, fc.size()));
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
                Files.createSymbolicLink(pb, Path.of(symlinkTarget(op.a(), variant)));
                return "";
            }
            case 11 -> {
                return Files.readSymbolicLink(pa).toString();
            }
            case 12 -> {
                try (FileChannel fc = FileChannel.open(pa, StandardOpenOption.WRITE)) {
                    if (op.offset() < fc.size()) {
                        fc.truncate(op.offset());
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
    public static String symlinkTarget(String a, int variant) {
        String last = a.substring(a.lastIndexOf('/') + 1);
        return switch (variant % 4) {
            case 0 -> last;
            case 1 -> "nowhere";
            case 2 -> "b/c";
            default -> "../" + last;
        };
    }

    /** Length and hash of file contents, as outcomes and trees show them. */
    public static String digest(byte[] b) {
        return b.length + ":" + Arrays.hashCode(b);
    }

    /** Every path under {@code root} ("/" + relative path) with its mode, link count and contents or target. */
    public static Map<String, String> tree(Path root) throws IOException {
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
}
