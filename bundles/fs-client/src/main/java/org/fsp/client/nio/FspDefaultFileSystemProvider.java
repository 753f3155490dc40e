package org.fsp.client.nio;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.spi.FileSystemProvider;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;

/**
 * The JVM's default provider for running unmodified programs on FSP: with
 * {@code -Djava.nio.file.spi.DefaultFileSystemProvider=org.fsp.client.nio.FspDefaultFileSystemProvider} (and this jar
 * on the class path) every absolute path under the prefix (system property {@code fsp.prefix}, default {@code /fsp})
 * is served by FSP, the path {@code /fsp/db/x} being {@code /db/x} there, and every other path by the platform's
 * provider, which the JVM passes to the constructor. So {@code Path.of}, {@code File.toPath()}, {@code Files.*} and
 * {@code FileChannel.open} in any library reach FSP; java.io's streams, {@code RandomAccessFile} and {@code File}'s own
 * methods do not (they call the kernel directly).
 *
 * <p>The connection to fspd (system property {@code fsp.socket}, default {@link FspClient#defaultSocket()}) is made on
 * the first use of a path under the prefix, not at JVM start, so a program that never touches FSP runs without it. A
 * copy or move between FSP and the platform copies the bytes (a move then deletes the source); an atomic move across
 * them is {@link AtomicMoveNotSupportedException}. An absolute symlink target inside FSP is FSP's own path: it is
 * stored without the prefix and read back with it.
 */
public final class FspDefaultFileSystemProvider extends FileSystemProvider {

    private final FileSystemProvider platform;
    private final RoutingFileSystem fileSystem;
    private final String prefix;
    private final FspFileSystemProvider fspProvider = new FspFileSystemProvider();
    private volatile FspFileSystem fsp;

    /** Called by the JVM with the platform's provider; must not use the default file system yet. */
    public FspDefaultFileSystemProvider(FileSystemProvider platform) {
        this.platform = platform;
        this.fileSystem = new RoutingFileSystem(this, platform.getFileSystem(URI.create("file:///")));
        String p = System.getProperty("fsp.prefix", "/fsp");
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if (!p.startsWith("/") || p.equals("/")) {
            throw new IllegalArgumentException("fsp.prefix must be an absolute path other than /, got '" + p + "'");
        }
        this.prefix = p;
    }

    String prefix() {
        return prefix;
    }

    /** The FSP file system, connected on first use. */
    FspFileSystem fsp() throws IOException {
        FspFileSystem f = fsp;
        if (f == null) {
            synchronized (this) {
                f = fsp;
                if (f == null) {
                    f = fspProvider.openUnregistered(FspClient.defaultSocket().toAbsolutePath());
                    fsp = f;
                }
            }
        }
        return f;
    }

    private FileOperations ops() throws IOException {
        return fsp().ops();
    }

    /** The FSP path of {@code p} if it lies under the prefix (after making it absolute and normal), else null. */
    String route(RoutingPath p) {
        Path d = p.delegate;
        String s = (d.isAbsolute() ? d : d.toAbsolutePath()).normalize().toString();
        if (s.equals(prefix)) {
            return "/";
        }
        if (s.startsWith(prefix) && s.charAt(prefix.length()) == '/') {
            return s.substring(prefix.length());
        }
        return null;
    }

    @FunctionalInterface
    private interface IoCall<T> {
        T call() throws IOException;
    }

    /**
     * Runs an FSP operation on {@code fspPath}; a failure names the files as the program knows them (under the
     * prefix), keeping its type and errno.
     */
    private <T> T onFsp(String fspPath, IoCall<T> call) throws IOException {
        try {
            return call.call();
        } catch (FileSystemException e) {
            String file = shown(e.getFile());
            String other = shown(e.getOtherFile());
            if (e instanceof FspException f) {
                throw FspClient.exception(f.errno(), file, other);
            }
            throw switch (e) {
                case FileAlreadyExistsException x -> new FileAlreadyExistsException(file, other, x.getReason());
                case DirectoryNotEmptyException x -> new DirectoryNotEmptyException(file);
                case java.nio.file.NotLinkException x -> new java.nio.file.NotLinkException(file, other, x.getReason());
                case java.nio.file.NoSuchFileException x ->
                    new java.nio.file.NoSuchFileException(file, other, x.getReason());
                case AtomicMoveNotSupportedException x ->
                    new AtomicMoveNotSupportedException(file, other, x.getReason());
                case java.nio.file.FileSystemLoopException x -> new java.nio.file.FileSystemLoopException(file);
                default -> e;
            };
        }
    }

    private String shown(String fspPath) {
        return fspPath == null || !fspPath.startsWith("/") ? fspPath : prefix + (fspPath.equals("/") ? "" : fspPath);
    }

    private static Path platformPath(Path p) {
        return RoutingPath.check(p).delegate;
    }

    @Override
    public String getScheme() {
        return platform.getScheme();
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
        return platform.newFileSystem(uri, env);
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        platform.getFileSystem(uri);
        return fileSystem;
    }

    @Override
    public Path getPath(URI uri) {
        return fileSystem.wrap(platform.getPath(uri));
    }

    // ------------------------------------------------------------------------------------------------------------
    // channels and streams

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        String f = route(RoutingPath.check(path));
        return f == null
                ? platform.newByteChannel(platformPath(path), options, attrs)
                : onFsp(f, () -> ops().newFileChannel(f, options, attrs));
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        String f = route(RoutingPath.check(path));
        return f == null
                ? platform.newFileChannel(platformPath(path), options, attrs)
                : onFsp(f, () -> ops().newFileChannel(f, options, attrs));
    }

    @Override
    public AsynchronousFileChannel newAsynchronousFileChannel(
            Path path, Set<? extends OpenOption> options, ExecutorService executor, FileAttribute<?>... attrs)
            throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            return platform.newAsynchronousFileChannel(platformPath(path), options, executor, attrs);
        }
        return new FspAsynchronousFileChannel(
                onFsp(f, () -> ops().newFileChannel(f, options, attrs)),
                executor != null ? executor : fsp().executor());
    }

    @Override
    public InputStream newInputStream(Path path, OpenOption... options) throws IOException {
        return route(RoutingPath.check(path)) == null
                ? platform.newInputStream(platformPath(path), options)
                : super.newInputStream(path, options);
    }

    @Override
    public OutputStream newOutputStream(Path path, OpenOption... options) throws IOException {
        return route(RoutingPath.check(path)) == null
                ? platform.newOutputStream(platformPath(path), options)
                : super.newOutputStream(path, options);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        RoutingPath r = RoutingPath.check(dir);
        String f = route(r);
        if (f != null) {
            FspFileSystem fs = fsp();
            DirectoryStream<Path> s = onFsp(
                    f,
                    () -> FspSecureDirectoryStream.open(
                            fs.ops(),
                            f,
                            r,
                            FspSecureDirectoryStream.routingNames(this::route),
                            filter,
                            fs.dev(),
                            fs.principals()));
            if (s != null) {
                return s;
            }
            onFsp(f, () -> {
                ops().checkDirectory(f);
                return null;
            });
            return new FspDirectoryStream(ops(), f, r::resolve, filter);
        }
        DirectoryStream<Path> inner = platform.newDirectoryStream(
                r.delegate, filter == null ? null : entry -> filter.accept(fileSystem.wrap(entry)));
        return RoutingDirectoryStream.of(fileSystem, inner);
    }

    // ------------------------------------------------------------------------------------------------------------
    // names

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        String f = route(RoutingPath.check(dir));
        if (f == null) {
            platform.createDirectory(platformPath(dir), attrs);
        } else {
            onFsp(f, () -> {
                ops().createDirectory(f, attrs);
                return null;
            });
        }
    }

    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        String f = route(RoutingPath.check(link));
        if (f == null) {
            platform.createSymbolicLink(platformPath(link), platformPath(target), attrs);
            return;
        }
        RoutingPath t = RoutingPath.check(target);
        String inFsp = t.isAbsolute() ? route(t) : null;
        onFsp(f, () -> {
            ops().createSymbolicLink(f, inFsp != null ? inFsp : t.toString(), attrs);
            return null;
        });
    }

    @Override
    public void createLink(Path link, Path existing) throws IOException {
        String f = route(RoutingPath.check(link));
        String e = route(RoutingPath.check(existing));
        if (f == null && e == null) {
            platform.createLink(platformPath(link), platformPath(existing));
        } else if (f != null && e != null) {
            onFsp(f, () -> {
                ops().createLink(f, e);
                return null;
            });
        } else {
            throw new FileSystemException(link.toString(), existing.toString(), "Invalid cross-device link");
        }
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        String f = route(RoutingPath.check(link));
        if (f == null) {
            return fileSystem.wrap(platform.readSymbolicLink(platformPath(link)));
        }
        String target = onFsp(f, () -> ops().readSymbolicLink(f));
        return fileSystem.getPath(target.startsWith("/") ? prefix + target : target);
    }

    @Override
    public void delete(Path path) throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            platform.delete(platformPath(path));
        } else {
            onFsp(f, () -> {
                ops().delete(f);
                return null;
            });
        }
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        String s = route(RoutingPath.check(source));
        String t = route(RoutingPath.check(target));
        if (s == null && t == null) {
            platform.copy(platformPath(source), platformPath(target), options);
        } else if (s != null && t != null) {
            onFsp(s, () -> {
                ops().copy(s, t, options);
                return null;
            });
        } else {
            copyAcross(source, target, options);
        }
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        String s = route(RoutingPath.check(source));
        String t = route(RoutingPath.check(target));
        if (s == null && t == null) {
            platform.move(platformPath(source), platformPath(target), options);
        } else if (s != null && t != null) {
            onFsp(s, () -> {
                ops().move(s, t, options);
                return null;
            });
        } else {
            for (CopyOption o : options) {
                if (o == StandardCopyOption.ATOMIC_MOVE) {
                    throw new AtomicMoveNotSupportedException(
                            source.toString(), target.toString(), "between FSP and the platform's file system");
                }
            }
            BasicFileAttributes a = readAttributes(source, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isDirectory()) {
                try (DirectoryStream<Path> ds = newDirectoryStream(source, null)) {
                    if (ds.iterator().hasNext()) {
                        throw new DirectoryNotEmptyException(source.toString());
                    }
                }
            }
            boolean replace = Set.of(options).contains(StandardCopyOption.REPLACE_EXISTING);
            copyAcross(
                    source,
                    target,
                    replace
                            ? new CopyOption[] {
                                StandardCopyOption.REPLACE_EXISTING,
                                StandardCopyOption.COPY_ATTRIBUTES,
                                LinkOption.NOFOLLOW_LINKS
                            }
                            : new CopyOption[] {StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS});
            delete(source);
        }
    }

    /** Copies between FSP and the platform with streams (and the times and permissions for COPY_ATTRIBUTES). */
    private void copyAcross(Path source, Path target, CopyOption... options) throws IOException {
        Set<CopyOption> opts = Set.of(options);
        LinkOption[] link = opts.contains(LinkOption.NOFOLLOW_LINKS)
                ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS}
                : new LinkOption[0];
        PosixFileAttributes a = readAttributes(source, PosixFileAttributes.class, link);
        if (readAttributesIfExists(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS) != null) {
            if (!opts.contains(StandardCopyOption.REPLACE_EXISTING)) {
                throw new FileAlreadyExistsException(target.toString());
            }
            delete(target);
        }
        if (a.isSymbolicLink()) {
            createSymbolicLink(target, readSymbolicLink(source));
            return;
        }
        if (a.isDirectory()) {
            createDirectory(target);
        } else {
            try (InputStream in = newInputStream(source);
                    OutputStream out =
                            newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                in.transferTo(out);
            }
        }
        if (opts.contains(StandardCopyOption.COPY_ATTRIBUTES)) {
            setAttribute(target, "posix:permissions", a.permissions());
            setAttribute(target, "basic:lastModifiedTime", a.lastModifiedTime());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // attributes

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        String a = route(RoutingPath.check(path));
        if (!(path2 instanceof RoutingPath r2)) {
            return false;
        }
        String b = route(r2);
        if (a == null && b == null) {
            return platform.isSameFile(platformPath(path), r2.delegate);
        }
        return a != null && b != null && onFsp(a, () -> ops().isSameFile(a, b));
    }

    @Override
    public boolean isHidden(Path path) throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            return platform.isHidden(platformPath(path));
        }
        Path name = path.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            return platform.getFileStore(platformPath(path));
        }
        onFsp(f, () -> ops().stat(f, true));
        return fsp().store();
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            platform.checkAccess(platformPath(path), modes);
        } else {
            onFsp(f, () -> {
                ops().checkAccess(f, modes);
                return null;
            });
        }
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            return platform.getFileAttributeView(platformPath(path), type, options);
        }
        try {
            FspFileSystem fs = fsp();
            return Attributes.view(type, fs.ops(), f, FileOperations.followLinks(options), fs.dev(), fs.principals());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            return platform.readAttributes(platformPath(path), type, options);
        }
        if (type != BasicFileAttributes.class && type != PosixFileAttributes.class) {
            throw new UnsupportedOperationException("attributes " + type.getName());
        }
        FspFileSystem fs = fsp();
        return type.cast(new Attributes.Posix(
                onFsp(f, () -> fs.ops().stat(f, FileOperations.followLinks(options))), fs.dev(), fs.principals()));
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            return platform.readAttributes(platformPath(path), attributes, options);
        }
        if (attributes.startsWith(UserAttributes.VIEW_PREFIX)) {
            return onFsp(f, () -> new UserAttributes(ops().client, f, FileOperations.followLinks(options))
                    .read(attributes.substring(UserAttributes.VIEW_PREFIX.length())));
        }
        return Attributes.read(attributes, (Attributes.Posix) readAttributes(path, PosixFileAttributes.class, options));
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        String f = route(RoutingPath.check(path));
        if (f == null) {
            platform.setAttribute(platformPath(path), attribute, value, options);
        } else {
            onFsp(f, () -> {
                if (attribute.startsWith(UserAttributes.VIEW_PREFIX)) {
                    new UserAttributes(ops().client, f, FileOperations.followLinks(options))
                            .set(attribute.substring(UserAttributes.VIEW_PREFIX.length()), value);
                    return null;
                }
                Attributes.set(ops(), fsp().principals(), f, FileOperations.followLinks(options), attribute, value);
                return null;
            });
        }
    }

    /** Used to check from a test which way a path goes. */
    boolean isFsp(Path p) {
        return route(RoutingPath.check(p)) != null;
    }
}
