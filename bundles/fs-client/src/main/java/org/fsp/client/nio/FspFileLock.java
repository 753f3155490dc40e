package org.fsp.client.nio;

import java.io.IOException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileLock;

/** A byte-range lock held in fs-core by the channel's handle (see {@code FileSystemService.setlk}). */
final class FspFileLock extends FileLock {

    private final FspFileChannel owner;
    private volatile boolean valid = true;

    FspFileLock(FspFileChannel owner, long position, long size, boolean shared) {
        super(owner, position, size, shared);
        this.owner = owner;
    }

    /** A lock an AsynchronousFileChannel took through the FileChannel it wraps. */
    FspFileLock(FspFileChannel owner, AsynchronousFileChannel acquiredBy, long position, long size, boolean shared) {
        super(acquiredBy, position, size, shared);
        this.owner = owner;
    }

    FspFileChannel owningChannel() {
        return owner;
    }

    @Override
    public boolean isValid() {
        return valid && owner.isOpen();
    }

    void invalidate() {
        valid = false;
    }

    @Override
    public void release() throws IOException {
        if (!owner.isOpen()) {
            throw new ClosedChannelException();
        }
        if (valid) {
            owner.unlock(this);
            valid = false;
        }
    }
}
