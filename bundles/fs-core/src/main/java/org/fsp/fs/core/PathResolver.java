package org.fsp.fs.core;

import static org.fsp.api.fs.FileSystemService.NAME_MAX;
import static org.fsp.api.fs.FileSystemService.PATH_MAX;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.dir.Directory;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.inode.InodeTable;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;

/**
 * Path resolution: absolute paths to inodes, following symlinks (at most 40 per lookup, then ELOOP), checking search
 * permission on every directory passed, with Linux's errnos (ENOENT, ENOTDIR, EACCES, ENAMETOOLONG, ELOOP).
 *
 * <p>Lookups take no lock: directory indexes are concurrent maps, so a path walk races with renames as Linux's RCU
 * walk does, and callers lock and re-check what they found before changing it. A typical sequence is:
 * {@code Parent p = paths.resolveParent(who, "/a/b")}; lock {@code p.dir()}; {@code paths.child(p.dir(), p.name())}.
 */
final class PathResolver {

    /** Symlinks followed in one lookup before ELOOP, as Linux's MAXSYMLINKS. */
    static final int SYMLOOP_MAX = 40;

    /**
     * The longest path fs-core resolves, in bytes with the NUL: far above PATH_MAX on purpose. PATH_MAX bounds what a
     * program passes to a system call, and each front end checks it on what its callers give it (ipc-shm's
     * RequestArguments, the kernel for the FUSE mount). A path a front end builds itself can be longer: the FUSE
     * mount names a file by its full path from the root, and a program that made a deep tree by chdir and relative
     * names (each of its own calls within PATH_MAX) has files whose full path is not. This bound only keeps the work
     * of one lookup finite.
     */
    static final int RESOLVE_MAX = 64 * PATH_MAX;

    /** The last component of a path and the directory holding it ({@code name} is "" for "/"). */
    record Parent(Inode dir, String name, boolean trailingSlash) {}

    private final BufferCache cache;
    private final Allocator alloc;
    private final InodeTable table;
    private final LinkProtection linkProtection;

    PathResolver(BufferCache cache, Allocator alloc, InodeTable table, LinkProtection linkProtection) {
        this.cache = cache;
        this.alloc = alloc;
        this.table = table;
        this.linkProtection = linkProtection;
    }

    static void checkPath(String path) throws FsException {
        checkPath(path, false);
    }

    /** As {@link #checkPath(String)}; {@code relative}: a path not starting with "/" is one from a base directory. */
    static void checkPath(String path, boolean relative) throws FsException {
        if (path == null || path.isEmpty()) {
            throw new FsException(Errno.ENOENT, "empty path");
        }
        if (path.indexOf('\0') >= 0) {
            throw new FsException(Errno.EINVAL, "NUL in path");
        }
        if (path.charAt(0) != '/' && !relative) {
            throw new FsException(Errno.EINVAL, "path must be absolute: " + path);
        }
        if (isShortAscii(path)) {
            return;
        }
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        if (bytes.length + 1 > RESOLVE_MAX) {
            throw new FsException(Errno.ENAMETOOLONG, path.substring(0, 64) + "...");
        }
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '/') {
                if (i - start > NAME_MAX) {
                    throw new FsException(Errno.ENAMETOOLONG, path);
                }
                start = i + 1;
            }
        }
    }

    /** True if the path is ASCII with components within NAME_MAX: then chars are bytes and no check is needed. */
    private static boolean isShortAscii(String path) {
        int n = path.length();
        if (n + 1 > RESOLVE_MAX) {
            return false;
        }
        int start = 0;
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c >= 0x80) {
                return false;
            }
            if (c == '/') {
                if (i - start > NAME_MAX) {
                    return false;
                }
                start = i + 1;
            }
        }
        return n - start <= NAME_MAX;
    }

    private static void pushComponents(Deque<String> comps, String path) {
        String[] parts = path.split("/");
        for (int k = parts.length - 1; k >= 0; k--) {
            if (!parts[k].isEmpty()) {
                comps.addFirst(parts[k]);
            }
        }
    }

    Directory dir(Inode i) throws IOException {
        return Directory.of(i, cache, alloc, table);
    }

    private Inode inode(long ino) throws IOException {
        return table.get(ino);
    }

    /** Looks {@code name} up in {@code dir}; null if absent (also if it vanished while being loaded). */
    Inode child(Inode dir, String name) throws IOException {
        Directory d = dir(dir);
        for (int attempt = 0; ; attempt++) {
            Directory.Slot s = d.lookup(name);
            if (s == null) {
                return null;
            }
            try {
                return inode(s.ino());
            } catch (CorruptMetadataException e) {
                Directory.Slot again = d.lookup(name);
                if (again != null && again.ino() == s.ino() || attempt > 2) {
                    throw e;
                }
            }
        }
    }

    /** Resolves a whole path, following symlinks in every component and, if {@code followLast}, the last. */
    Inode resolve(Credentials who, String path, boolean followLast) throws IOException {
        return resolve(who, null, path, followLast);
    }

    /**
     * As {@link #resolve(Credentials, String, boolean)}, a relative path starting at directory {@code base} (as
     * openat(2) with a directory descriptor): the base is found by its inode, whatever names it has now. An absolute
     * path, or a null base, starts at the root.
     */
    Inode resolve(Credentials who, Inode base, String path, boolean followLast) throws IOException {
        boolean relative = base != null && !path.isEmpty() && path.charAt(0) != '/';
        checkPath(path, relative);
        if (!relative) {
            Inode fast = resolveFast(who, path, followLast);
            if (fast != null) {
                return fast;
            }
        } else if (!base.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        Deque<String> comps = new ArrayDeque<>();
        pushComponents(comps, path);
        boolean trailing = path.length() > 1 && path.endsWith("/");
        return walk(who, relative ? base : inode(Geometry.ROOT_INO), comps, followLast, trailing, path);
    }

    /**
     * The common case without allocation beyond the names: plain components, no ".", "..", symlink or trailing
     * slash. Returns null to hand anything else (including every error) to the general walk, which then decides.
     */
    private Inode resolveFast(Credentials who, String path, boolean followLast) throws IOException {
        Inode cur = inode(Geometry.ROOT_INO);
        int n = path.length();
        int i = 1;
        while (i < n) {
            int end = path.indexOf('/', i);
            if (end < 0) {
                end = n;
            }
            if (end == i || !cur.isDirectory() || !Access.allowed(who, cur, Access.EXEC)) {
                return null;
            }
            if (path.charAt(i) == '.' && (end == i + 1 || (end == i + 2 && path.charAt(i + 1) == '.'))) {
                return null;
            }
            Inode next = child(cur, path.substring(i, end));
            if (next == null || next.isSymlink() && (end < n || followLast)) {
                return null;
            }
            cur = next;
            i = end + 1;
            if (end == n - 1) {
                return null;
            }
        }
        return cur;
    }

    private Inode walk(
            Credentials who, Inode start, Deque<String> comps, boolean followLast, boolean trailing, String path)
            throws IOException {
        Inode cur = start;
        int links = 0;
        while (!comps.isEmpty()) {
            String c = comps.pollFirst();
            if (!cur.isDirectory()) {
                throw new FsException(Errno.ENOTDIR, path);
            }
            Access.check(who, cur, Access.EXEC, path);
            if (c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                cur = inode(cur.parent);
                continue;
            }
            Inode next = child(cur, c);
            if (next == null) {
                throw new FsException(Errno.ENOENT, path);
            }
            if (next.isSymlink() && (!comps.isEmpty() || followLast || trailing)) {
                if (++links > SYMLOOP_MAX) {
                    throw new FsException(Errno.ELOOP, path);
                }
                linkProtection.checkFollow(who, cur, next, path);
                String target = readTarget(next);
                pushComponents(comps, target);
                if (target.startsWith("/")) {
                    cur = inode(Geometry.ROOT_INO);
                }
                continue;
            }
            cur = next;
        }
        if (trailing && !cur.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        return cur;
    }

    /** Resolves all but the last component; the last is returned as a name ("" for "/"). */
    Parent resolveParent(Credentials who, String path) throws IOException {
        return resolveParent(who, null, path);
    }

    /** As {@link #resolveParent(Credentials, String)}, a relative path from directory {@code base} (see resolve). */
    Parent resolveParent(Credentials who, Inode base, String path) throws IOException {
        boolean relative = base != null && !path.isEmpty() && path.charAt(0) != '/';
        checkPath(path, relative);
        if (relative && !base.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        Inode start = relative ? base : inode(Geometry.ROOT_INO);
        int end = path.length();
        while (end > 1 && path.charAt(end - 1) == '/') {
            end--;
        }
        boolean trailing = end < path.length();
        String p = path.substring(0, end);
        if (p.equals("/")) {
            return new Parent(inode(Geometry.ROOT_INO), "", trailing);
        }
        int slash = p.lastIndexOf('/');
        String name = p.substring(slash + 1);
        Deque<String> comps = new ArrayDeque<>();
        pushComponents(comps, p.substring(0, Math.max(slash, 0)));
        Inode dir = walk(who, start, comps, true, false, path);
        if (!dir.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        Access.check(who, dir, Access.EXEC, path);
        return new Parent(dir, name, trailing);
    }

    /** The target of a symlink, read from its data block. */
    String readTarget(Inode link) throws IOException {
        long size = link.size;
        if (size <= 0 || size > PATH_MAX) {
            throw new CorruptMetadataException("symlink " + link.ino + " has length " + size);
        }
        byte[] out = new byte[(int) size];
        long pblk;
        link.lock.lock();
        try {
            pblk = link.extents.map(0);
        } finally {
            link.lock.unlock();
        }
        if (pblk == 0) {
            throw new CorruptMetadataException("symlink " + link.ino + " has no data block");
        }
        Buffer b = cache.get(pblk, true);
        try {
            MemorySegment.copy(b.data(), Layout.BYTE, 0, out, 0, out.length);
        } finally {
            cache.release(b);
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
