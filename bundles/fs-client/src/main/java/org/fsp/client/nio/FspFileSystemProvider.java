package org.fsp.client.nio;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.spi.FileSystemProvider;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import org.fsp.client.FspClient;

/**
 * The {@code fsp} scheme: finds (or opens) the {@link FspFileSystem} of a URI and hands each operation to the file
 * system of the path it is given; see {@link FspFileSystem} for the design.
 *
 * <p>URIs are {@code fsp:///abs/path?socket=/path/of/fsp.sock}; without {@code socket} the default socket
 * ({@link FspClient#defaultSocket()}). {@code newFileSystem} takes the socket from the URI or from the environment map
 * key {@code "socket"}, and {@code "lanes"} (an Integer) for the number of channel lanes to ask for. {@code getPath}
 * connects on first use.
 */
public final class FspFileSystemProvider extends FileSystemProvider {

    public static final String SCHEME = "fsp";

    private static final int UMASK = Integer.parseInt(System.getProperty("fsp.umask", "022"), 8);

    private final Map<Path, FspFileSystem> systems = new ConcurrentHashMap<>();

    @Override
    public String getScheme() {
        return SCHEME;
    }

    private static Path socketOf(URI uri, Map<String, ?> env) {
        if (!SCHEME.equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("URI scheme is not '" + SCHEME + "': " + uri);
        }
        Object fromEnv = env == null ? null : env.get("socket");
        if (fromEnv != null) {
            return Path.of(fromEnv.toString()).toAbsolutePath();
        }
        String query = uri.getRawQuery();
        if (query != null) {
            for (String kv : query.split("&")) {
                if (kv.startsWith("socket=")) {
                    return Path.of(URLDecoder.decode(kv.substring(7), StandardCharsets.UTF_8))
                            .toAbsolutePath();
                }
            }
        }
        return FspClient.defaultSocket().toAbsolutePath();
    }

    @Override
    public FspFileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
        Path socket = socketOf(uri, env);
        Object lanes = env == null ? null : env.get("lanes");
        synchronized (systems) {
            if (systems.containsKey(socket)) {
                throw new FileSystemAlreadyExistsException(socket.toString());
            }
            return open(socket, lanes instanceof Number n ? n.intValue() : 0);
        }
    }

    private FspFileSystem open(Path socket, int lanes) throws IOException {
        FspClient client = FspClient.connect(socket, lanes);
        FspFileSystem fs = new FspFileSystem(
                this, socket, socket.equals(FspClient.defaultSocket().toAbsolutePath()), client, UMASK);
        systems.put(socket, fs);
        return fs;
    }

    /**
     * A file system on {@code socket} that this provider does not keep (for the default-provider mode, which owns
     * its one connection).
     */
    FspFileSystem openUnregistered(Path socket) throws IOException {
        return new FspFileSystem(this, socket, false, FspClient.connect(socket, 0), UMASK);
    }

    void forget(FspFileSystem fs) {
        systems.remove(fs.socket(), fs);
    }

    @Override
    public FspFileSystem getFileSystem(URI uri) {
        FspFileSystem fs = systems.get(socketOf(uri, null));
        if (fs == null) {
            throw new FileSystemNotFoundException(uri.toString());
        }
        return fs;
    }

    @Override
    public Path getPath(URI uri) {
        Path socket = socketOf(uri, null);
        FspFileSystem fs = systems.get(socket);
        if (fs == null) {
            synchronized (systems) {
                fs = systems.get(socket);
                if (fs == null) {
                    try {
                        fs = open(socket, 0);
                    } catch (IOException e) {
                        throw new FileSystemNotFoundException("cannot connect to fspd at " + socket + ": " + e);
                    }
                }
            }
        }
        String path = uri.getPath();
        if (path == null || !path.startsWith("/")) {
            throw new IllegalArgumentException("URI has no absolute path: " + uri);
        }
        return fs.getPath(path);
    }

    private static FspPath path(Path p) {
        return FspPath.check(p);
    }

    private static FileOperations ops(Path p) {
        return path(p).getFileSystem().ops();
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return ops(path).newFileChannel(path(path).fspPath(), options, attrs);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return ops(path).newFileChannel(path(path).fspPath(), options, attrs);
    }

    @Override
    public AsynchronousFileChannel newAsynchronousFileChannel(
            Path path, Set<? extends OpenOption> options, ExecutorService executor, FileAttribute<?>... attrs)
            throws IOException {
        FspPath p = path(path);
        return new FspAsynchronousFileChannel(
                ops(p).newFileChannel(p.fspPath(), options, attrs),
                executor != null ? executor : p.getFileSystem().executor());
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        FspPath p = path(dir);
        FspFileSystem fs = p.getFileSystem();
        DirectoryStream<Path> s = FspSecureDirectoryStream.open(
                fs.ops(), p.fspPath(), p, FspSecureDirectoryStream.fspNames(), filter, fs.dev(), fs.principals());
        if (s != null) {
            return s;
        }
        ops(p).checkDirectory(p.fspPath());
        return new FspDirectoryStream(ops(p), p.fspPath(), p::resolve, filter);
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        ops(dir).createDirectory(path(dir).fspPath(), attrs);
    }

    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        ops(link).createSymbolicLink(path(link).fspPath(), path(target).toString(), attrs);
    }

    @Override
    public void createLink(Path link, Path existing) throws IOException {
        ops(link).createLink(path(link).fspPath(), path(existing).fspPath());
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        FspPath p = path(link);
        return p.getFileSystem().getPath(ops(p).readSymbolicLink(p.fspPath()));
    }

    @Override
    public void delete(Path path) throws IOException {
        ops(path).delete(path(path).fspPath());
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        sameFileSystem(source, target);
        ops(source).copy(path(source).fspPath(), path(target).fspPath(), options);
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        sameFileSystem(source, target);
        ops(source).move(path(source).fspPath(), path(target).fspPath(), options);
    }

    private static void sameFileSystem(Path a, Path b) {
        if (path(a).getFileSystem() != path(b).getFileSystem()) {
            throw new java.nio.file.ProviderMismatchException("paths of two FSP file systems: " + a + ", " + b);
        }
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        FspPath a = path(path);
        if (!(path2 instanceof FspPath b) || a.getFileSystem() != b.getFileSystem()) {
            return false;
        }
        return ops(a).isSameFile(a.fspPath(), b.fspPath());
    }

    @Override
    public boolean isHidden(Path path) {
        FspPath name = path(path).getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        FspPath p = path(path);
        ops(p).stat(p.fspPath(), true);
        return p.getFileSystem().store();
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        ops(path).checkAccess(path(path).fspPath(), modes);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        FspPath p = path(path);
        FspFileSystem fs = p.getFileSystem();
        return Attributes.view(
                type, fs.ops(), p.fspPath(), FileOperations.followLinks(options), fs.dev(), fs.principals());
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        if (type != BasicFileAttributes.class && type != PosixFileAttributes.class) {
            throw new UnsupportedOperationException("attributes " + type.getName());
        }
        FspPath p = path(path);
        FspFileSystem fs = p.getFileSystem();
        return type.cast(new Attributes.Posix(
                fs.ops().stat(p.fspPath(), FileOperations.followLinks(options)), fs.dev(), fs.principals()));
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        if (attributes.startsWith(UserAttributes.VIEW_PREFIX)) {
            FspPath p = path(path);
            return new UserAttributes(p.getFileSystem().ops().client, p.fspPath(), FileOperations.followLinks(options))
                    .read(attributes.substring(UserAttributes.VIEW_PREFIX.length()));
        }
        return Attributes.read(attributes, (Attributes.Posix) readAttributes(path, PosixFileAttributes.class, options));
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        FspFileSystem fs = path(path).getFileSystem();
        if (attribute.startsWith(UserAttributes.VIEW_PREFIX)) {
            new UserAttributes(fs.ops().client, path(path).fspPath(), FileOperations.followLinks(options))
                    .set(attribute.substring(UserAttributes.VIEW_PREFIX.length()), value);
            return;
        }
        Attributes.set(
                fs.ops(), fs.principals(), path(path).fspPath(), FileOperations.followLinks(options), attribute, value);
    }
}
