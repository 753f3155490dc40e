package org.fsp.fs.core.alloc;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;

/**
 * Block and inode allocation over the two bitmaps. Each bitmap block is an allocation group with its own lock, so
 * allocators in different groups never contend. An in-memory copy of each bitmap answers searches; every change is
 * also made in the bitmap's cached block inside the caller's transaction.
 *
 * <p>Freed blocks are cleared on disk at once (in the transaction) but stay unavailable in memory until a checkpoint
 * has written home every transaction up to the one that freed them: until then the journal may still replay old
 * metadata into them, and the freeing transaction may not commit at all.
 *
 * <p>A typical sequence is: {@code long[] run = alloc.allocBlocks(tx, goal, n)}; ...; {@code alloc.freeBlocks(tx,
 * start, len)}; after a checkpoint, {@code alloc.releaseFreed(seq)}.
 */
public final class Allocator {

    /** One bitmap (inodes or blocks) split in groups of one bitmap block each. */
    private final class Map {
        final long start;
        final long items;
        final long[][] words;
        final ReentrantLock[] locks;
        final AtomicLong free = new AtomicLong();
        /** The bitmap blocks, pinned in the cache from {@link #load} on. */
        final Buffer[] buffers;

        Map(long start, long blocks, long items) {
            this.start = start;
            this.items = items;
            this.buffers = new Buffer[(int) blocks];
            this.words = new long[(int) blocks][BitmapDescriptor.BITS_PER_BLOCK / 64];
            this.locks = new ReentrantLock[(int) blocks];
            for (int i = 0; i < blocks; i++) {
                locks[i] = new ReentrantLock();
            }
        }

        void load(BufferCache cache) throws IOException {
            long used = 0;
            for (int gi = 0; gi < words.length; gi++) {
                // Bitmap blocks stay pinned for the whole mount: an allocation never waits for a read under its
                // group's lock.
                Buffer b = cache.get(start + gi, true);
                String problem = BitmapDescriptor.validate(b.data());
                if (problem != null) {
                    cache.release(b);
                    throw new CorruptMetadataException("bitmap block " + (start + gi) + ": " + problem);
                }
                MemorySegment.copy(b.data(), Layout.LONG, 0, words[gi], 0, words[gi].length);
                buffers[gi] = b;
                for (long w : words[gi]) {
                    used += Long.bitCount(w);
                }
            }
            long padding = (long) words.length * BitmapDescriptor.BITS_PER_BLOCK - items;
            free.set(items - (used - padding));
        }

        boolean isSet(long item) {
            int g = (int) (item / BitmapDescriptor.BITS_PER_BLOCK);
            int bit = (int) (item % BitmapDescriptor.BITS_PER_BLOCK);
            locks[g].lock();
            try {
                return (words[g][bit >>> 6] & (1L << bit)) != 0;
            } finally {
                locks[g].unlock();
            }
        }

        /** Sets or clears bits [bit, bit+len) of group g on disk (in tx); caller holds the group lock. */
        void writeBits(Transaction tx, int g, int bit, int len, boolean value) {
            Buffer b = buffers[g];
            for (int i = 0; i < len; i++) {
                BitmapDescriptor.set(b.data(), bit + i, value);
            }
            BitmapDescriptor.seal(b.data());
            tx.dirty(b);
        }

        /** Allocates up to max consecutive items starting the search at goal; returns {start, len} or null. */
        long[] alloc(Transaction tx, long goal, int max) throws IOException {
            int groups = words.length;
            int g0 = (int) (Math.max(0, Math.min(goal, items - 1)) / BitmapDescriptor.BITS_PER_BLOCK);
            for (int k = 0; k < groups; k++) {
                int g = (g0 + k) % groups;
                int from = k == 0 ? (int) (Math.max(0, goal) % BitmapDescriptor.BITS_PER_BLOCK) : 0;
                if (k == 0 && goal >= items) {
                    from = 0;
                }
                locks[g].lock();
                try {
                    long[] w = words[g];
                    int bit = findClear(w, from);
                    if (bit < 0 && from > 0) {
                        bit = findClear(w, 0);
                    }
                    if (bit < 0) {
                        continue;
                    }
                    int len = 1;
                    while (len < max
                            && bit + len < BitmapDescriptor.BITS_PER_BLOCK
                            && (w[(bit + len) >>> 6] & (1L << (bit + len))) == 0) {
                        len++;
                    }
                    for (int i = 0; i < len; i++) {
                        w[(bit + i) >>> 6] |= 1L << (bit + i);
                    }
                    writeBits(tx, g, bit, len, true);
                    free.addAndGet(-len);
                    return new long[] {(long) g * BitmapDescriptor.BITS_PER_BLOCK + bit, len};
                } finally {
                    locks[g].unlock();
                }
            }
            return null;
        }

        void clear(Transaction tx, long item, long len, boolean inMemoryToo) throws IOException {
            eachGroup(item, len, (g, bit, n, first) -> {
                for (int i = 0; i < n; i++) {
                    // The bitmap block is checked too: a block freed earlier and not yet released is still set
                    // in memory, and freeing it twice would count it free twice.
                    if ((words[g][(bit + i) >>> 6] & (1L << (bit + i))) == 0
                            || !BitmapDescriptor.get(buffers[g].data(), bit + i)) {
                        throw new CorruptMetadataException("freeing item " + (first + i) + " that is not in use");
                    }
                }
                writeBits(tx, g, bit, n, false);
                if (inMemoryToo) {
                    freeInMemory(g, bit, n);
                }
            });
        }

        void release(long item, long len) {
            eachGroup(item, len, (g, bit, n, first) -> freeInMemory(g, bit, n));
        }

        /**
         * What is done to the part of a run of items that lies in one group: bits {@code bit} to {@code bit + n - 1}
         * of group {@code g}, the first of them item {@code first}.
         */
        private interface GroupPart<E extends Exception> {
            void apply(int g, int bit, int n, long first) throws E;
        }

        /**
         * Splits items {@code [item, item + len)} at group boundaries and applies {@code part} to each piece in turn,
         * under that group's lock; {@link #clear} and {@link #release} walk their runs this way.
         */
        private <E extends Exception> void eachGroup(long item, long len, GroupPart<E> part) throws E {
            long end = item + len;
            while (item < end) {
                int g = (int) (item / BitmapDescriptor.BITS_PER_BLOCK);
                int bit = (int) (item % BitmapDescriptor.BITS_PER_BLOCK);
                int n = (int) Math.min(end - item, BitmapDescriptor.BITS_PER_BLOCK - bit);
                locks[g].lock();
                try {
                    part.apply(g, bit, n, item);
                } finally {
                    locks[g].unlock();
                }
                item += n;
            }
        }

        /**
         * Under {@code locks[g]}: clears bits {@code bit} to {@code bit + n - 1} of group {@code g} in memory and
         * counts them free: {@link #clear} with the bitmap write, {@link #release} once the free is checkpointed.
         */
        private void freeInMemory(int g, int bit, int n) {
            for (int i = 0; i < n; i++) {
                words[g][(bit + i) >>> 6] &= ~(1L << (bit + i));
            }
            free.addAndGet(n);
        }

        private int findClear(long[] w, int from) {
            int i = from >>> 6;
            if (i >= w.length) {
                return -1;
            }
            long first = ~w[i] & (-1L << (from & 63));
            if (first != 0) {
                return (i << 6) + Long.numberOfTrailingZeros(first);
            }
            for (i++; i < w.length; i++) {
                if (w[i] != -1L) {
                    return (i << 6) + Long.numberOfTrailingZeros(~w[i]);
                }
            }
            return -1;
        }
    }

    private record Freed(long seq, long start, long len) {}

    private final BufferCache cache;
    private final Geometry geometry;
    private final Map blocks;
    private final Map inodes;
    private final List<Freed> pending = new ArrayList<>();
    private final AtomicLong pendingBlocks = new AtomicLong();

    public Allocator(BufferCache cache, Geometry g) {
        this.cache = cache;
        this.geometry = g;
        this.blocks = new Map(g.blockBitmapStart(), g.blockBitmapBlocks(), g.totalBlocks());
        this.inodes = new Map(g.inodeBitmapStart(), g.inodeBitmapBlocks(), g.inodeCount());
    }

    /** Reads both bitmaps (checking their checksums) into memory. */
    public void load() throws IOException {
        blocks.load(cache);
        inodes.load(cache);
    }

    /**
     * Allocates a run of up to {@code max} free blocks, as close after {@code goal} as possible.
     *
     * @return {start, length}, or null if the device is full
     */
    public long[] allocBlocks(Transaction tx, long goal, int max) throws IOException {
        long g = goal < geometry.dataStart() ? geometry.dataStart() : goal;
        return blocks.alloc(tx, g, max);
    }

    /** Frees blocks in the transaction; they become reusable after the checkpoint that follows its commit. */
    public void freeBlocks(Transaction tx, long start, long len) throws IOException {
        if (start < geometry.dataStart() || start + len > geometry.totalBlocks()) {
            throw new CorruptMetadataException("freeing blocks " + start + "+" + len + " outside the data region");
        }
        blocks.clear(tx, start, len, false);
        tx.freed(start, len);
        synchronized (pending) {
            pending.add(new Freed(tx.seq(), start, len));
        }
        pendingBlocks.addAndGet(len);
    }

    /** Makes blocks freed by transactions up to {@code seq} reusable: their frees are committed and checkpointed. */
    public void releaseFreed(long seq) {
        List<Freed> ready = new ArrayList<>();
        synchronized (pending) {
            pending.removeIf(f -> {
                if (f.seq() <= seq) {
                    ready.add(f);
                    return true;
                }
                return false;
            });
        }
        for (Freed f : ready) {
            blocks.release(f.start(), f.len());
            pendingBlocks.addAndGet(-f.len());
        }
    }

    /** Blocks freed but not reusable yet. */
    public long pendingFreeBlocks() {
        return pendingBlocks.get();
    }

    /**
     * A newly allocated inode number, and whether every other inode of its inode-table block was free at that
     * moment: free inodes are all zeros, so that block's contents are known without reading it.
     */
    public record NewInode(long ino, boolean tableBlockWasEmpty) {}

    /** Allocates an inode number, searching from {@code goal}; null if none is free. */
    public NewInode allocInode(Transaction tx, long goal) throws IOException {
        long[] r = inodes.alloc(tx, goal, 1);
        if (r == null) {
            return null;
        }
        long ino = r[0];
        int perBlock = InodeDescriptor.INODES_PER_BLOCK;
        int g = (int) (ino / BitmapDescriptor.BITS_PER_BLOCK);
        int first = (int) (ino % BitmapDescriptor.BITS_PER_BLOCK) / perBlock * perBlock;
        boolean empty = true;
        inodes.locks[g].lock();
        try {
            for (int bit = first; bit < first + perBlock; bit++) {
                long item = (long) g * BitmapDescriptor.BITS_PER_BLOCK + bit;
                if (item != ino && item != 0 && (inodes.words[g][bit >>> 6] & (1L << bit)) != 0) {
                    empty = false;
                }
            }
        } finally {
            inodes.locks[g].unlock();
        }
        return new NewInode(ino, empty && ino >= perBlock);
    }

    public void freeInode(Transaction tx, long ino) throws IOException {
        inodes.clear(tx, ino, 1, true);
    }

    public boolean blockInUse(long block) {
        return blocks.isSet(block);
    }

    public boolean inodeInUse(long ino) {
        return inodes.isSet(ino);
    }

    /** Free blocks, not counting those waiting for a checkpoint. */
    public long freeBlocks() {
        return blocks.free.get();
    }

    public long freeInodes() {
        return inodes.free.get();
    }
}
