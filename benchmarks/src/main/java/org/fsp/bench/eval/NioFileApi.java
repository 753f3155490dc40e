package org.fsp.bench.eval;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link FileApi} through java.nio on a kernel file system mounted at {@code root}: {@link FileChannel} for data,
 * {@link Files} for metadata. Handles map to open channels. {@link #fsync} is {@code FileChannel.force(true)}, i.e.
 * fsync(2).
 */
final class NioFileApi implements FileApi {

    private static final Set<OpenOption> READ = Set.of(StandardOpenOption.READ);
    private static final Set<OpenOption> WRITE = Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
    private static final Set<OpenOption> CREATE = Set.of(
            StandardOpenOption.READ,
            StandardOpenOption.WRITE,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING);
    private static final Set<OpenOption> CREATE_NEW =
            Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
    private static final Set<OpenOption> APPEND =
            Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.APPEND);

    private final Path root;
    private final String name;
    private final ConcurrentHashMap<Long, FileChannel> open = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);

    NioFileApi(Path root, String name) {
        this.root = root;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    private Path resolve(String path) {
        return root.resolve(path.substring(1));
    }

    private FileChannel channel(long handle) throws IOException {
        FileChannel ch = open.get(handle);
        if (ch == null) {
            throw new IOException("bad handle " + handle);
        }
        return ch;
    }

    @Override
    public long open(String path, Mode mode) throws IOException {
        Set<OpenOption> options =
                switch (mode) {
                    case READ -> READ;
                    case WRITE -> WRITE;
                    case CREATE -> CREATE;
                    case CREATE_NEW -> CREATE_NEW;
                    case APPEND -> APPEND;
                };
        FileChannel ch = FileChannel.open(resolve(path), options);
        long handle = nextHandle.getAndIncrement();
        open.put(handle, ch);
        return handle;
    }

    @Override
    public int pread(long handle, long position, byte[] buf, int off, int len) throws IOException {
        return channel(handle).read(ByteBuffer.wrap(buf, off, len), position);
    }

    @Override
    public void pwrite(long handle, long position, byte[] buf, int off, int len) throws IOException {
        FileChannel ch = channel(handle);
        ByteBuffer b = ByteBuffer.wrap(buf, off, len);
        while (b.hasRemaining()) {
            ch.write(b, position + b.position() - off);
        }
    }

    @Override
    public void append(long handle, byte[] buf, int off, int len) throws IOException {
        FileChannel ch = channel(handle);
        ByteBuffer b = ByteBuffer.wrap(buf, off, len);
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Override
    public void fsync(long handle) throws IOException {
        channel(handle).force(true);
    }

    @Override
    public void close(long handle) throws IOException {
        FileChannel ch = open.remove(handle);
        if (ch == null) {
            throw new IOException("bad handle " + handle);
        }
        ch.close();
    }

    @Override
    public long stat(String path) throws IOException {
        return Files.readAttributes(resolve(path), BasicFileAttributes.class).size();
    }

    @Override
    public void mkdir(String path) throws IOException {
        Files.createDirectory(resolve(path));
    }

    @Override
    public void unlink(String path) throws IOException {
        Files.delete(resolve(path));
    }

    @Override
    public int list(String path) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(resolve(path))) {
            for (Path ignored : entries) {
                n++;
            }
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        for (FileChannel ch : open.values()) {
            ch.close();
        }
        open.clear();
    }
}
