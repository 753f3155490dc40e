package org.fsp.fs.core.tools;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.fs.Errno;

/**
 * A {@link BlockDevice} over an image file through a {@link FileChannel}, for the offline tools: each request is
 * carried out when submitted (positional read or write, {@code force} for a flush) and its completion is queued for
 * {@link #poll}. No O_DIRECT: the page cache sits in between, which is fine offline.
 */
public final class FileBlockDevice implements BlockDevice {

    private static final int BLOCK = 4096;

    private final FileChannel channel;
    private final long blocks;
    private final boolean readOnly;
    private final ArrayDeque<long[]> completions = new ArrayDeque<>();
    private final Path path;
    private boolean closed;

    /** Opens an existing image; its size must be a multiple of 4096. */
    public FileBlockDevice(Path path, boolean readOnly) throws IOException {
        this.path = path;
        this.readOnly = readOnly;
        this.channel = readOnly
                ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        this.blocks = channel.size() / BLOCK;
    }

    @Override
    public int blockSize() {
        return BLOCK;
    }

    @Override
    public long blockCount() {
        return blocks;
    }

    @Override
    public int bufferAlignment() {
        return 1;
    }

    @Override
    public int queueDepth() {
        return 1024;
    }

    private void check(long block, MemorySegment buffer) {
        if (closed) {
            throw new IllegalStateException("device closed");
        }
        if (block < 0 || block + buffer.byteSize() / BLOCK > blocks || buffer.byteSize() % BLOCK != 0) {
            throw new IllegalArgumentException("request outside the device: block " + block);
        }
    }

    @Override
    public synchronized boolean submitRead(long block, MemorySegment buffer, long tag) {
        check(block, buffer);
        int result;
        try {
            ByteBuffer bb = buffer.asByteBuffer();
            long pos = block * BLOCK;
            while (bb.hasRemaining()) {
                int n = channel.read(bb, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
            }
            result = (int) buffer.byteSize();
        } catch (IOException e) {
            result = -Errno.EIO.code();
        }
        completions.add(new long[] {tag, result});
        return true;
    }

    @Override
    public synchronized boolean submitWrite(long block, MemorySegment buffer, long tag) {
        check(block, buffer);
        int result;
        if (readOnly) {
            result = -Errno.EROFS.code();
        } else {
            try {
                ByteBuffer bb = buffer.asByteBuffer();
                long pos = block * BLOCK;
                while (bb.hasRemaining()) {
                    pos += channel.write(bb, pos);
                }
                result = (int) buffer.byteSize();
            } catch (IOException e) {
                result = -Errno.EIO.code();
            }
        }
        completions.add(new long[] {tag, result});
        return true;
    }

    @Override
    public synchronized boolean submitFlush(long tag) {
        int result = 0;
        if (!readOnly) {
            try {
                channel.force(false);
            } catch (IOException e) {
                result = -Errno.EIO.code();
            }
        }
        completions.add(new long[] {tag, result});
        return true;
    }

    @Override
    public int submit() {
        return 0;
    }

    @Override
    public synchronized int poll(CompletionHandler handler, int max) {
        int n = 0;
        while (n < max && !completions.isEmpty()) {
            long[] c = completions.poll();
            handler.onComplete(c[0], (int) c[1]);
            n++;
        }
        return n;
    }

    @Override
    public synchronized int inFlight() {
        return completions.size();
    }

    @Override
    public String describe() {
        return "file " + path + (readOnly ? " (read-only)" : "") + ", " + blocks + " x " + BLOCK + " bytes";
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            throw new IllegalStateException("closing " + path, e);
        }
    }
}
