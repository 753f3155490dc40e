package org.fsp.fs.core.cache;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.fsp.api.block.BlockRequest;

/**
 * One cached block: a 4096-byte native buffer and the state the {@link BufferCache} and the journal keep about it.
 *
 * <p>Identity ({@link #block()}), pins and load state change under the buffer's monitor. Contents are guarded by the
 * file-system lock of whatever the block holds (the inode, the directory, the allocation group); the journal reads
 * metadata contents only while no operation is running. {@code txSeq} is non-zero while the block carries changes of
 * the running transaction, which keeps it in memory until the journal has taken its image.
 */
public final class Buffer {

    private static final VarHandle TX_SEQ;

    static {
        try {
            TX_SEQ = MethodHandles.lookup().findVarHandle(Buffer.class, "txSeq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final MemorySegment data;
    long block = -1;
    int pins;
    boolean valid;
    boolean referenced;
    BlockRequest pendingRead;
    /** Data blocks only: changed since last written; {@code version} counts changes so write-back can tell. */
    boolean dirty;

    long version;
    boolean writing;

    @SuppressWarnings("unused") // through TX_SEQ
    private volatile long txSeq;

    Buffer(MemorySegment data) {
        this.data = data;
    }

    /** The block's bytes; valid while pinned. */
    public MemorySegment data() {
        return data;
    }

    public synchronized long block() {
        return block;
    }

    /** Joins the transaction {@code seq}; true if this call joined it (the caller then lists the buffer in it). */
    public boolean joinTx(long seq) {
        return TX_SEQ.compareAndSet(this, 0L, seq);
    }

    /** The running transaction this buffer carries changes of, or 0. */
    public long txSeq() {
        return (long) TX_SEQ.getVolatile(this);
    }

    /** Called by the journal once it holds the image of this buffer's changes. */
    public void leaveTx() {
        TX_SEQ.setVolatile(this, 0L);
    }
}
