package org.fsp.client.nio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;
import org.fsp.api.fs.DirEntry;

/**
 * A directory listing read in batches as it is iterated (readdir with a cookie), so a large directory is never held
 * whole; entries are the directory's path resolved with each name, filtered. Like the platform's stream: one
 * iterator, nothing more after close, and I/O errors while iterating as {@link DirectoryIteratorException}.
 */
final class FspDirectoryStream implements DirectoryStream<Path> {

    private static final int BATCH = 256;

    /** Where the names come from: one batch after a cookie (readdir by path or of a directory handle). */
    @FunctionalInterface
    interface Reader {
        List<DirEntry> read(long cookie, int max) throws IOException;
    }

    private final Reader reader;
    private final Function<String, Path> child;
    private final Filter<? super Path> filter;
    private volatile boolean closed;
    private boolean iterated;

    FspDirectoryStream(FileOperations ops, String dir, Function<String, Path> child, Filter<? super Path> filter) {
        this((cookie, max) -> ops.readdir(dir, cookie, max), child, filter);
    }

    FspDirectoryStream(Reader reader, Function<String, Path> child, Filter<? super Path> filter) {
        this.reader = reader;
        this.child = child;
        this.filter = filter;
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized Iterator<Path> iterator() {
        if (closed) {
            throw new IllegalStateException("Directory stream is closed");
        }
        if (iterated) {
            throw new IllegalStateException("Iterator already obtained");
        }
        iterated = true;
        return new Iterator<>() {
            private final ArrayDeque<DirEntry> batch = new ArrayDeque<>();
            private long cookie;
            private boolean end;
            private Path next;

            @Override
            public boolean hasNext() {
                while (next == null && !closed) {
                    if (batch.isEmpty()) {
                        if (end) {
                            return false;
                        }
                        fill();
                        continue;
                    }
                    DirEntry e = batch.removeFirst();
                    Path p = child.apply(e.name());
                    try {
                        if (filter == null || filter.accept(p)) {
                            next = p;
                        }
                    } catch (IOException x) {
                        throw new DirectoryIteratorException(x);
                    }
                }
                return next != null;
            }

            private void fill() {
                try {
                    List<DirEntry> got = reader.read(cookie, BATCH);
                    if (got.isEmpty()) {
                        end = true;
                    } else {
                        batch.addAll(got);
                        cookie = got.getLast().cookie();
                    }
                } catch (IOException x) {
                    throw new DirectoryIteratorException(x);
                } catch (UncheckedIOException x) {
                    throw new DirectoryIteratorException(x.getCause());
                }
            }

            @Override
            public Path next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Path p = next;
                next = null;
                return p;
            }
        };
    }

    @Override
    public void close() {
        closed = true;
    }
}
