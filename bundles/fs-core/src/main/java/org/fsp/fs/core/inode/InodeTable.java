package org.fsp.fs.core.inode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.Checksums;
import org.fsp.fs.core.layout.ExtentBlockDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;

/**
 * The inode table: reads inodes from their table blocks into {@link Inode} objects (one object per inode number,
 * cached for the life of the mount) and writes them back into the running transaction.
 *
 * <p>A typical sequence is: {@code Inode i = table.get(ino)}; lock it; change fields; {@code table.store(tx, i,
 * extentsChanged)}; unlock. New inodes come from {@link #create}; {@link #free} zeroes one on disk.
 */
public final class InodeTable {

    private final BufferCache cache;
    private final Geometry geometry;
    private final Allocator alloc;
    /** An inode's worth of zeros, copied over a slot before it is rewritten (a slice to fill was one allocation per store). */
    private static final MemorySegment ZERO_INODE = Arena.global().allocate(InodeDescriptor.INODE_SIZE);

    private final ConcurrentHashMap<Long, Inode> inodes = new ConcurrentHashMap<>();

    public InodeTable(BufferCache cache, Geometry g, Allocator alloc) {
        this.cache = cache;
        this.geometry = g;
        this.alloc = alloc;
    }

    /** Inodes cached in memory. */
    public int cached() {
        return inodes.size();
    }

    /** The inode, loaded and checked on first use. */
    public Inode get(long ino) throws IOException {
        Inode i = inodes.get(ino);
        if (i != null) {
            return i;
        }
        if (ino <= 0 || ino >= geometry.inodeCount()) {
            throw new CorruptMetadataException("inode number " + ino + " out of range");
        }
        Inode loaded = load(ino);
        Inode raced = inodes.putIfAbsent(ino, loaded);
        return raced == null ? loaded : raced;
    }

    private Inode load(long ino) throws IOException {
        Inode i = new Inode(ino);
        int base = geometry.inodeOffset(ino);
        Buffer b = cache.get(geometry.inodeBlock(ino), true);
        int extentCount;
        long chainHead;
        try {
            MemorySegment s = b.data();
            if (!InodeDescriptor.valid(s, base)) {
                throw new CorruptMetadataException("inode " + ino + " checksum mismatch");
            }
            i.mode = s.get(Layout.INT, base + InodeDescriptor.MODE_OFFSET);
            if (i.mode == 0) {
                throw new CorruptMetadataException("directory entry points at free inode " + ino);
            }
            i.nlink = s.get(Layout.INT, base + InodeDescriptor.NLINK_OFFSET);
            i.uid = s.get(Layout.INT, base + InodeDescriptor.UID_OFFSET);
            i.gid = s.get(Layout.INT, base + InodeDescriptor.GID_OFFSET);
            i.size = s.get(Layout.LONG, base + InodeDescriptor.SIZE_OFFSET);
            i.blocks = s.get(Layout.LONG, base + InodeDescriptor.BLOCKS_OFFSET);
            i.atime = s.get(Layout.LONG, base + InodeDescriptor.ATIME_OFFSET);
            i.mtime = s.get(Layout.LONG, base + InodeDescriptor.MTIME_OFFSET);
            i.ctime = s.get(Layout.LONG, base + InodeDescriptor.CTIME_OFFSET);
            i.generation = s.get(Layout.INT, base + InodeDescriptor.GENERATION_OFFSET);
            i.parent = s.get(Layout.LONG, base + InodeDescriptor.PARENT_OFFSET);
            i.xattrBlock = s.get(Layout.LONG, base + InodeDescriptor.XATTR_BLOCK_OFFSET);
            i.rdev = s.get(Layout.INT, base + InodeDescriptor.RDEV_OFFSET);
            extentCount = s.get(Layout.INT, base + InodeDescriptor.EXTENT_COUNT_OFFSET);
            chainHead = s.get(Layout.LONG, base + InodeDescriptor.EXTENT_CHAIN_OFFSET);
            for (int k = 0; k < Math.min(extentCount, InodeDescriptor.INLINE_EXTENTS); k++) {
                int at = base + InodeDescriptor.EXTENTS_OFFSET + k * InodeDescriptor.EXTENT_SIZE;
                i.extents.addLoaded(
                        Integer.toUnsignedLong(s.get(Layout.INT, at)),
                        Integer.toUnsignedLong(s.get(Layout.INT, at + 4)),
                        s.get(Layout.LONG, at + 8));
            }
        } finally {
            cache.release(b);
        }
        long[] chain = new long[0];
        long next = chainHead;
        int remaining = extentCount - Math.min(extentCount, InodeDescriptor.INLINE_EXTENTS);
        while (remaining > 0) {
            if (next < geometry.dataStart() || next >= geometry.totalBlocks() || chain.length > 1 << 20) {
                throw new CorruptMetadataException("inode " + ino + " extent chain points at block " + next);
            }
            chain = Arrays.copyOf(chain, chain.length + 1);
            chain[chain.length - 1] = next;
            Buffer eb = cache.get(next, true);
            try {
                MemorySegment s = eb.data();
                String problem = ExtentBlockDescriptor.validate(s, ino);
                if (problem != null) {
                    throw new CorruptMetadataException("inode " + ino + " extent block " + next + ": " + problem);
                }
                int n = s.get(Layout.INT, ExtentBlockDescriptor.COUNT_OFFSET);
                for (int k = 0; k < n; k++) {
                    int at = ExtentBlockDescriptor.EXTENTS_OFFSET + k * InodeDescriptor.EXTENT_SIZE;
                    i.extents.addLoaded(
                            Integer.toUnsignedLong(s.get(Layout.INT, at)),
                            Integer.toUnsignedLong(s.get(Layout.INT, at + 4)),
                            s.get(Layout.LONG, at + 8));
                }
                remaining -= n;
                next = s.get(Layout.LONG, ExtentBlockDescriptor.NEXT_OFFSET);
                if (n == 0) {
                    break;
                }
            } finally {
                cache.release(eb);
            }
        }
        i.chain = chain;
        return i;
    }

    /**
     * Allocates and initialises a new inode near {@code goal} (the parent's number); null if none is free.
     */
    public Inode create(Transaction tx, long goal, int mode, int uid, int gid, long now, long parent)
            throws IOException {
        Allocator.NewInode allocated = alloc.allocInode(tx, goal);
        if (allocated == null) {
            return null;
        }
        long ino = allocated.ino();
        Inode i = new Inode(ino);
        i.mode = mode;
        i.nlink = 1;
        i.uid = uid;
        i.gid = gid;
        i.atime = now;
        i.mtime = now;
        i.ctime = now;
        i.parent = parent;
        // A fresh generation tells this inode from earlier ones with the same number: a re-open token names both.
        i.generation = 1 + ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE - 1);
        i.lock.lock();
        try {
            store(tx, i, true, !allocated.tableBlockWasEmpty());
        } finally {
            i.lock.unlock();
        }
        inodes.put(ino, i);
        return i;
    }

    /**
     * Writes the inode (and, if {@code extentsChanged}, its extent chain) into the transaction. The caller holds the
     * inode's lock.
     */
    public void store(Transaction tx, Inode i, boolean extentsChanged) throws IOException {
        store(tx, i, extentsChanged, true);
    }

    /** {@link #store}; {@code readBlock} false when the table block is known to be all zeros (all its inodes free). */
    private void store(Transaction tx, Inode i, boolean extentsChanged, boolean readBlock) throws IOException {
        ExtentMap ex = i.extents;
        if (extentsChanged) {
            storeChain(tx, i);
        }
        int base = geometry.inodeOffset(i.ino);
        Buffer b = cache.get(geometry.inodeBlock(i.ino), readBlock);
        try {
            MemorySegment s = b.data();
            MemorySegment.copy(ZERO_INODE, 0, s, base, InodeDescriptor.INODE_SIZE);
            s.set(Layout.INT, base + InodeDescriptor.MODE_OFFSET, i.mode);
            s.set(Layout.INT, base + InodeDescriptor.NLINK_OFFSET, i.nlink);
            s.set(Layout.INT, base + InodeDescriptor.UID_OFFSET, i.uid);
            s.set(Layout.INT, base + InodeDescriptor.GID_OFFSET, i.gid);
            s.set(Layout.LONG, base + InodeDescriptor.SIZE_OFFSET, i.size);
            s.set(Layout.LONG, base + InodeDescriptor.BLOCKS_OFFSET, i.blocks);
            s.set(Layout.LONG, base + InodeDescriptor.ATIME_OFFSET, i.atime);
            s.set(Layout.LONG, base + InodeDescriptor.MTIME_OFFSET, i.mtime);
            s.set(Layout.LONG, base + InodeDescriptor.CTIME_OFFSET, i.ctime);
            s.set(Layout.INT, base + InodeDescriptor.GENERATION_OFFSET, i.generation);
            s.set(Layout.INT, base + InodeDescriptor.EXTENT_COUNT_OFFSET, ex.count());
            s.set(Layout.LONG, base + InodeDescriptor.EXTENT_CHAIN_OFFSET, i.chain.length > 0 ? i.chain[0] : 0);
            s.set(Layout.LONG, base + InodeDescriptor.PARENT_OFFSET, i.parent);
            s.set(Layout.LONG, base + InodeDescriptor.XATTR_BLOCK_OFFSET, i.xattrBlock);
            s.set(Layout.INT, base + InodeDescriptor.RDEV_OFFSET, i.rdev);
            for (int k = 0; k < Math.min(ex.count(), InodeDescriptor.INLINE_EXTENTS); k++) {
                int at = base + InodeDescriptor.EXTENTS_OFFSET + k * InodeDescriptor.EXTENT_SIZE;
                s.set(Layout.INT, at, (int) ex.logical(k));
                s.set(Layout.INT, at + 4, (int) ex.length(k));
                s.set(Layout.LONG, at + 8, ex.physical(k));
            }
            InodeDescriptor.seal(s, base);
            tx.dirty(b);
        } finally {
            cache.release(b);
        }
        i.metaSeq = tx.seq();
    }

    private void storeChain(Transaction tx, Inode i) throws IOException {
        ExtentMap ex = i.extents;
        int overflow = Math.max(0, ex.count() - InodeDescriptor.INLINE_EXTENTS);
        int need = (overflow + ExtentBlockDescriptor.CAPACITY - 1) / ExtentBlockDescriptor.CAPACITY;
        long[] chain = i.chain;
        if (need > chain.length) {
            long[] grown = Arrays.copyOf(chain, need);
            for (int k = chain.length; k < need; k++) {
                long goal = k > 0 ? grown[k - 1] + 1 : (ex.count() > 0 ? ex.physical(0) : 0);
                long[] run = alloc.allocBlocks(tx, goal, 1);
                if (run == null) {
                    for (int u = chain.length; u < k; u++) {
                        alloc.freeBlocks(tx, grown[u], 1);
                        i.blocks--;
                    }
                    throw new NoSpaceException();
                }
                grown[k] = run[0];
                i.blocks++;
            }
            chain = grown;
        } else if (need < chain.length) {
            for (int k = need; k < chain.length; k++) {
                alloc.freeBlocks(tx, chain[k], 1);
                cache.forget(chain[k]);
                i.blocks--;
            }
            chain = Arrays.copyOf(chain, need);
        }
        i.chain = chain;
        int e = InodeDescriptor.INLINE_EXTENTS;
        for (int k = 0; k < chain.length; k++) {
            Buffer b = cache.get(chain[k], false);
            try {
                MemorySegment s = b.data();
                s.fill((byte) 0);
                int n = Math.min(ExtentBlockDescriptor.CAPACITY, ex.count() - e);
                s.set(Layout.INT, ExtentBlockDescriptor.MAGIC_OFFSET, ExtentBlockDescriptor.MAGIC);
                s.set(Layout.INT, ExtentBlockDescriptor.COUNT_OFFSET, n);
                s.set(Layout.LONG, ExtentBlockDescriptor.NEXT_OFFSET, k + 1 < chain.length ? chain[k + 1] : 0);
                s.set(Layout.LONG, ExtentBlockDescriptor.OWNER_OFFSET, i.ino);
                for (int m = 0; m < n; m++, e++) {
                    int at = ExtentBlockDescriptor.EXTENTS_OFFSET + m * InodeDescriptor.EXTENT_SIZE;
                    s.set(Layout.INT, at, (int) ex.logical(e));
                    s.set(Layout.INT, at + 4, (int) ex.length(e));
                    s.set(Layout.LONG, at + 8, ex.physical(e));
                }
                Checksums.sealTail(s);
                tx.dirty(b);
            } finally {
                cache.release(b);
            }
        }
    }

    /** Zeroes the inode on disk, frees its number and forgets it. The caller has freed its blocks. */
    public void free(Transaction tx, Inode i) throws IOException {
        int base = geometry.inodeOffset(i.ino);
        Buffer b = cache.get(geometry.inodeBlock(i.ino), true);
        try {
            b.data().asSlice(base, InodeDescriptor.INODE_SIZE).fill((byte) 0);
            tx.dirty(b);
        } finally {
            cache.release(b);
        }
        i.freed = true;
        inodes.remove(i.ino, i);
        alloc.freeInode(tx, i.ino);
    }
}
