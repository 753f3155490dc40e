package org.fsp.ipc.shm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;

/**
 * Test double of {@link FileSystemService}: a file system in the heap with real POSIX semantics for what the channel
 * tests use (paths, directories, regular files, symlinks, owners and mode bits with root's powers, handles with
 * positions). One lock for everything; it also counts open handles so that tests can see a dead client's files
 * released.
 */
public class HeapFileSystemDouble implements FileSystemService {

    private static final class Node {
        final long ino;
        int mode;
        int uid;
        int gid;
        int nlink = 1;
        byte[] data = new byte[0];
        long size;
        String target;
        final TreeMap<String, Node> children = new TreeMap<>();
        long atime;
        long mtime;
        long ctime;

        Node(long ino, int mode, int uid, int gid) {
            this.ino = ino;
            this.mode = mode;
            this.uid = uid;
            this.gid = gid;
            this.atime = this.mtime = this.ctime = System.currentTimeMillis() * 1_000_000L;
        }

        boolean isDir() {
            return FileMode.isDirectory(mode);
        }
    }

    private record Open(Node node, int flags, long[] position) {}

    private final Node root;
    private final Map<Long, Open> handles = new java.util.HashMap<>();
    private long nextIno = 2;
    private long nextHandle = 100;

    public HeapFileSystemDouble() {
        root = new Node(1, FileMode.S_IFDIR | 0777, 0, 0);
    }

    /** Handles open right now. */
    public synchronized int openHandles() {
        return handles.size();
    }

    private static boolean allowed(Node n, Credentials who, int want) {
        if (who.isRoot()) {
            return true;
        }
        int bits = who.uid() == n.uid ? n.mode >> 6 : who.inGroup(n.gid) ? n.mode >> 3 : n.mode;
        return (bits & want) == want;
    }

    private record Parent(Node dir, String name) {}

    private Parent parent(Credentials who, String path) throws FsException {
        if (path == null || !path.startsWith("/")) {
            throw new FsException(Errno.EINVAL, path);
        }
        String[] parts =
                Arrays.stream(path.split("/")).filter(p -> !p.isEmpty()).toArray(String[]::new);
        if (parts.length == 0) {
            return new Parent(null, "/");
        }
        Node dir = root;
        StringBuilder at = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            dir = step(who, dir, parts[i], 0, at.isEmpty() ? "/" : at.toString());
            at.append('/').append(parts[i]);
        }
        if (!dir.isDir()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        if (parts[parts.length - 1].getBytes(java.nio.charset.StandardCharsets.UTF_8).length > NAME_MAX) {
            throw new FsException(Errno.ENAMETOOLONG, path);
        }
        return new Parent(dir, parts[parts.length - 1]);
    }

    private Node step(Credentials who, Node dir, String name, int depth, String dirPath) throws FsException {
        if (!dir.isDir()) {
            throw new FsException(Errno.ENOTDIR, name);
        }
        if (!allowed(dir, who, 1)) {
            throw new FsException(Errno.EACCES, name);
        }
        Node n = dir.children.get(name);
        if (n == null) {
            throw new FsException(Errno.ENOENT, name);
        }
        return follow(who, n, depth, dirPath);
    }

    /** Follows {@code n} if it is a symlink; a relative target is taken from {@code dirPath}, the link's directory. */
    private Node follow(Credentials who, Node n, int depth, String dirPath) throws FsException {
        if (!FileMode.isSymlink(n.mode)) {
            return n;
        }
        if (depth > 40) {
            throw new FsException(Errno.ELOOP, n.target);
        }
        String target = n.target.startsWith("/") ? n.target : (dirPath.equals("/") ? "" : dirPath) + "/" + n.target;
        return lookup(who, target, true, depth + 1);
    }

    private Node lookup(Credentials who, String path, boolean followLast, int depth) throws FsException {
        Parent p = parent(who, path);
        if (p.dir == null) {
            return root;
        }
        if (!allowed(p.dir, who, 1)) {
            throw new FsException(Errno.EACCES, path);
        }
        Node n = p.dir.children.get(p.name);
        if (n == null) {
            throw new FsException(Errno.ENOENT, path);
        }
        String dirPath =
                path.substring(0, Math.max(1, path.replaceAll("/+$", "").lastIndexOf('/')));
        return followLast ? follow(who, n, depth, dirPath) : n;
    }

    private Open handle(long h) throws FsException {
        Open o = handles.get(h);
        if (o == null) {
            throw new FsException(Errno.EBADF, "handle " + h);
        }
        return o;
    }

    private static FileAttributes attrs(Node n) {
        long size = n.isDir() ? 4096 : FileMode.isSymlink(n.mode) ? n.target.length() : n.size;
        return new FileAttributes(
                n.ino, n.mode, n.nlink, n.uid, n.gid, size, (size + 511) / 512, 4096, n.atime, n.mtime, n.ctime);
    }

    @Override
    public synchronized FileAttributes stat(Credentials who, String path) throws FsException {
        return attrs(lookup(who, path, true, 0));
    }

    @Override
    public synchronized FileAttributes lstat(Credentials who, String path) throws FsException {
        return attrs(lookup(who, path, false, 0));
    }

    @Override
    public synchronized FileAttributes fstat(Credentials who, long handle) throws FsException {
        return attrs(handle(handle).node);
    }

    @Override
    public synchronized long open(Credentials who, String path, int flags, int mode) throws FsException {
        if ((flags & ~OpenFlags.SUPPORTED) != 0) {
            throw new FsException(Errno.EINVAL, path);
        }
        Parent p = parent(who, path);
        Node n = p.dir == null ? root : p.dir.children.get(p.name);
        if (p.dir != null && !allowed(p.dir, who, 1)) {
            throw new FsException(Errno.EACCES, path);
        }
        if (n != null && (flags & OpenFlags.O_CREAT) != 0 && (flags & OpenFlags.O_EXCL) != 0) {
            throw new FsException(Errno.EEXIST, path);
        }
        if (n != null && FileMode.isSymlink(n.mode)) {
            if ((flags & OpenFlags.O_NOFOLLOW) != 0) {
                throw new FsException(Errno.ELOOP, path);
            }
            n = follow(who, n, 0, path.substring(0, Math.max(1, path.lastIndexOf('/'))));
        }
        if (n == null) {
            if ((flags & OpenFlags.O_CREAT) == 0) {
                throw new FsException(Errno.ENOENT, path);
            }
            if (!allowed(p.dir, who, 3)) {
                throw new FsException(Errno.EACCES, path);
            }
            n = new Node(nextIno++, FileMode.S_IFREG | (mode & 07777), who.uid(), who.gid());
            p.dir.children.put(p.name, n);
        } else {
            int want = (OpenFlags.canRead(flags) ? 4 : 0) | (OpenFlags.canWrite(flags) ? 2 : 0);
            if (!allowed(n, who, want)) {
                throw new FsException(Errno.EACCES, path);
            }
        }
        if (n.isDir() && OpenFlags.canWrite(flags)) {
            throw new FsException(Errno.EISDIR, path);
        }
        if (!n.isDir() && (flags & OpenFlags.O_DIRECTORY) != 0) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        if ((flags & OpenFlags.O_TRUNC) != 0 && OpenFlags.canWrite(flags)) {
            n.size = 0;
            n.data = new byte[0];
        }
        long h = nextHandle++;
        handles.put(h, new Open(n, flags, new long[1]));
        return h;
    }

    @Override
    public synchronized int read(Credentials who, long handle, MemorySegment dst) throws FsException {
        Open o = handle(handle);
        int n = pread(who, handle, o.position[0], dst);
        o.position[0] += n;
        return n;
    }

    @Override
    public synchronized int pread(Credentials who, long handle, long offset, MemorySegment dst) throws FsException {
        Open o = handle(handle);
        if (!OpenFlags.canRead(o.flags)) {
            throw new FsException(Errno.EBADF, "not open for reading");
        }
        if (o.node.isDir()) {
            throw new FsException(Errno.EISDIR, "directory");
        }
        if (offset >= o.node.size) {
            return 0;
        }
        int n = (int) Math.min(dst.byteSize(), o.node.size - offset);
        MemorySegment.copy(o.node.data, (int) offset, dst, ValueLayout.JAVA_BYTE, 0, n);
        return n;
    }

    @Override
    public synchronized int write(Credentials who, long handle, MemorySegment src) throws FsException {
        Open o = handle(handle);
        long at = (o.flags & OpenFlags.O_APPEND) != 0 ? o.node.size : o.position[0];
        int n = pwrite(who, handle, at, src);
        o.position[0] = at + n;
        return n;
    }

    @Override
    public synchronized int pwrite(Credentials who, long handle, long offset, MemorySegment src) throws FsException {
        Open o = handle(handle);
        if (!OpenFlags.canWrite(o.flags)) {
            throw new FsException(Errno.EBADF, "not open for writing");
        }
        if ((o.flags & OpenFlags.O_APPEND) != 0) {
            offset = o.node.size; // as Linux: pwrite on an O_APPEND file appends
        }
        long end = offset + src.byteSize();
        if (end > Integer.MAX_VALUE - 8) {
            throw new FsException(Errno.EFBIG, "offset " + offset);
        }
        Node n = o.node;
        if (end > n.data.length) {
            n.data = Arrays.copyOf(n.data, (int) Math.max(end, Math.min(Integer.MAX_VALUE - 8, n.data.length * 2L)));
        }
        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, 0, n.data, (int) offset, (int) src.byteSize());
        n.size = Math.max(n.size, end);
        n.mtime = System.currentTimeMillis() * 1_000_000L;
        return (int) src.byteSize();
    }

    @Override
    public synchronized void truncate(Credentials who, String path, long size) throws FsException {
        Node n = lookup(who, path, true, 0);
        if (!allowed(n, who, 2)) {
            throw new FsException(Errno.EACCES, path);
        }
        resize(n, size);
    }

    private static void resize(Node n, long size) throws FsException {
        if (size < 0) {
            throw new FsException(Errno.EINVAL, "negative size");
        }
        if (n.isDir()) {
            throw new FsException(Errno.EISDIR, "directory");
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new FsException(Errno.EFBIG, "size " + size);
        }
        n.data = Arrays.copyOf(n.data, (int) size);
        n.size = size;
    }

    @Override
    public synchronized void ftruncate(Credentials who, long handle, long size) throws FsException {
        Open o = handle(handle);
        if (!OpenFlags.canWrite(o.flags)) {
            throw new FsException(Errno.EINVAL, "not open for writing");
        }
        resize(o.node, size);
    }

    @Override
    public synchronized void fsync(Credentials who, long handle) throws FsException {
        handle(handle);
    }

    @Override
    public synchronized void fdatasync(Credentials who, long handle) throws FsException {
        handle(handle);
    }

    @Override
    public synchronized void close(Credentials who, long handle) throws FsException {
        if (handles.remove(handle) == null) {
            throw new FsException(Errno.EBADF, "handle " + handle);
        }
    }

    private Parent writableParent(Credentials who, String path) throws FsException {
        Parent p = parent(who, path);
        if (p.dir == null) {
            throw new FsException(Errno.EBUSY, path);
        }
        if (!allowed(p.dir, who, 3)) {
            throw new FsException(Errno.EACCES, path);
        }
        return p;
    }

    @Override
    public synchronized void mkdir(Credentials who, String path, int mode) throws FsException {
        Parent p = writableParent(who, path);
        if (p.dir.children.containsKey(p.name)) {
            throw new FsException(Errno.EEXIST, path);
        }
        Node d = new Node(nextIno++, FileMode.S_IFDIR | (mode & 07777), who.uid(), who.gid());
        d.nlink = 2;
        p.dir.children.put(p.name, d);
    }

    @Override
    public synchronized void rmdir(Credentials who, String path) throws FsException {
        Parent p = writableParent(who, path);
        Node n = p.dir.children.get(p.name);
        if (n == null) {
            throw new FsException(Errno.ENOENT, path);
        }
        if (!n.isDir()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        if (!n.children.isEmpty()) {
            throw new FsException(Errno.ENOTEMPTY, path);
        }
        p.dir.children.remove(p.name);
    }

    @Override
    public synchronized void unlink(Credentials who, String path) throws FsException {
        Parent p = writableParent(who, path);
        Node n = p.dir.children.get(p.name);
        if (n == null) {
            throw new FsException(Errno.ENOENT, path);
        }
        if (n.isDir()) {
            throw new FsException(Errno.EISDIR, path);
        }
        p.dir.children.remove(p.name);
        n.nlink--;
    }

    @Override
    public synchronized void rename(Credentials who, String from, String to) throws FsException {
        Parent a = writableParent(who, from);
        Parent b = writableParent(who, to);
        Node n = a.dir.children.get(a.name);
        if (n == null) {
            throw new FsException(Errno.ENOENT, from);
        }
        if (n.isDir() && (to + "/").startsWith(from.replaceAll("/+$", "") + "/")) {
            throw new FsException(Errno.EINVAL, from + " -> " + to);
        }
        Node old = b.dir.children.get(b.name);
        if (old != null && old.isDir() && !old.children.isEmpty()) {
            throw new FsException(Errno.ENOTEMPTY, to);
        }
        if (old != null && old.isDir() != n.isDir()) {
            throw new FsException(n.isDir() ? Errno.ENOTDIR : Errno.EISDIR, to);
        }
        a.dir.children.remove(a.name);
        b.dir.children.put(b.name, n);
    }

    /** Only NOREPLACE; RENAME_EXCHANGE is fs-core's (ENOSYS here, so that a test cannot mistake the double for it). */
    @Override
    public synchronized void rename(Credentials who, String from, String to, int flags) throws FsException {
        if (flags == RENAME_NOREPLACE) {
            Parent b = writableParent(who, to);
            if (b.dir.children.containsKey(b.name)) {
                throw new FsException(Errno.EEXIST, to);
            }
        } else if (flags != 0) {
            throw new FsException(Errno.ENOSYS, "rename flags " + flags + " in the heap double");
        }
        rename(who, from, to);
    }

    /** Existence only: the double's permission model is root-or-owner, not access(2)'s. */
    @Override
    public synchronized void access(Credentials who, String path, int mode) throws FsException {
        lookup(who, path, true, 0);
    }

    @Override
    public synchronized void fchmod(Credentials who, long handle, int mode) throws FsException {
        Node n = handle(handle).node();
        if (!who.isRoot() && who.uid() != n.uid) {
            throw new FsException(Errno.EPERM, "handle " + handle);
        }
        n.mode = (n.mode & FileMode.S_IFMT) | (mode & 07777);
    }

    @Override
    public synchronized void fchown(Credentials who, long handle, int uid, int gid) throws FsException {
        Node n = handle(handle).node();
        if (!who.isRoot()) {
            throw new FsException(Errno.EPERM, "handle " + handle);
        }
        if (uid != ID_UNCHANGED) {
            n.uid = uid;
        }
        if (gid != ID_UNCHANGED) {
            n.gid = gid;
        }
    }

    @Override
    public synchronized void futimens(Credentials who, long handle, long atimeNanos, long mtimeNanos)
            throws FsException {
        Node n = handle(handle).node();
        if (atimeNanos != UTIME_OMIT) {
            n.atime = atimeNanos;
        }
        if (mtimeNanos != UTIME_OMIT) {
            n.mtime = mtimeNanos;
        }
    }

    /** Byte-range locks are fs-core's; the double has none. */
    @Override
    public synchronized void setlk(Credentials who, long handle, int type, long start, long length) throws FsException {
        handle(handle);
        throw new FsException(Errno.ENOSYS, "locks in the heap double");
    }

    @Override
    public synchronized void link(Credentials who, String existing, String newPath) throws FsException {
        Node n = lookup(who, existing, false, 0);
        if (n.isDir()) {
            throw new FsException(Errno.EPERM, existing);
        }
        Parent p = writableParent(who, newPath);
        if (p.dir.children.containsKey(p.name)) {
            throw new FsException(Errno.EEXIST, newPath);
        }
        p.dir.children.put(p.name, n);
        n.nlink++;
    }

    @Override
    public synchronized void symlink(Credentials who, String target, String linkPath) throws FsException {
        Parent p = writableParent(who, linkPath);
        if (p.dir.children.containsKey(p.name)) {
            throw new FsException(Errno.EEXIST, linkPath);
        }
        Node n = new Node(nextIno++, FileMode.S_IFLNK | 0777, who.uid(), who.gid());
        n.target = target;
        p.dir.children.put(p.name, n);
    }

    @Override
    public synchronized String readlink(Credentials who, String path) throws FsException {
        Node n = lookup(who, path, false, 0);
        if (!FileMode.isSymlink(n.mode)) {
            throw new FsException(Errno.EINVAL, path);
        }
        return n.target;
    }

    @Override
    public synchronized void chmod(Credentials who, String path, int mode) throws FsException {
        Node n = lookup(who, path, true, 0);
        if (!who.isRoot() && who.uid() != n.uid) {
            throw new FsException(Errno.EPERM, path);
        }
        n.mode = (n.mode & FileMode.S_IFMT) | (mode & 07777);
    }

    @Override
    public synchronized void chown(Credentials who, String path, int uid, int gid) throws FsException {
        Node n = lookup(who, path, true, 0);
        if (!who.isRoot()) {
            throw new FsException(Errno.EPERM, path);
        }
        if (uid != ID_UNCHANGED) {
            n.uid = uid;
        }
        if (gid != ID_UNCHANGED) {
            n.gid = gid;
        }
    }

    @Override
    public synchronized void utimens(Credentials who, String path, long atimeNanos, long mtimeNanos)
            throws FsException {
        Node n = lookup(who, path, true, 0);
        long now = System.currentTimeMillis() * 1_000_000L;
        if (atimeNanos != UTIME_OMIT) {
            n.atime = atimeNanos == UTIME_NOW ? now : atimeNanos;
        }
        if (mtimeNanos != UTIME_OMIT) {
            n.mtime = mtimeNanos == UTIME_NOW ? now : mtimeNanos;
        }
    }

    @Override
    public synchronized List<DirEntry> readdir(Credentials who, String path, long cookie, int max) throws FsException {
        Node d = lookup(who, path, true, 0);
        if (!d.isDir()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        if (!allowed(d, who, 4)) {
            throw new FsException(Errno.EACCES, path);
        }
        List<DirEntry> out = new ArrayList<>();
        long index = 0;
        for (Map.Entry<String, Node> e : d.children.entrySet()) {
            index++;
            if (index <= cookie) {
                continue;
            }
            if (out.size() == max) {
                break;
            }
            out.add(new DirEntry(e.getKey(), e.getValue().ino, e.getValue().mode & FileMode.S_IFMT, index));
        }
        return out;
    }

    @Override
    public synchronized FsStats statfs(Credentials who) {
        return new FsStats(4096, 1 << 20, 1 << 19, 1 << 16, (1 << 16) - nextIno, NAME_MAX);
    }

    @Override
    public void sync() {}
}
