package org.fsp.fs.core.cache;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.fs.core.layout.Layout;

/**
 * The file system's only way to the device: file-system blocks (4096 bytes) translated to the device's blocks and
 * sent through a {@link BlockScheduler}, so the scheduler can be swapped underneath.
 *
 * <p>A typical sequence is: {@link #write} several blocks (each returns its request), {@link #awaitAll} them,
 * {@link #flush()}; or {@link #read} one block synchronously. A request that fails surfaces as an
 * {@link IOException} carrying the device's errno.
 */
public final class BlockIo {

    private final BlockScheduler scheduler;
    private final int sectorsPerBlock;
    private final long blocks;

    public BlockIo(BlockScheduler scheduler) {
        this.scheduler = scheduler;
        int deviceBlock = scheduler.device().blockSize();
        if (deviceBlock > Layout.BLOCK_SIZE || Layout.BLOCK_SIZE % deviceBlock != 0) {
            throw new IllegalArgumentException(
                    "device block size " + deviceBlock + " does not divide " + Layout.BLOCK_SIZE);
        }
        if (scheduler.device().bufferAlignment() > Layout.BLOCK_SIZE) {
            throw new IllegalArgumentException("device needs buffer alignment "
                    + scheduler.device().bufferAlignment() + " > " + Layout.BLOCK_SIZE);
        }
        this.sectorsPerBlock = Layout.BLOCK_SIZE / deviceBlock;
        this.blocks = scheduler.device().blockCount() / sectorsPerBlock;
    }

    /** Capacity in file-system blocks. */
    public long blockCount() {
        return blocks;
    }

    public BlockScheduler scheduler() {
        return scheduler;
    }

    /** Queues a read of {@code buffer.byteSize() / 4096} blocks at {@code block}. */
    public BlockRequest startRead(long block, MemorySegment buffer, BlockRequest.Priority priority) {
        BlockRequest r = BlockRequest.read(block * sectorsPerBlock, buffer, priority);
        scheduler.enqueue(r);
        return r;
    }

    /** Queues a write of {@code buffer.byteSize() / 4096} blocks at {@code block}. */
    public BlockRequest write(long block, MemorySegment buffer, BlockRequest.Priority priority) {
        BlockRequest r = BlockRequest.write(block * sectorsPerBlock, buffer, priority);
        scheduler.enqueue(r);
        return r;
    }

    /** Reads synchronously. */
    public void read(long block, MemorySegment buffer, BlockRequest.Priority priority) throws IOException {
        await(startRead(block, buffer, priority));
    }

    /** Waits for a request, failing if the device reported an error. */
    public void await(BlockRequest r) throws IOException {
        int result = scheduler.await(r);
        if (result < 0) {
            throw new IOException("device error " + (-result) + " on " + r);
        }
    }

    public void awaitAll(List<BlockRequest> requests) throws IOException {
        IOException first = null;
        for (BlockRequest r : requests) {
            try {
                await(r);
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Issues a flush and waits for it: every write completed before this call is then durable. */
    public void flush() throws IOException {
        await(submitFlush());
    }

    private BlockRequest submitFlush() {
        BlockRequest r = BlockRequest.flush();
        scheduler.enqueue(r);
        return r;
    }
}
