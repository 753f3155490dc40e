package org.fsp.fs.core.cache;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.fsp.api.block.BlockRequest;
import org.fsp.fs.core.layout.Layout;
import org.jctools.maps.NonBlockingHashMapLong;

/**
 * The buffer cache: a bounded set of 4096-byte native buffers holding device blocks, shared by all threads.
 *
 * <p>Contract: {@link #get} returns the block's buffer pinned (it is not reused until {@link #release}); at most one
 * buffer exists per block; a metadata buffer with changes in the running transaction is never evicted; a dirty data
 * buffer is written back before its memory is reused. Eviction is CLOCK over the slots; when the hand stops at a
 * dirty buffer, that buffer is written back (outside the clock's lock) and the search resumes. When every slot is pinned or
 * held by the running transaction, the cache grows past its bound rather than wait (waiting could deadlock against
 * the commit that would release them); {@link #overflowBuffers()} counts such growth.
 *
 * <p>Reads consult an overlay first: the journal's committed images of metadata blocks not yet checkpointed home.
 *
 * <p>A typical sequence is: {@code b = cache.get(block, true)}; read or change {@code b.data()} under the owning lock;
 * for data, {@link #markDirty}; {@code cache.release(b)}; later {@link #writeBack} the dirty blocks of a file.
 */
public final class BufferCache implements AutoCloseable {

    private final BlockIo io;
    private final Arena arena = Arena.ofShared();
    /**
     * Block number to buffer. Every data read and write looks blocks up here, so the map is lock-free for readers and
     * takes primitive keys: a {@code ConcurrentHashMap<Long, Buffer>} allocated a {@code Long} per lookup.
     */
    private final NonBlockingHashMapLong<Buffer> map = new NonBlockingHashMapLong<>();

    private final List<Buffer> slots = new ArrayList<>();
    private final Object clockLock = new Object();
    private final int capacity;
    /** Guarded by clockLock: buffers of the regular slabs allocated so far, up to {@link #capacity}. */
    private int allocated;
    /** Guarded by clockLock: buffers of the newest slab not handed out yet (the clock may take them first). */
    private final java.util.ArrayDeque<Buffer> fresh = new java.util.ArrayDeque<>();

    private int hand;
    private volatile LongFunction<MemorySegment> overlay = b -> null;

    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong dirtyCount = new AtomicLong();
    private final AtomicLong overflow = new AtomicLong();

    /**
     * @param io the device
     * @param capacityBytes memory bound, bytes (at least 64 blocks)
     */
    public BufferCache(BlockIo io, long capacityBytes) {
        this.io = io;
        this.capacity = (int) Math.max(64, Math.min(Integer.MAX_VALUE / 2, capacityBytes / Layout.BLOCK_SIZE));
        // The memory is allocated a slab at a time as buffers are needed, not all at once: zeroing a 64 MiB cache
        // up front made a mount (a live upgrade's in particular) take about 200 ms instead of a few.
    }

    /** Buffers per slab the cache grows by until it reaches its capacity (1 MiB). */
    private static final int SLAB_BUFFERS = 256;

    public BlockIo io() {
        return io;
    }

    /** Sets where committed-but-not-checkpointed metadata images come from (the journal). */
    public void setOverlay(LongFunction<MemorySegment> overlay) {
        this.overlay = overlay;
    }

    /**
     * Returns the block's buffer, pinned and loaded.
     *
     * @param read false if the caller overwrites the whole block: the buffer is then zeroed instead of read
     */
    public Buffer get(long block, boolean read) throws IOException {
        Buffer b = pin(block, read, BlockRequest.Priority.METADATA);
        try {
            ensureLoaded(b);
        } catch (IOException e) {
            release(b);
            throw e;
        }
        return b;
    }

    /**
     * Returns the block's buffer pinned if it is cached and loaded, else null: no I/O and no waiting, so a caller
     * holding a file-system lock can use it.
     */
    public Buffer getIfLoaded(long block) {
        Buffer b = map.get(block);
        if (b == null) {
            return null;
        }
        synchronized (b) {
            if (b.block != block) {
                return null;
            }
            if (!b.valid) {
                // A read-ahead that has completed makes the buffer valid here, as ensureLoaded would.
                BlockRequest r = b.pendingRead;
                if (r == null || !r.isDone() || r.result() < 0) {
                    return null;
                }
                b.pendingRead = null;
                b.valid = true;
            }
            b.pins++;
            b.referenced = true;
            hits.incrementAndGet();
            return b;
        }
    }

    /** Starts reading blocks that are not cached, without waiting: sequential read-ahead. */
    public void prefetch(long block, int count) {
        for (int i = 0; i < count; i++) {
            if (map.containsKey(block + i)) {
                continue;
            }
            Buffer b = pin(block + i, true, BlockRequest.Priority.DATA);
            release(b);
        }
    }

    /** True if the block is cached (for tests and status). */
    public boolean contains(long block) {
        return map.containsKey(block);
    }

    public void release(Buffer b) {
        synchronized (b) {
            b.pins--;
        }
    }

    /**
     * Marks a data buffer changed; the caller holds it pinned. Returns true if it was clean until now: only then does
     * the caller have to list the block among its file's dirty blocks (a dirty buffer is listed already).
     */
    public boolean markDirty(Buffer b) {
        synchronized (b) {
            b.version++;
            if (!b.dirty) {
                b.dirty = true;
                dirtyCount.incrementAndGet();
                return true;
            }
            return false;
        }
    }

    /** Drops a cached block without writing it (the block was freed): its contents must never reach the device. */
    public void forget(long block) {
        Buffer b = map.get(block);
        if (b == null) {
            return;
        }
        synchronized (b) {
            if (b.block != block) {
                return;
            }
            if (b.dirty) {
                b.dirty = false;
                dirtyCount.decrementAndGet();
            }
            if (b.pins == 0 && !b.writing && b.txSeq() == 0 && (b.pendingRead == null || b.pendingRead.isDone())) {
                map.remove(block, b);
                b.block = -1;
                b.valid = false;
                b.pendingRead = null;
            }
        }
    }

    /**
     * Takes a dirty data buffer out of write-back because its changes go through the journal from now on.
     *
     * @return the buffer, pinned, if it was cached and dirty; null otherwise
     */
    public Buffer takeDirty(long block) {
        Buffer b = map.get(block);
        if (b == null) {
            return null;
        }
        synchronized (b) {
            if (b.block != block || !b.dirty) {
                return null;
            }
            b.dirty = false;
            dirtyCount.decrementAndGet();
            b.pins++;
            return b;
        }
    }

    /** True if the block is cached with changes not yet written. */
    public boolean isDirty(long block) {
        Buffer b = map.get(block);
        if (b == null) {
            return false;
        }
        synchronized (b) {
            return b.block == block && b.dirty;
        }
    }

    /** Data buffers changed and not yet written. */
    public long dirtyBuffers() {
        return dirtyCount.get();
    }

    public int capacity() {
        return capacity;
    }

    public long hits() {
        return hits.get();
    }

    public long misses() {
        return misses.get();
    }

    public long overflowBuffers() {
        return overflow.get();
    }

    /** Writes the dirty ones among {@code blocks} and waits for them (no flush). */
    public void writeBack(Collection<Long> blocks) throws IOException {
        List<Buffer> pinned = new ArrayList<>();
        List<BlockRequest> requests = new ArrayList<>();
        List<Long> versions = new ArrayList<>();
        for (long block : blocks) {
            Buffer b = map.get(block);
            if (b == null) {
                continue;
            }
            synchronized (b) {
                if (b.block != block || !b.dirty || b.writing) {
                    continue;
                }
                b.pins++;
                b.writing = true;
                versions.add(b.version);
            }
            pinned.add(b);
            requests.add(io.write(block, b.data, BlockRequest.Priority.DATA));
        }
        try {
            io.awaitAll(requests);
        } finally {
            for (int i = 0; i < pinned.size(); i++) {
                Buffer b = pinned.get(i);
                synchronized (b) {
                    b.writing = false;
                    if (b.version == versions.get(i) && b.dirty) {
                        b.dirty = false;
                        dirtyCount.decrementAndGet();
                    }
                    b.pins--;
                }
            }
        }
    }

    /** Writes every dirty data buffer and waits. */
    public void writeBackAll() throws IOException {
        List<Long> dirty = new ArrayList<>();
        map.values().forEach(b -> {
            synchronized (b) {
                if (b.dirty && b.block >= 0) {
                    dirty.add(b.block);
                }
            }
        });
        writeBack(dirty);
    }

    private Buffer pin(long block, boolean read, BlockRequest.Priority priority) {
        while (true) {
            Buffer b = map.get(block);
            if (b != null) {
                synchronized (b) {
                    if (b.block == block) {
                        b.pins++;
                        b.referenced = true;
                        hits.incrementAndGet();
                        return b;
                    }
                }
                continue;
            }
            Buffer victim = victim();
            synchronized (victim) {
                victim.block = block;
                victim.pins = 1;
                victim.valid = false;
                victim.referenced = true;
                victim.pendingRead = null;
            }
            Buffer raced = map.putIfAbsent(block, victim);
            if (raced != null) {
                synchronized (victim) {
                    victim.block = -1;
                    victim.pins = 0;
                }
                continue;
            }
            misses.incrementAndGet();
            // Others may find the buffer in the map from here on; they wait in ensureLoaded until it is valid or
            // its read is under way.
            MemorySegment image = overlay.apply(block);
            if (image != null) {
                MemorySegment.copy(image, 0, victim.data, 0, Layout.BLOCK_SIZE);
                synchronized (victim) {
                    victim.valid = true;
                    victim.notifyAll();
                }
            } else if (!read) {
                victim.data.fill((byte) 0);
                synchronized (victim) {
                    victim.valid = true;
                    victim.notifyAll();
                }
            } else {
                BlockRequest r = io.startRead(block, victim.data, priority);
                synchronized (victim) {
                    victim.pendingRead = r;
                    victim.notifyAll();
                }
            }
            return victim;
        }
    }

    private void ensureLoaded(Buffer b) throws IOException {
        BlockRequest r;
        synchronized (b) {
            boolean interrupted = false;
            // Not ended by an interrupt: the read finishes anyway, and an error here would stop the file system
            // writing for what is no device error. The interrupt is kept for the caller.
            while (!b.valid && b.pendingRead == null) {
                try {
                    b.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (b.valid) {
                return;
            }
            r = b.pendingRead;
        }
        int result = io.scheduler().await(r);
        synchronized (b) {
            if (result < 0) {
                throw new IOException("device error " + (-result) + " reading block " + b.block);
            }
            if (b.pendingRead == r) {
                b.pendingRead = null;
                b.valid = true;
            }
        }
    }

    /** Finds a reusable buffer: unpinned, out of the running transaction, clean; removes it from the map. */
    private Buffer victim() {
        while (true) {
            Buffer dirtyCandidate = null;
            synchronized (clockLock) {
                for (Buffer f; (f = fresh.poll()) != null; ) {
                    synchronized (f) {
                        if (f.block < 0 && f.pins == 0) {
                            f.pins = 1;
                            return f;
                        }
                    }
                }
                if (allocated < capacity) {
                    return grow();
                }
                int n = slots.size();
                for (int scanned = 0; scanned < 2 * n; scanned++) {
                    Buffer b = slots.get(hand);
                    hand = (hand + 1) % n;
                    synchronized (b) {
                        if (b.block < 0 && b.pins == 0) {
                            b.pins = 1;
                            return b;
                        }
                        if (b.pins > 0 || b.txSeq() != 0 || b.writing) {
                            continue;
                        }
                        if (b.pendingRead != null && !b.pendingRead.isDone()) {
                            continue;
                        }
                        if (b.referenced) {
                            b.referenced = false;
                            continue;
                        }
                        if (b.dirty) {
                            // The coldest buffer holds unwritten data: write it back, then take it (or another).
                            dirtyCandidate = b;
                            break;
                        }
                        map.remove(b.block, b);
                        b.block = -1;
                        b.valid = false;
                        b.pendingRead = null;
                        b.pins = 1;
                        return b;
                    }
                }
                if (dirtyCandidate == null) {
                    overflow.incrementAndGet();
                    Buffer extra = new Buffer(arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE));
                    extra.pins = 1;
                    slots.add(extra);
                    return extra;
                }
            }
            long block;
            synchronized (dirtyCandidate) {
                block = dirtyCandidate.block;
            }
            try {
                writeBack(List.of(block));
            } catch (IOException e) {
                // The block stays dirty; the next scan picks another victim or grows the cache.
                synchronized (clockLock) {
                    overflow.incrementAndGet();
                    Buffer extra = new Buffer(arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE));
                    extra.pins = 1;
                    slots.add(extra);
                    return extra;
                }
            }
        }
    }

    /** Under clockLock: allocates the next slab of buffers and returns its first one, pinned. */
    private Buffer grow() {
        int count = Math.min(SLAB_BUFFERS, capacity - allocated);
        MemorySegment slab = arena.allocate((long) count * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        for (int i = 0; i < count; i++) {
            slots.add(new Buffer(slab.asSlice((long) i * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE)));
        }
        allocated += count;
        Buffer first = slots.get(slots.size() - count);
        fresh.addAll(slots.subList(slots.size() - count + 1, slots.size()));
        synchronized (first) {
            first.pins = 1;
        }
        return first;
    }

    @Override
    public void close() {
        map.clear();
        arena.close();
    }
}
