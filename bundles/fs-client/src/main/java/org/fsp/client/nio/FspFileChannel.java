package org.fsp.client.nio;

import static org.fsp.api.fs.FileSystemService.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.fsp.client.FspClient;

/**
 * A FileChannel over one FS Lib handle. Reads and writes at the channel's position are pread/pwrite at a position kept
 * here (one lock orders them, as the platform's channel does), so positional and relative calls never disturb each
 * other; in append mode writes go to the server's end of file. {@code force} is fsync or fdatasync, locks are fs-core's
 * byte-range locks of the handle, and {@code map(mode, position, size, arena)} pages the range from FSP into a mapped memory file
 * and writes a READ_WRITE mapping back on {@code force} and when the arena closes. The classic {@link MappedByteBuffer}
 * {@link #map(MapMode, long, long)} cannot be built outside the JDK and is unsupported.
 *
 * <p>Its length (about 600 lines) is {@link FileChannel}'s contract: its twenty-odd abstract methods, each with the
 * platform's argument checks and exceptions, on one handle, one position lock and one list of READ_WRITE mappings that
 * {@link #force} and the close must both see. The locks held across channels are {@link LockRegistry}'s, a lock itself
 * {@link FspFileLock}'s, and the asynchronous channel over this one {@link FspAsynchronousFileChannel}'s.
 */
final class FspFileChannel extends FileChannel {

    static final int SYNC_NONE = 0;
    static final int SYNC_DATA = 1;
    static final int SYNC_ALL = 2;

    /** Chunk moved per round by transferTo/transferFrom. */
    private static final int TRANSFER_CHUNK = 256 << 10;

    private final FileOperations ops;
    private final FspClient client;
    private final long handle;
    private final String path;
    private final boolean readable;
    private final boolean writable;
    private final boolean append;
    private final int sync;
    private final Object positionLock = new Object();
    private long position;
    private volatile long ino = -1;
    private final List<Mapping> mappings = new CopyOnWriteArrayList<>();

    FspFileChannel(
            FileOperations ops,
            long handle,
            String path,
            boolean readable,
            boolean writable,
            boolean append,
            int sync) {
        this.ops = ops;
        this.client = ops.client;
        this.handle = handle;
        this.path = path;
        this.readable = readable;
        this.writable = writable;
        this.append = append;
        this.sync = sync;
    }

    boolean isReadable() {
        return readable;
    }

    boolean isWritable() {
        return writable;
    }

    private void ensureOpen() throws IOException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
    }

    private void ensureReadable() throws IOException {
        ensureOpen();
        if (!readable) {
            throw new NonReadableChannelException();
        }
    }

    private void ensureWritable() throws IOException {
        ensureOpen();
        if (!writable) {
            throw new NonWritableChannelException();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // reads and writes

    @Override
    public int read(ByteBuffer dst) throws IOException {
        ensureReadable();
        synchronized (positionLock) {
            int n = read(dst, position, true);
            if (n > 0) {
                position += n;
            }
            return n;
        }
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        ensureReadable();
        return read(dst, position, true);
    }

    private int read(ByteBuffer dst, long at, boolean eofIsMinusOne) throws IOException {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
        int want = dst.remaining();
        if (want == 0) {
            return 0;
        }
        boolean completed = false;
        try {
            begin();
            int n = client.pread(handle, at, MemorySegment.ofBuffer(dst));
            dst.position(dst.position() + n);
            completed = true;
            return n == 0 && eofIsMinusOne ? -1 : n;
        } finally {
            end(completed);
        }
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        ensureReadable();
        synchronized (positionLock) {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                ByteBuffer b = dsts[i];
                int want = b.remaining();
                if (want == 0) {
                    continue;
                }
                int n = read(b, position, false);
                position += n;
                total += n;
                if (n < want) {
                    break;
                }
            }
            return total == 0 && length > 0 && anyRemaining(dsts, offset, length) ? -1 : total;
        }
    }

    private static boolean anyRemaining(ByteBuffer[] bs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (bs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        ensureWritable();
        synchronized (positionLock) {
            if (append) {
                int n = writeAppend(src);
                position = size();
                return n;
            }
            int n = write(src, position);
            position += n;
            return n;
        }
    }

    private int writeAppend(ByteBuffer src) throws IOException {
        int want = src.remaining();
        boolean completed = false;
        try {
            begin();
            int n = client.write(handle, MemorySegment.ofBuffer(src));
            src.position(src.position() + n);
            afterWrite();
            completed = true;
            return n;
        } finally {
            end(completed && want >= 0);
        }
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        ensureWritable();
        if (!src.hasRemaining()) {
            return 0;
        }
        boolean completed = false;
        try {
            begin();
            int n = client.pwrite(handle, position, MemorySegment.ofBuffer(src));
            src.position(src.position() + n);
            afterWrite();
            completed = true;
            return n;
        } finally {
            end(completed);
        }
    }

    private void afterWrite() throws IOException {
        if (sync == SYNC_ALL) {
            client.fsync(handle);
        } else if (sync == SYNC_DATA) {
            client.fdatasync(handle);
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        ensureWritable();
        synchronized (positionLock) {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                ByteBuffer b = srcs[i];
                int want = b.remaining();
                if (want == 0) {
                    continue;
                }
                int n = append ? writeAppend(b) : write(b, position);
                position += n;
                total += n;
                if (n < want) {
                    break;
                }
            }
            if (append) {
                position = size();
            }
            return total;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // position, size, sync

    @Override
    public long position() throws IOException {
        ensureOpen();
        synchronized (positionLock) {
            return append ? size() : position;
        }
    }

    @Override
    public FspFileChannel position(long newPosition) throws IOException {
        if (newPosition < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        ensureOpen();
        synchronized (positionLock) {
            position = newPosition;
        }
        return this;
    }

    @Override
    public long size() throws IOException {
        ensureOpen();
        return client.fstat(handle).size();
    }

    @Override
    public FspFileChannel truncate(long size) throws IOException {
        if (size < 0) {
            throw new IllegalArgumentException("Negative size");
        }
        ensureWritable();
        synchronized (positionLock) {
            if (size < size()) {
                client.ftruncate(handle, size);
            }
            if (position > size) {
                position = size;
            }
        }
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        ensureOpen();
        for (Mapping m : mappings) {
            m.writeBack();
        }
        if (metaData) {
            client.fsync(handle);
        } else {
            client.fdatasync(handle);
        }
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        if (position < 0 || count < 0) {
            throw new IllegalArgumentException("Negative position or count");
        }
        ensureReadable();
        if (!target.isOpen()) {
            throw new ClosedChannelException();
        }
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(TRANSFER_CHUNK, Math.max(count, 1)));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = read(buf, position + done, false);
            if (n <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                int w = target.write(buf);
                if (w == 0 && buf.hasRemaining()) {
                    return done + (n - buf.remaining());
                }
            }
            done += n;
        }
        return done;
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        if (position < 0 || count < 0) {
            throw new IllegalArgumentException("Negative position or count");
        }
        ensureWritable();
        if (!src.isOpen()) {
            throw new ClosedChannelException();
        }
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(TRANSFER_CHUNK, Math.max(count, 1)));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = src.read(buf);
            if (n <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                write(buf, position + done + (n - buf.remaining()));
            }
            done += n;
        }
        return done;
    }

    // ------------------------------------------------------------------------------------------------------------
    // locks

    private long ino() throws IOException {
        long i = ino;
        if (i < 0) {
            i = client.fstat(handle).ino();
            ino = i;
        }
        return i;
    }

    private static void checkRange(long position, long size) {
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        if (size < 0) {
            throw new IllegalArgumentException("Negative size");
        }
        if (position + size < 0) {
            throw new IllegalArgumentException("Negative position + size");
        }
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return lock(position, size, shared, true, null);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return lock(position, size, shared, false, null);
    }

    /**
     * Takes a lock for this channel or, when {@code acquiredBy} is set, for the asynchronous channel over it. fs-core
     * never makes a request wait, so a blocking lock retries, sleeping 1 ms and doubling up to 50 ms: a lock freed by
     * another process is noticed within that time.
     */
    FileLock lock(long position, long size, boolean shared, boolean wait, AsynchronousFileChannel acquiredBy)
            throws IOException {
        checkRange(position, size);
        if (shared) {
            ensureReadable();
        } else {
            ensureWritable();
        }
        FspFileLock lock = acquiredBy == null
                ? new FspFileLock(this, position, size, shared)
                : new FspFileLock(this, acquiredBy, position, size, shared);
        long i = ino();
        ops.locks.add(i, lock);
        boolean held = false;
        try {
            long sleep = 1;
            while (!(held = client.setlk(handle, shared ? F_RDLCK : F_WRLCK, position, size))) {
                if (!wait) {
                    return null;
                }
                ensureOpen();
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new FileLockInterruptionException();
                }
                sleep = Math.min(50, sleep * 2);
            }
            return lock;
        } finally {
            if (!held) {
                ops.locks.remove(i, lock);
            }
        }
    }

    void unlock(FspFileLock lock) throws IOException {
        try {
            client.setlk(handle, F_UNLCK, lock.position(), lock.size());
        } finally {
            ops.locks.remove(ino(), lock);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // mapping

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
        throw new UnsupportedOperationException("FSP cannot map a file into a MappedByteBuffer (only the JDK can make"
                + " one); use map(MapMode, long, long, Arena), which FSP pages in user space");
    }

    /**
     * A mapping of {@code [position, position + size)} whose lifetime is {@code arena}'s, paged in from FSP: the range
     * is copied into an unlinked file in {@code /dev/shm} (memory; {@code java.io.tmpdir} where there is none), and
     * the platform maps that file, so the segment is a real mapped segment ({@code isLoaded}, {@code load},
     * {@code force} work, as Lucene's MMapDirectory needs). READ_WRITE mappings are written back to FSP on this
     * channel's {@link #force} and when the arena closes (through a handle of the mapping's own, so closing the
     * channel first loses nothing, as with mmap). Changes others make to the file after the mapping was made are not
     * seen: FSP shares no page cache with its clients.
     */
    @Override
    public MemorySegment map(MapMode mode, long position, long size, Arena arena) throws IOException {
        Objects.requireNonNull(mode);
        Objects.requireNonNull(arena);
        checkRange(position, size);
        ensureReadable();
        if (mode == MapMode.READ_WRITE) {
            ensureWritable();
            if (position + size > size()) {
                client.ftruncate(handle, position + size);
            }
        } else if (mode != MapMode.READ_ONLY && mode != MapMode.PRIVATE) {
            throw new UnsupportedOperationException("map mode " + mode);
        }
        FileChannel pages = pageFile();
        try {
            ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(TRANSFER_CHUNK, Math.max(size, 1)));
            long done = 0;
            while (done < size) {
                buf.clear().limit((int) Math.min(buf.capacity(), size - done));
                int n = client.pread(handle, position + done, MemorySegment.ofBuffer(buf));
                if (n <= 0) {
                    break;
                }
                buf.limit(n);
                while (buf.hasRemaining()) {
                    pages.write(buf, done + buf.position());
                }
                done += n;
            }
            if (size > 0 && pages.size() < size) {
                // Past the end of the FSP file the mapping reads zeros; the page file must be as long as the range.
                pages.write(ByteBuffer.allocate(1), size - 1);
            }
            MemorySegment mapped = pages.map(mode, 0, size, arena);
            if (mode != MapMode.READ_WRITE) {
                pages.close();
                return mapped;
            }
            Mapping m = new Mapping(client.open(path, org.fsp.api.fs.OpenFlags.O_WRONLY, 0), position, size, pages);
            mappings.add(m);
            MemorySegment.ofAddress(mapped.address()).reinterpret(arena, ignored -> m.release());
            return mapped;
        } catch (IOException | RuntimeException e) {
            pages.close();
            throw e;
        }
    }

    private static FileChannel pageFile() throws IOException {
        java.nio.file.Path dir = java.nio.file.Path.of("/dev/shm");
        if (!java.nio.file.Files.isDirectory(dir)) {
            dir = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"));
        }
        java.nio.file.Path f = java.nio.file.Files.createTempFile(dir, "fsp-map-", ".pages");
        return FileChannel.open(
                f,
                java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.StandardOpenOption.DELETE_ON_CLOSE);
    }

    /** A READ_WRITE mapping: the page file it lives in, and where in the FSP file it goes back to. */
    private final class Mapping {
        final long handle;
        final long position;
        final long size;
        final FileChannel pages;

        Mapping(long handle, long position, long size, FileChannel pages) {
            this.handle = handle;
            this.position = position;
            this.size = size;
            this.pages = pages;
        }

        /** Copies the pages (which a MAP_SHARED mapping writes through to) back into the FSP file. */
        synchronized void writeBack() throws IOException {
            ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(TRANSFER_CHUNK, Math.max(size, 1)));
            long done = 0;
            while (done < size) {
                buf.clear().limit((int) Math.min(buf.capacity(), size - done));
                int n = pages.read(buf, done);
                if (n <= 0) {
                    break;
                }
                buf.flip();
                client.pwrite(handle, position + done, MemorySegment.ofBuffer(buf));
                done += n;
            }
        }

        /** The arena closed: write back a last time and let go of the page file and the handle. */
        void release() {
            try {
                writeBack();
                client.close(handle);
            } catch (IOException e) {
                System.getLogger(FspFileChannel.class.getName())
                        .log(System.Logger.Level.ERROR, "writing back a mapping of " + path + " failed", e);
            } finally {
                mappings.remove(this);
                try {
                    pages.close();
                } catch (IOException ignored) {
                    // the page file is unlinked already; closing only frees it
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // closing

    @Override
    protected void implCloseChannel() throws IOException {
        List<FspFileLock> held = ino >= 0 ? ops.locks.removeAll(ino, this) : new ArrayList<>();
        for (FspFileLock l : held) {
            l.invalidate();
        }
        client.close(handle);
    }

    @Override
    public String toString() {
        return "FspFileChannel[" + path + "]";
    }
}
