package org.fsp.client.nio;

import java.io.IOException;
import java.net.URI;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Objects;

/**
 * A path of the default file system in default-provider mode: a platform path, wrapped so that its file system, and
 * with it the provider every {@code Files} call goes to, is {@link FspDefaultFileSystemProvider}'s. The path syntax is
 * the platform's; only {@link #toRealPath} asks FSP when the path lies under the prefix.
 */
final class RoutingPath implements Path {

    private final RoutingFileSystem fs;
    final Path delegate;

    RoutingPath(RoutingFileSystem fs, Path delegate) {
        this.fs = fs;
        this.delegate = delegate;
    }

    static RoutingPath check(Path p) {
        Objects.requireNonNull(p, "path");
        if (p instanceof RoutingPath r) {
            return r;
        }
        throw new ProviderMismatchException("not a path of the default file system: " + p + " (" + p.getClass() + ")");
    }

    private RoutingPath wrap(Path p) {
        return p == null ? null : new RoutingPath(fs, p);
    }

    @Override
    public RoutingFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return delegate.isAbsolute();
    }

    @Override
    public Path getRoot() {
        return wrap(delegate.getRoot());
    }

    @Override
    public Path getFileName() {
        return wrap(delegate.getFileName());
    }

    @Override
    public Path getParent() {
        return wrap(delegate.getParent());
    }

    @Override
    public int getNameCount() {
        return delegate.getNameCount();
    }

    @Override
    public Path getName(int index) {
        return wrap(delegate.getName(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return wrap(delegate.subpath(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        return other instanceof RoutingPath r && delegate.startsWith(r.delegate);
    }

    @Override
    public boolean endsWith(Path other) {
        return other instanceof RoutingPath r && delegate.endsWith(r.delegate);
    }

    @Override
    public Path normalize() {
        return wrap(delegate.normalize());
    }

    @Override
    public Path resolve(Path other) {
        return wrap(delegate.resolve(check(other).delegate));
    }

    @Override
    public Path relativize(Path other) {
        return wrap(delegate.relativize(check(other).delegate));
    }

    @Override
    public URI toUri() {
        return delegate.toUri();
    }

    @Override
    public Path toAbsolutePath() {
        return wrap(delegate.toAbsolutePath());
    }

    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
        String fsp = fs.provider().route(this);
        if (fsp == null) {
            return wrap(delegate.toRealPath(options));
        }
        String real = fs.provider().fsp().ops().realPath(fsp, FileOperations.followLinks(options));
        return fs.getPath(fs.provider().prefix() + (real.equals("/") ? "" : real));
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers)
            throws IOException {
        return RoutingWatchService.check(watcher).register(this, events, modifiers);
    }

    @Override
    public int compareTo(Path other) {
        return delegate.compareTo(check(other).delegate);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoutingPath r && r.delegate.equals(delegate);
    }

    @Override
    public int hashCode() {
        return delegate.hashCode();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
