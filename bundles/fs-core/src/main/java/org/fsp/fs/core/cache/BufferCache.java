package org.fsp.fs.core.cache;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
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
 *
 * <p>Its length (about 600 lines): pinning, loading, eviction, write-back and forgetting a freed block are the
 * transitions of one state per buffer (block, pins, valid, pending read, dirty, writing, version), made under the
 * buffer's monitor and, for the clock and the free list, under one lock; each transition must respect what the others
 * assume (a dirty or journaled buffer is never reused, a forgotten block never written), which is checked best where
 * they all are. The state itself is {@link Buffer}'s, the background write-back and the dirty limit
 * {@link WriteBack}'s, and the way to the device {@link BlockIo}'s.
 */
public final class BufferCache implements AutoCloseable {

    private final BlockIo io;
    private final Arena arena = Arena.ofShared();
    /**
     * Block number to buffer. Every data read and write looks blocks up here, so the map is lock-free for readers and
     * takes primitive keys: a {@code ConcurrentHashMap<Long, Buffer>} allocated a {@code Long} per lookup.
     */
    private final NonBlockingHashMapLong<Buffer> map = new NonBlockingHashMapLong<>();

    /**
     * The dirty data buffers by block, kept with each buffer's dirty flag under its monitor: write-back and sync
     * visit these instead of scanning every buffer of a cache that may hold millions.
     */
    private final NonBlockingHashMapLong<Buffer> dirtyIndex = new NonBlockingHashMapLong<>();

    private final List<Buffer> slots = new ArrayList<>();
    private final Object clockLock = new Object();
    private final int capacity;
    /** Guarded by clockLock: buffers of the regular slabs allocated so far, up to {@link #capacity}. */
    private int allocated;
    /**
     * Guarded by clockLock: buffers holding no block, taken before the cache grows: the newest slab's unused buffers
     * and buffers of freed blocks. The clock only runs once the bound is reached, so without this list a large bound
     * would give every new block fresh memory (a page fault and zeroing per 4 KiB) while freed buffers sat idle.
     */
    private final java.util.ArrayDeque<Buffer> fresh = new java.util.ArrayDeque<>();

    private int hand;
    private volatile Overlay overlay = (block, dst) -> false;

    /** Where committed-but-not-checkpointed metadata images come from (the journal). */
    @FunctionalInterface
    public interface Overlay {
        /** Copies the newest image of {@code block} into {@code dst} (one block); false if there is none. */
        boolean copy(long block, MemorySegment dst);
    }

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

    /** The smallest default bound, bytes. */
    static final long MIN_DEFAULT_BYTES = 64L << 20;

    /**
     * The default bound, as the kernel's page cache has the machine's memory: a quarter of the physical memory (or of
     * the cgroup's memory limit if that is lower), at least 64 MiB. Memory is taken a slab at a time as the cache
     * fills, so a large bound costs nothing until it is used.
     */
    public static long defaultCapacityBytes() {
        long total = memTotalBytes();
        long cgroup = cgroupLimitBytes();
        if (cgroup > 0 && (total <= 0 || cgroup < total)) {
            total = cgroup;
        }
        return total <= 0 ? MIN_DEFAULT_BYTES : Math.max(MIN_DEFAULT_BYTES, total / 4);
    }

    /** MemTotal from /proc/meminfo, bytes, or -1. */
    private static long memTotalBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    String[] f = line.trim().split("\\s+");
                    return Long.parseLong(f[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or /proc not mounted: the minimum applies.
        }
        return -1;
    }

    /** The cgroup v2 memory limit of this process, bytes, or -1 (none, "max", or not readable). */
    private static long cgroupLimitBytes() {
        try {
            String v = java.nio.file.Files.readString(java.nio.file.Path.of("/sys/fs/cgroup/memory.max"))
                    .strip();
            return v.equals("max") ? -1 : Long.parseLong(v);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Buffers per slab the cache grows by until it reaches its capacity (1 MiB). */
    private static final int SLAB_BUFFERS = 256;

    public BlockIo io() {
        return io;
    }

    /** Sets where committed-but-not-checkpointed metadata images come from (the journal). */
    public void setOverlay(Overlay overlay) {
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
                dirtyIndex.put(b.block, b);
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
                dirtyIndex.remove(block, b);
            }
            if (b.pins == 0 && !b.writing && b.txSeq() == 0 && (b.pendingRead == null || b.pendingRead.isDone())) {
                map.remove(block, b);
                b.block = -1;
                b.valid = false;
                b.pendingRead = null;
            } else {
                return;
            }
        }
        synchronized (clockLock) {
            fresh.addLast(b);
        }
    }

    /**
     * Takes a dirty data buffer out of write-back because its changes go through the journal from now on.
     *
     * @return the buffer, pinned, if it was cached and dirty; null otherwise
     */
    public Buffer takeDirty(long block) {
        return take(block, false);
    }

    /**
     * {@link #takeDirty}, but only for a buffer no write-back is writing now: the caller journals it and must not race
     * an older copy of it on its way home.
     *
     * @return the buffer, pinned, if it was cached, dirty and not being written; null otherwise
     */
    public Buffer takeDirtyIdle(long block) {
        return take(block, true);
    }

    private Buffer take(long block, boolean unlessWriting) {
        Buffer b = map.get(block);
        if (b == null) {
            return null;
        }
        synchronized (b) {
            if (b.block != block || !b.dirty || (unlessWriting && b.writing)) {
                return null;
            }
            b.dirty = false;
            dirtyCount.decrementAndGet();
            dirtyIndex.remove(block, b);
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

    /** Buffers of the regular slabs allocated so far (memory taken, at most {@link #capacity}). */
    int allocatedBuffers() {
        synchronized (clockLock) {
            return allocated;
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

    /**
     * Writes the dirty ones among {@code blocks} and waits for them (no flush). They are queued in block order, so
     * that the block scheduler merges the runs of adjacent blocks into large device requests instead of sending one
     * request per 4 KiB block in whatever order a hash set keeps them.
     */
    public void writeBack(Collection<Long> blocks) throws IOException {
        long[] sorted = new long[blocks.size()];
        int count = 0;
        for (long block : blocks) {
            if (count == sorted.length) {
                sorted = Arrays.copyOf(sorted, count * 2 + 1);
            }
            sorted[count++] = block;
        }
        Arrays.sort(sorted, 0, count);
        writeBackSorted(sorted, count);
    }

    /** Writes the dirty ones among {@code blocks[0..count)} (in that order) and waits; returns how many it wrote. */
    private int writeBackSorted(long[] blocks, int count) throws IOException {
        List<Buffer> pinned = new ArrayList<>();
        List<BlockRequest> requests = new ArrayList<>();
        List<Long> versions = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            long block = blocks[k];
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
                        dirtyIndex.remove(b.block, b);
                    }
                    b.pins--;
                }
            }
        }
        return pinned.size();
    }

    /** Writes every dirty data buffer and waits. */
    public void writeBackAll() throws IOException {
        writeBackDirty(Integer.MAX_VALUE, -1);
    }

    /**
     * Writes dirty data buffers in block order, {@code batch} blocks at a time, until no more than {@code target}
     * remain dirty (-1: all that were dirty when it started). Background write-back calls it; writers waiting on the
     * dirty limit go on after each batch. Returns how many blocks it wrote.
     */
    public long writeBackDirty(int batch, long target) throws IOException {
        long[] dirty = new long[64];
        int n = 0;
        for (Buffer b : dirtyIndex.values()) {
            synchronized (b) {
                if (b.dirty && b.block >= 0) {
                    if (n == dirty.length) {
                        dirty = Arrays.copyOf(dirty, n * 2);
                    }
                    dirty[n++] = b.block;
                }
            }
        }
        Arrays.sort(dirty, 0, n);
        long written = 0;
        for (int from = 0; from < n; from += batch) {
            if (target >= 0 && dirtyCount.get() <= target) {
                break;
            }
            int len = (int) Math.min(batch, (long) n - from);
            written += writeBackSorted(Arrays.copyOfRange(dirty, from, from + len), len);
            Runnable r = onBatchWritten;
            if (r != null) {
                r.run();
            }
        }
        return written;
    }

    /** Told after each batch of {@link #writeBackDirty}: the write-back thread wakes writers waiting for room. */
    private volatile Runnable onBatchWritten;

    void onBatchWritten(Runnable r) {
        onBatchWritten = r;
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
            if (overlay.copy(block, victim.data)) {
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
        dirtyIndex.clear();
        arena.close();
    }
}
