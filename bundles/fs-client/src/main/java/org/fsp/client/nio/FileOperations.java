package org.fsp.client.nio;

import static org.fsp.api.fs.FileSystemService.*;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessMode;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.OpenOption;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;

/**
 * The {@code Files} operations of one FSP file system, on absolute FSP path strings, each mapped onto FS Lib calls with
 * the semantics of the platform's Unix provider (which options mean what, which exception for which case). Both
 * providers use it: {@link FspFileSystemProvider} with an {@link FspPath}'s string, the default-provider mode with the
 * part of a path under its prefix. Paths that come back (links, real paths) are strings for the caller to wrap.
 */
final class FileOperations {

    /** Bytes copied per request by {@link #copy}: one slot's worth at a time is what the channel moves anyway. */
    private static final int COPY_CHUNK = 1 << 20;

    private static final int SYMLOOP_MAX = 40;

    final FspClient client;
    final LockRegistry locks = new LockRegistry();
    /** Whether the server lists a directory handle (READDIRAT): 0 not known yet, 1 yes, -1 no (an older server). */
    volatile int handleReaddir;

    private final int umask;

    FileOperations(FspClient client, int umask) {
        this.client = client;
        this.umask = umask;
    }

    static boolean followLinks(LinkOption... options) {
        for (LinkOption o : options) {
            if (o == LinkOption.NOFOLLOW_LINKS) {
                return false;
            }
        }
        return true;
    }

    static boolean followLinks(Set<? extends OpenOption> options) {
        return !options.contains(LinkOption.NOFOLLOW_LINKS);
    }

    /** Permission bits from a {@code posix:permissions} attribute, else {@code defaults} less the umask. */
    int modeFrom(FileAttribute<?>[] attrs, int defaults) {
        int mode = defaults & ~umask;
        for (FileAttribute<?> a : attrs) {
            if (a.name().equals("posix:permissions") || a.name().equals("unix:permissions")) {
                @SuppressWarnings("unchecked")
                Set<PosixFilePermission> perms = (Set<PosixFilePermission>) a.value();
                mode = Attributes.toMode(perms) & ~umask;
            } else {
                throw new UnsupportedOperationException("'" + a.name() + "' not supported as initial attribute");
            }
        }
        return mode;
    }

    // ------------------------------------------------------------------------------------------------------------
    // channels

    FspFileChannel newFileChannel(String path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return newFileChannel(0, path, path, options, attrs);
    }

    /**
     * {@link #newFileChannel(String, Set, FileAttribute[])} of {@code name} relative to directory handle {@code dir}
     * (0: {@code name} is an absolute path); {@code path} is the file's absolute path as the caller knows it, for
     * messages and for write-back handles of mappings.
     */
    FspFileChannel newFileChannel(
            long dir, String name, String path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        boolean read = options.contains(StandardOpenOption.READ);
        boolean write = options.contains(StandardOpenOption.WRITE);
        boolean append = options.contains(StandardOpenOption.APPEND);
        for (OpenOption o : options) {
            if (!(o instanceof StandardOpenOption) && o != LinkOption.NOFOLLOW_LINKS) {
                throw new UnsupportedOperationException("open option " + o);
            }
        }
        if (append) {
            if (read) {
                throw new IllegalArgumentException("READ + APPEND not allowed");
            }
            if (options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
                throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
            }
            write = true;
        }
        if (!read && !write) {
            read = true;
        }
        int flags = read && write ? OpenFlags.O_RDWR : write ? OpenFlags.O_WRONLY : OpenFlags.O_RDONLY;
        if (write) {
            if (options.contains(StandardOpenOption.CREATE_NEW)) {
                flags |= OpenFlags.O_CREAT | OpenFlags.O_EXCL;
            } else if (options.contains(StandardOpenOption.CREATE)) {
                flags |= OpenFlags.O_CREAT;
            }
            if (options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
                flags |= OpenFlags.O_TRUNC;
            }
            if (append) {
                flags |= OpenFlags.O_APPEND;
            }
        }
        if (!followLinks(options) || (flags & OpenFlags.O_EXCL) != 0) {
            flags |= OpenFlags.O_NOFOLLOW;
        }
        int mode = modeFrom(attrs, 0666);
        int sync = options.contains(StandardOpenOption.SYNC)
                ? FspFileChannel.SYNC_ALL
                : options.contains(StandardOpenOption.DSYNC) ? FspFileChannel.SYNC_DATA : FspFileChannel.SYNC_NONE;
        long handle = dir == 0
                ? client.open(name, flags | OpenFlags.O_CLOEXEC, mode)
                : client.openat(dir, name, flags | OpenFlags.O_CLOEXEC, mode);
        if (options.contains(StandardOpenOption.DELETE_ON_CLOSE)) {
            // As the platform provider on Linux: unlink right away; fs-core frees the file when the handle closes,
            // and a crash leaves nothing behind.
            try {
                if (dir == 0) {
                    client.unlink(name);
                } else {
                    client.unlinkat(dir, name, 0);
                }
            } catch (IOException e) {
                client.close(handle);
                throw e;
            }
        }
        return new FspFileChannel(this, handle, path, read, write, append, sync);
    }

    // ------------------------------------------------------------------------------------------------------------
    // directories, links, deletion

    void createDirectory(String path, FileAttribute<?>... attrs) throws IOException {
        client.mkdir(path, modeFrom(attrs, 0777));
    }

    /** The names in a directory, read in batches as the iteration asks for them. */
    List<DirEntry> readdir(String dir, long cookie, int max) throws IOException {
        return client.readdir(dir, cookie, max);
    }

    /** Checks that {@code dir} is a directory one can list, as opendir does (NotDirectoryException otherwise). */
    void checkDirectory(String dir) throws IOException {
        client.readdir(dir, 0, 1);
    }

    void delete(String path) throws IOException {
        FileAttributes a = client.lstat(path);
        try {
            if (a.isDirectory()) {
                client.rmdir(path);
            } else {
                client.unlink(path);
            }
        } catch (FileSystemException e) {
            if (e instanceof FspException f && f.errno() == org.fsp.api.fs.Errno.EEXIST) {
                throw new DirectoryNotEmptyException(path);
            }
            throw e;
        }
    }

    void createSymbolicLink(String link, String target, FileAttribute<?>... attrs) throws IOException {
        if (attrs.length > 0) {
            throw new UnsupportedOperationException("initial attributes of a symbolic link");
        }
        client.symlink(target, link);
    }

    void createLink(String link, String existing) throws IOException {
        client.link(existing, link);
    }

    String readSymbolicLink(String link) throws IOException {
        try {
            return client.readlink(link);
        } catch (FileSystemException e) {
            if (e instanceof FspException f && f.errno() == org.fsp.api.fs.Errno.EINVAL) {
                throw new NotLinkException(link);
            }
            throw e;
        }
    }

    /**
     * The absolute path without ".", ".." or symlinks (each component checked with lstat, links read and followed
     * up to 40 times, as realpath(3)); with {@code follow} false only made absolute and normalized, and checked to
     * exist.
     */
    String realPath(String path, boolean follow) throws IOException {
        if (!follow) {
            String n = lexical(List.of(), path);
            client.lstat(n);
            return n;
        }
        List<String> done = new ArrayList<>();
        List<String> todo = new ArrayList<>(List.of(path.split("/")));
        int links = 0;
        while (!todo.isEmpty()) {
            String name = todo.removeFirst();
            if (name.isEmpty() || name.equals(".")) {
                continue;
            }
            if (name.equals("..")) {
                if (!done.isEmpty()) {
                    done.removeLast();
                }
                continue;
            }
            done.add(name);
            String here = "/" + String.join("/", done);
            FileAttributes a = client.lstat(here);
            if (a.isSymbolicLink()) {
                if (++links > SYMLOOP_MAX) {
                    throw new java.nio.file.FileSystemLoopException(path);
                }
                String target = client.readlink(here);
                done.removeLast();
                if (target.startsWith("/")) {
                    done.clear();
                }
                todo.addAll(0, List.of(target.split("/")));
            }
        }
        return "/" + String.join("/", done);
    }

    private static String lexical(List<String> base, String path) {
        List<String> out = new ArrayList<>(base);
        for (String n : path.split("/")) {
            if (n.isEmpty() || n.equals(".")) {
                continue;
            }
            if (n.equals("..")) {
                if (!out.isEmpty()) {
                    out.removeLast();
                }
            } else {
                out.add(n);
            }
        }
        return "/" + String.join("/", out);
    }

    // ------------------------------------------------------------------------------------------------------------
    // copy and move

    void copy(String source, String target, CopyOption... options) throws IOException {
        boolean replace = false;
        boolean copyAttributes = false;
        boolean follow = true;
        for (CopyOption o : options) {
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (o == StandardCopyOption.COPY_ATTRIBUTES) {
                copyAttributes = true;
            } else if (o == LinkOption.NOFOLLOW_LINKS) {
                follow = false;
            } else if (o == StandardCopyOption.ATOMIC_MOVE) {
                throw new UnsupportedOperationException("ATOMIC_MOVE is an option of move, not copy");
            } else {
                throw new UnsupportedOperationException("copy option " + o);
            }
        }
        FileAttributes src = follow ? client.stat(source) : client.lstat(source);
        FileAttributes dst = lstatOrNull(target);
        if (dst != null) {
            if (dst.ino() == src.ino()) {
                return;
            }
            if (!replace) {
                throw new FileAlreadyExistsException(target);
            }
            delete(target);
        }
        if (src.isDirectory()) {
            client.mkdir(target, src.mode() & 07777);
        } else if (src.isSymbolicLink()) {
            client.symlink(client.readlink(source), target);
            return;
        } else {
            copyData(source, target, src);
        }
        if (copyAttributes) {
            long h = client.open(target, OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW, 0);
            try {
                client.fchmod(h, src.mode() & 07777);
                try {
                    client.fchown(h, src.uid(), src.gid());
                } catch (java.nio.file.AccessDeniedException ignored) {
                    // As the platform provider: owner and group are copied when the caller may, else left.
                }
                client.futimens(h, src.atimeNanos(), src.mtimeNanos());
            } finally {
                client.close(h);
            }
        }
    }

    private void copyData(String source, String target, FileAttributes src) throws IOException {
        long in = client.open(source, OpenFlags.O_RDONLY, 0);
        try {
            long out =
                    client.open(target, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_EXCL, src.mode() & 07777);
            try {
                byte[] buf = new byte[COPY_CHUNK];
                long pos = 0;
                int n;
                while ((n = client.pread(in, pos, buf, 0, buf.length)) > 0) {
                    int w = client.pwrite(out, pos, buf, 0, n);
                    if (w != n) {
                        throw new FileSystemException(target, null, "short write while copying");
                    }
                    pos += n;
                }
            } finally {
                client.close(out);
            }
        } finally {
            client.close(in);
        }
    }

    void move(String source, String target, CopyOption... options) throws IOException {
        boolean replace = false;
        boolean atomic = false;
        for (CopyOption o : options) {
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (o == StandardCopyOption.ATOMIC_MOVE) {
                atomic = true;
            } else if (o != StandardCopyOption.COPY_ATTRIBUTES && o != LinkOption.NOFOLLOW_LINKS) {
                throw new UnsupportedOperationException("move option " + o);
            }
        }
        if (atomic) {
            // rename(2): replaces a file or an empty directory of the same kind, in one step.
            try {
                client.rename(source, target);
            } catch (FileSystemException e) {
                if (e instanceof FspException f && f.errno() == org.fsp.api.fs.Errno.EXDEV) {
                    throw new AtomicMoveNotSupportedException(source, target, e.getReason());
                }
                throw e;
            }
            return;
        }
        FileAttributes src = client.lstat(source);
        FileAttributes dst = lstatOrNull(target);
        if (dst != null) {
            if (dst.ino() == src.ino()) {
                return;
            }
            if (!replace) {
                throw new FileAlreadyExistsException(target);
            }
            if (dst.isDirectory() != src.isDirectory()) {
                delete(target);
            }
            client.rename(source, target);
            return;
        }
        try {
            client.rename(source, target, RENAME_NOREPLACE);
        } catch (FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(target);
        }
    }

    private FileAttributes lstatOrNull(String path) throws IOException {
        try {
            return client.lstat(path);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // access and attributes

    boolean isSameFile(String a, String b) throws IOException {
        return a.equals(b) || client.stat(a).ino() == client.stat(b).ino();
    }

    void checkAccess(String path, AccessMode... modes) throws IOException {
        int mode = F_OK;
        for (AccessMode m : modes) {
            mode |= switch (m) {
                case READ -> R_OK;
                case WRITE -> W_OK;
                case EXECUTE -> X_OK;
            };
        }
        client.access(path, mode);
    }

    FileAttributes stat(String path, boolean follow) throws IOException {
        return follow ? client.stat(path) : client.lstat(path);
    }

    void chmod(String path, int mode) throws IOException {
        client.chmod(path, mode);
    }

    void chown(String path, int uid, int gid) throws IOException {
        client.chown(path, uid, gid);
    }

    /** Sets times (null leaves one unchanged), as the platform's setTimes; creation time cannot be set on Linux. */
    void setTimes(String path, FileTime modified, FileTime access) throws IOException {
        if (modified == null && access == null) {
            return;
        }
        client.utimens(path, nanos(access), nanos(modified));
    }

    private static long nanos(FileTime t) {
        return t == null ? UTIME_OMIT : Math.max(0, t.to(TimeUnit.NANOSECONDS));
    }

    /** A FileChannel for {@code newByteChannel}: FileChannel is a SeekableByteChannel. */
    FileChannel newByteChannel(String path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return newFileChannel(path, options, attrs);
    }
}
