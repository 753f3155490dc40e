package org.fsp.client.nio;

import java.io.IOException;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.fsp.client.FspClient;

/**
 * One FSP file system as a {@code java.nio.file.FileSystem}: a connection to one fspd, through which every path of
 * this file system is served.
 *
 * <h2>Overview of the design</h2>
 *
 * <p>The structure follows google/jimfs. {@link FspFileSystemProvider} (scheme {@code fsp}) only finds file systems:
 * it keeps one per server socket, made by {@code FileSystems.newFileSystem(URI.create("fsp:///?socket=/run/…"))} or
 * on first use by {@code Path.of(URI.create("fsp:/a/b"))} (the default socket is the one {@code fspd} and {@code fsp}
 * use), and hands each call to the file system of the path it is given; a path of another provider is a
 * {@link java.nio.file.ProviderMismatchException}. The work is done by package-private final classes:
 *
 * <ul>
 *   <li>{@code FspPath}: the path syntax and lexical operations, as a Unix path, nothing that touches the server;
 *   <li>{@code FileOperations}: each {@code Files} operation on an absolute FSP path string, mapped onto FS Lib
 *       ({@link FspClient}) with the semantics of the platform's Unix provider (open options to open flags, move to
 *       rename with RENAME_NOREPLACE, copy with attributes, ...);
 *   <li>{@code FspFileChannel} (and {@code FspAsynchronousFileChannel} over it): a file handle with a client-side
 *       position, fs-core's byte-range locks, and {@code map(…, Arena)} by paging into memory;
 *   <li>{@code Attributes}, {@code Principals}, {@code FspDirectoryStream}, {@code FspFileStore}, {@code Globs}: the
 *       attribute views (basic, posix, owner, unix), user and group names, listings, statfs and path matchers.
 * </ul>
 *
 * <p>Failures are the exceptions the platform provider throws for the same errno (FS Lib's {@code FspException}s,
 * which keep the errno). The same {@code FileOperations} serve {@link FspDefaultFileSystemProvider}, which installs as
 * the JVM's default provider and sends paths under a prefix to FSP.
 *
 * <p>Thread-safe: FS Lib gives each calling thread a lane of the shared-memory channel, and the only state here is
 * the open flag and the locks this JVM holds (so that an overlapping lock is an {@code OverlappingFileLockException},
 * as on the platform). Closing the file system disconnects: the server closes every handle and drops their locks.
 */
public final class FspFileSystem extends FileSystem {

    private final FspFileSystemProvider provider;
    private final Path socket;
    private final boolean defaultSocket;
    private final FspClient client;
    private final FileOperations ops;
    private final FspFileStore store;
    private final Principals principals = new Principals();
    private final long dev;
    private final FspPath root;
    private volatile boolean open = true;
    private ExecutorService executor;
    private final java.util.List<FspWatchService> watchers = new java.util.concurrent.CopyOnWriteArrayList<>();

    FspFileSystem(FspFileSystemProvider provider, Path socket, boolean defaultSocket, FspClient client, int umask) {
        this.provider = provider;
        this.socket = socket;
        this.defaultSocket = defaultSocket;
        this.client = client;
        this.ops = new FileOperations(client, umask);
        this.store = new FspFileStore(client, socket.toString());
        this.dev = socket.toAbsolutePath().toString().hashCode() & 0xFFFF_FFFFL;
        this.root = FspPath.parse(this, "/");
    }

    /** The FS Lib connection of this file system. */
    FspClient client() {
        return client;
    }

    FileOperations ops() {
        if (!open) {
            throw new ClosedFileSystemException();
        }
        return ops;
    }

    Principals principals() {
        return principals;
    }

    /** The device number shown as {@code unix:dev} and in file keys. */
    long dev() {
        return dev;
    }

    FspFileStore store() {
        return store;
    }

    /** The server socket this file system is connected to. */
    public Path socket() {
        return socket;
    }

    /** The query part of this file system's URIs: empty for the default socket. */
    String uriQuery() {
        return defaultSocket ? null : "socket=" + socket;
    }

    synchronized ExecutorService executor() {
        if (executor == null) {
            executor = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "fsp-async-io");
                t.setDaemon(true);
                return t;
            });
        }
        return executor;
    }

    @Override
    public FspFileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
            if (executor != null) {
                executor.shutdown();
            }
            for (FspWatchService w : watchers) {
                w.close();
            }
        }
        provider.forget(this);
        client.close();
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(root);
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return List.of(store);
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Attributes.VIEWS_WITH_USER;
    }

    @Override
    public Path getPath(String first, String... more) {
        return FspPath.parse(this, first, more);
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        return Globs.matcher(syntaxAndPattern);
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        return principals;
    }

    /** A watch service told of changes by the server ({@link FspWatchService} says how); closed with this file system. */
    @Override
    public WatchService newWatchService() {
        if (!open) {
            throw new ClosedFileSystemException();
        }
        FspWatchService w = new FspWatchService(this);
        watchers.add(w);
        return w;
    }

    @Override
    public String toString() {
        return "fsp:" + socket;
    }
}
