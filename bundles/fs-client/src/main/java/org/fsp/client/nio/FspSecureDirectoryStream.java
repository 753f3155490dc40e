package org.fsp.client.nio;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.ClosedDirectoryStreamException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;

/**
 * A directory stream on a directory handle, as the platform's UnixSecureDirectoryStream is on a directory descriptor:
 * the listing and every operation relative to it (open, delete, move, attribute views) go to the directory that was
 * opened, by the *at calls, even after that directory is renamed or its path is replaced by another. Entries are the
 * path given to {@code newDirectoryStream} resolved with each name, as the platform's. Closing releases the handle;
 * after that every operation throws {@link ClosedDirectoryStreamException}. Operations hold a read lock that close
 * waits for, so the handle is never closed under one.
 *
 * <p>Paths given to the operations are relative to the directory, or absolute (then the directory plays no part, as
 * with openat); {@link Names} turns them into the strings FSP resolves.
 */
final class FspSecureDirectoryStream implements SecureDirectoryStream<Path> {

    /** The FSP path string of a path given to an operation: its relative text, or its absolute FSP path. */
    @FunctionalInterface
    interface Names {
        String of(Path p);
    }

    private final FileOperations ops;
    private final FspClient client;
    private final long handle;
    private final Path dir;
    /** The directory's absolute FSP path when opened: only for messages and mappings' write-back handles. */
    private final String fspDir;

    private final Names names;
    private final long dev;
    private final Principals principals;
    private final FspDirectoryStream listing;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    private FspSecureDirectoryStream(
            FileOperations ops,
            long handle,
            Path dir,
            String fspDir,
            Names names,
            Filter<? super Path> filter,
            long dev,
            Principals principals) {
        this.ops = ops;
        this.client = ops.client;
        this.handle = handle;
        this.dir = dir;
        this.fspDir = fspDir;
        this.names = names;
        this.dev = dev;
        this.principals = principals;
        this.listing = new FspDirectoryStream(this::readdir, dir::resolve, filter);
    }

    /**
     * Opens the directory at absolute FSP path {@code fspDir} (a final symlink followed) for a secure stream whose
     * entries are {@code dir} resolved with each name; null if the server lacks the *at calls, for the caller to fall
     * back to a stream by path. Like opendir, the open checks that one may list the directory; the names are read
     * as the iteration asks for them.
     */
    static FspSecureDirectoryStream open(
            FileOperations ops,
            String fspDir,
            Path dir,
            Names names,
            Filter<? super Path> filter,
            long dev,
            Principals principals)
            throws IOException {
        if (ops.handleReaddir < 0) {
            return null;
        }
        long h = ops.client.open(fspDir, OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC, 0);
        return withHandle(ops, h, fspDir, dir, names, filter, dev, principals);
    }

    private static FspSecureDirectoryStream withHandle(
            FileOperations ops,
            long h,
            String fspDir,
            Path dir,
            Names names,
            Filter<? super Path> filter,
            long dev,
            Principals principals)
            throws IOException {
        if (ops.handleReaddir == 0) {
            // Once per connection: a server older than the *at opcodes answers ENOSYS.
            try {
                ops.client.readdir(h, 0, 1);
                ops.handleReaddir = 1;
            } catch (IOException | RuntimeException e) {
                ops.client.close(h);
                if (e instanceof FspException f && (f.errno() == Errno.ENOSYS || f.errno() == Errno.EOPNOTSUPP)) {
                    ops.handleReaddir = -1;
                    return null;
                }
                throw e;
            }
        }
        return new FspSecureDirectoryStream(ops, h, dir, fspDir, names, filter, dev, principals);
    }

    private List<DirEntry> readdir(long cookie, int max) throws IOException {
        lock.readLock().lock();
        try {
            if (closed) {
                // The iterator ends once the stream is closed; FspDirectoryStream checks before asking.
                return List.of();
            }
            return client.readdir(handle, cookie, max);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Iterator<Path> iterator() {
        return listing.iterator();
    }

    @Override
    public void close() throws IOException {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            listing.close();
            client.close(handle);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @FunctionalInterface
    private interface IoCall<T> {
        T call() throws IOException;
    }

    /** Runs {@code call} with the handle held open; ClosedDirectoryStreamException once closed. */
    private <T> T open(IoCall<T> call) throws IOException {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new ClosedDirectoryStreamException();
            }
            return call.call();
        } finally {
            lock.readLock().unlock();
        }
    }

    private String name(Path p) {
        if (p == null) {
            throw new NullPointerException();
        }
        return names.of(p);
    }

    private String absolute(String name) {
        if (name.startsWith("/")) {
            return name;
        }
        return fspDir.equals("/") ? "/" + name : fspDir + "/" + name;
    }

    @Override
    public SecureDirectoryStream<Path> newDirectoryStream(Path path, LinkOption... options) throws IOException {
        String name = name(path);
        int flags = OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC;
        if (!FileOperations.followLinks(options)) {
            flags |= OpenFlags.O_NOFOLLOW;
        }
        int f = flags;
        return open(() -> {
            long h = client.openat(handle, name, f, 0);
            FspSecureDirectoryStream s =
                    withHandle(ops, h, absolute(name), dir.resolve(path), names, null, dev, principals);
            if (s == null) {
                throw new FileSystemException(name, null, "the FSP server has no readdir of a handle");
            }
            return s;
        });
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        String name = name(path);
        return open(() -> ops.newFileChannel(handle, name, absolute(name), options, attrs));
    }

    @Override
    public void deleteFile(Path path) throws IOException {
        String name = name(path);
        open(() -> {
            client.unlinkat(handle, name, 0);
            return null;
        });
    }

    @Override
    public void deleteDirectory(Path path) throws IOException {
        String name = name(path);
        open(() -> {
            try {
                client.unlinkat(handle, name, FileSystemService.AT_REMOVEDIR);
            } catch (FileSystemException e) {
                if (e instanceof FspException f && f.errno() == Errno.EEXIST) {
                    throw new DirectoryNotEmptyException(name);
                }
                throw e;
            }
            return null;
        });
    }

    /** As the platform's: renameat from this directory to {@code targetdir}, replacing what is there. */
    @Override
    public void move(Path srcpath, SecureDirectoryStream<Path> targetdir, Path targetpath) throws IOException {
        String from = name(srcpath);
        String to = name(targetpath);
        if (!(targetdir instanceof FspSecureDirectoryStream target) || target.client != client) {
            throw new ProviderMismatchException("target directory is not a stream of the same FSP file system");
        }
        open(() -> target.open(() -> {
            try {
                client.renameat(handle, from, target.handle, to, 0);
            } catch (FileSystemException e) {
                if (e instanceof FspException f && f.errno() == Errno.EXDEV) {
                    throw new AtomicMoveNotSupportedException(from, to, e.getReason());
                }
                throw e;
            }
            return null;
        }));
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Class<V> type) {
        return view(type, null, true);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        return view(type, name(path), FileOperations.followLinks(options));
    }

    private <V extends FileAttributeView> V view(Class<V> type, String file, boolean follow) {
        String viewName;
        if (type == BasicFileAttributeView.class) {
            viewName = "basic";
        } else if (type == PosixFileAttributeView.class) {
            viewName = "posix";
        } else if (type == FileOwnerAttributeView.class) {
            viewName = "owner";
        } else {
            return null;
        }
        return type.cast(new View(viewName, file, follow));
    }

    /**
     * The basic, posix and owner views of the directory itself ({@code file} null: through its handle) or of an entry
     * (read with fstatat; changed through a handle of its own, opened read-only without following a final symlink
     * when so asked, as the platform's).
     */
    private final class View implements PosixFileAttributeView {
        private final String viewName;
        private final String file;
        private final boolean follow;

        View(String viewName, String file, boolean follow) {
            this.viewName = viewName;
            this.file = file;
            this.follow = follow;
        }

        @Override
        public String name() {
            return viewName;
        }

        @Override
        public Attributes.Posix readAttributes() throws IOException {
            FileAttributes a = open(() -> file == null ? client.fstat(handle) : client.fstatat(handle, file, follow));
            return new Attributes.Posix(a, dev, principals);
        }

        private interface OnHandle {
            void run(long h) throws IOException;
        }

        private void onHandle(OnHandle action) throws IOException {
            open(() -> {
                if (file == null) {
                    action.run(handle);
                    return null;
                }
                int flags = OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC | (follow ? 0 : OpenFlags.O_NOFOLLOW);
                long h = client.openat(handle, file, flags, 0);
                try {
                    action.run(h);
                } finally {
                    client.close(h);
                }
                return null;
            });
        }

        @Override
        public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime)
                throws IOException {
            if (lastModifiedTime == null && lastAccessTime == null) {
                return;
            }
            onHandle(h -> client.futimens(h, nanos(lastAccessTime), nanos(lastModifiedTime)));
        }

        @Override
        public void setPermissions(Set<PosixFilePermission> perms) throws IOException {
            int mode = Attributes.toMode(perms);
            onHandle(h -> client.fchmod(h, mode));
        }

        @Override
        public UserPrincipal getOwner() throws IOException {
            return readAttributes().owner();
        }

        @Override
        public void setOwner(UserPrincipal owner) throws IOException {
            int uid = principals.uidOf(owner);
            onHandle(h -> client.fchown(h, uid, -1));
        }

        @Override
        public void setGroup(GroupPrincipal group) throws IOException {
            int gid = principals.gidOf(group);
            onHandle(h -> client.fchown(h, -1, gid));
        }
    }

    private static long nanos(FileTime t) {
        return t == null ? FileSystemService.UTIME_OMIT : Math.max(0, t.to(TimeUnit.NANOSECONDS));
    }

    /** Names for the FSP provider's own paths: a relative path as it reads, an absolute one as its FSP path. */
    static Names fspNames() {
        return p -> {
            if (!(p instanceof FspPath f)) {
                throw new ProviderMismatchException();
            }
            return f.isAbsolute() ? f.fspPath() : f.toString();
        };
    }

    /** Names for the default-provider mode: a relative path as it reads, an absolute one only under the prefix. */
    static Names routingNames(Function<RoutingPath, String> route) {
        return p -> {
            RoutingPath r = RoutingPath.check(p);
            if (!r.delegate.isAbsolute()) {
                return r.delegate.toString();
            }
            String f = route.apply(r);
            if (f == null) {
                throw new ProviderMismatchException("not a path on FSP: " + p);
            }
            return f;
        };
    }
}
