package org.fsp.client.nio;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.util.Iterator;
import java.util.Set;

/**
 * A platform directory stream seen through the default-provider mode: entries wrapped as {@link RoutingPath}s. When
 * the platform's stream is a {@link SecureDirectoryStream} (on Linux it is), so is this one
 * ({@link Secure}), its paths unwrapped on the way in, so a program sees the same kind of stream with FSP as its
 * default provider as without.
 */
class RoutingDirectoryStream implements DirectoryStream<Path> {

    final RoutingFileSystem fs;
    final DirectoryStream<Path> inner;

    private RoutingDirectoryStream(RoutingFileSystem fs, DirectoryStream<Path> inner) {
        this.fs = fs;
        this.inner = inner;
    }

    static DirectoryStream<Path> of(RoutingFileSystem fs, DirectoryStream<Path> inner) {
        return inner instanceof SecureDirectoryStream<Path> s
                ? new Secure(fs, s)
                : new RoutingDirectoryStream(fs, inner);
    }

    @Override
    public Iterator<Path> iterator() {
        Iterator<Path> it = inner.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public Path next() {
                return fs.wrap(it.next());
            }
        };
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }

    /** The platform's secure stream, wrapped. */
    static final class Secure extends RoutingDirectoryStream implements SecureDirectoryStream<Path> {
        private final SecureDirectoryStream<Path> secure;

        Secure(RoutingFileSystem fs, SecureDirectoryStream<Path> secure) {
            super(fs, secure);
            this.secure = secure;
        }

        private static Path unwrap(Path p) {
            return RoutingPath.check(p).delegate;
        }

        @Override
        public SecureDirectoryStream<Path> newDirectoryStream(Path path, LinkOption... options) throws IOException {
            return new Secure(fs, secure.newDirectoryStream(unwrap(path), options));
        }

        @Override
        public SeekableByteChannel newByteChannel(
                Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
            return secure.newByteChannel(unwrap(path), options, attrs);
        }

        @Override
        public void deleteFile(Path path) throws IOException {
            secure.deleteFile(unwrap(path));
        }

        @Override
        public void deleteDirectory(Path path) throws IOException {
            secure.deleteDirectory(unwrap(path));
        }

        @Override
        public void move(Path srcpath, SecureDirectoryStream<Path> targetdir, Path targetpath) throws IOException {
            if (!(targetdir instanceof Secure target)) {
                throw new ProviderMismatchException("target directory is not a platform directory stream");
            }
            secure.move(unwrap(srcpath), target.secure, unwrap(targetpath));
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Class<V> type) {
            return secure.getFileAttributeView(type);
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
            return secure.getFileAttributeView(unwrap(path), type, options);
        }
    }
}
