package org.fsp.fs.core.dir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.fsp.api.fs.DirEntry;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.inode.InodeTable;
import org.fsp.fs.core.inode.NoSpaceException;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.DirBlockDescriptor;
import org.fsp.fs.core.layout.Layout;

/**
 * A directory's entries: the on-disk blocks ({@link DirBlockDescriptor}) plus an in-memory index built when the
 * directory is first used, so that lookup is one hash probe and insertion and removal touch one block, however many
 * entries the directory holds (100,000 and more).
 *
 * <p>Lookups ({@link #lookup}, {@link #readdir}, {@link #isEmpty}) need no lock; changes happen under the directory
 * inode's lock, inside a transaction. A typical sequence is: {@code Directory d = Directory.of(dirInode, ...)};
 * {@code d.lookup(name)}; under the lock {@code d.add(tx, name, ino, type)} or {@code d.remove(tx, name)}.
 */
public final class Directory {

    /** One live entry. {@code pos} is its byte position in the directory: block * 4096 + record offset. */
    public record Slot(long ino, int type, long pos) {}

    private final Inode inode;
    private final BufferCache cache;
    private final Allocator alloc;
    private final InodeTable table;
    private final Map<String, Slot> byName = new ConcurrentHashMap<>();
    private final ConcurrentSkipListMap<Long, String> byPos = new ConcurrentSkipListMap<>();
    /** Per block: the largest record that fits somewhere in it; guarded by the inode's lock. */
    private int[] room = new int[0];

    private int hint;

    private Directory(Inode inode, BufferCache cache, Allocator alloc, InodeTable table) {
        this.inode = inode;
        this.cache = cache;
        this.alloc = alloc;
        this.table = table;
    }

    /** The directory of {@code inode}, loading its index on first use. */
    public static Directory of(Inode inode, BufferCache cache, Allocator alloc, InodeTable table) throws IOException {
        Directory d = inode.dir;
        if (d != null) {
            return d;
        }
        inode.lock.lock();
        try {
            d = inode.dir;
            if (d == null) {
                d = new Directory(inode, cache, alloc, table);
                d.load();
                inode.dir = d;
            }
            return d;
        } finally {
            inode.lock.unlock();
        }
    }

    private void load() throws IOException {
        int nblocks = (int) (inode.size / Layout.BLOCK_SIZE);
        room = new int[nblocks];
        for (int k = 0; k < nblocks; k++) {
            long pblk = inode.extents.map(k);
            if (pblk == 0) {
                throw new CorruptMetadataException("directory " + inode.ino + " has a hole at block " + k);
            }
            Buffer b = cache.get(pblk, true);
            try {
                MemorySegment s = b.data();
                String problem = DirBlockDescriptor.validate(s);
                if (problem != null) {
                    throw new CorruptMetadataException("directory " + inode.ino + " block " + pblk + ": " + problem);
                }
                int rec = 0;
                while (rec < DirBlockDescriptor.RECORDS_END) {
                    long ino = DirBlockDescriptor.ino(s, rec);
                    if (ino != 0) {
                        long pos = (long) k * Layout.BLOCK_SIZE + rec;
                        String name = DirBlockDescriptor.name(s, rec);
                        byName.put(name, new Slot(ino, DirBlockDescriptor.type(s, rec), pos));
                        byPos.put(pos, name);
                    }
                    rec += DirBlockDescriptor.recLen(s, rec);
                }
                room[k] = room(s);
            } finally {
                cache.release(b);
            }
        }
    }

    /** The entry for {@code name}, or null. */
    public Slot lookup(String name) {
        return byName.get(name);
    }

    public boolean isEmpty() {
        return byName.isEmpty();
    }

    public int entries() {
        return byName.size();
    }

    /** Up to {@code max} entries at or after {@code cookie}, in position order. */
    public List<DirEntry> readdir(long cookie, int max) {
        List<DirEntry> out = new ArrayList<>();
        // A cookie is an entry's position + 1: never a position itself, so the entry it names is skipped.
        for (Map.Entry<Long, String> e : byPos.tailMap(cookie, true).entrySet()) {
            if (out.size() >= max) {
                break;
            }
            Slot s = byName.get(e.getValue());
            if (s == null || s.pos() != e.getKey()) {
                continue;
            }
            out.add(new DirEntry(e.getValue(), s.ino(), s.type() << 12, e.getKey() + 1));
        }
        return out;
    }

    /** Adds an entry; the caller holds the directory's lock and has checked that {@code name} is absent. */
    public void add(Transaction tx, String name, long ino, int mode) throws IOException {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        int need = DirBlockDescriptor.recordSize(bytes.length);
        int type = (mode >>> 12) & 0xF;
        int k = findRoom(need);
        if (k < 0) {
            k = grow(tx);
        }
        Buffer b = cache.get(inode.extents.map(k), true);
        try {
            MemorySegment s = b.data();
            int rec = 0;
            int at = -1;
            while (rec < DirBlockDescriptor.RECORDS_END) {
                int len = DirBlockDescriptor.recLen(s, rec);
                long recIno = DirBlockDescriptor.ino(s, rec);
                if (recIno == 0 && len >= need) {
                    DirBlockDescriptor.put(s, rec, ino, len, bytes, type);
                    at = rec;
                    break;
                }
                int used = recIno == 0 ? 0 : DirBlockDescriptor.recordSize(DirBlockDescriptor.nameLen(s, rec));
                if (recIno != 0 && len - used >= need) {
                    s.set(Layout.SHORT, rec + DirBlockDescriptor.REC_LEN_OFFSET, (short) used);
                    at = rec + used;
                    DirBlockDescriptor.put(s, at, ino, len - used, bytes, type);
                    break;
                }
                rec += len;
            }
            if (at < 0) {
                throw new CorruptMetadataException("directory " + inode.ino + " block " + k + " has no room after all");
            }
            DirBlockDescriptor.seal(s);
            tx.dirty(b);
            room[k] = room(s);
            long pos = (long) k * Layout.BLOCK_SIZE + at;
            byName.put(name, new Slot(ino, type, pos));
            byPos.put(pos, name);
        } finally {
            cache.release(b);
        }
    }

    /** Points an existing entry at another inode (rename over an existing name). Caller holds the lock. */
    public void replace(Transaction tx, String name, long ino, int mode) throws IOException {
        Slot old = byName.get(name);
        int type = (mode >>> 12) & 0xF;
        Buffer b = cache.get(inode.extents.map(old.pos() / Layout.BLOCK_SIZE), true);
        try {
            MemorySegment s = b.data();
            int rec = (int) (old.pos() % Layout.BLOCK_SIZE);
            s.set(Layout.LONG, rec + DirBlockDescriptor.INO_OFFSET, ino);
            s.set(Layout.BYTE, rec + DirBlockDescriptor.TYPE_OFFSET, (byte) type);
            DirBlockDescriptor.seal(s);
            tx.dirty(b);
            byName.put(name, new Slot(ino, type, old.pos()));
        } finally {
            cache.release(b);
        }
    }

    /** Removes an entry; caller holds the lock and knows the entry exists. */
    public void remove(Transaction tx, String name) throws IOException {
        Slot old = byName.get(name);
        int k = (int) (old.pos() / Layout.BLOCK_SIZE);
        int target = (int) (old.pos() % Layout.BLOCK_SIZE);
        Buffer b = cache.get(inode.extents.map(k), true);
        try {
            MemorySegment s = b.data();
            int rec = 0;
            int prev = -1;
            while (rec != target) {
                if (rec >= DirBlockDescriptor.RECORDS_END) {
                    throw new CorruptMetadataException("directory " + inode.ino + " lost the record of " + name);
                }
                prev = rec;
                rec += DirBlockDescriptor.recLen(s, rec);
            }
            int len = DirBlockDescriptor.recLen(s, rec);
            if (prev >= 0) {
                int merged = DirBlockDescriptor.recLen(s, prev) + len;
                s.set(Layout.SHORT, prev + DirBlockDescriptor.REC_LEN_OFFSET, (short) merged);
                s.asSlice(rec, DirBlockDescriptor.NAME_OFFSET).fill((byte) 0);
            } else {
                s.set(Layout.LONG, rec + DirBlockDescriptor.INO_OFFSET, 0L);
            }
            DirBlockDescriptor.seal(s);
            tx.dirty(b);
            room[k] = room(s);
            hint = Math.min(hint, k);
            byName.remove(name);
            byPos.remove(old.pos());
        } finally {
            cache.release(b);
        }
    }

    private int findRoom(int need) {
        while (hint < room.length && room[hint] < DirBlockDescriptor.recordSize(1)) {
            hint++;
        }
        for (int k = hint; k < room.length; k++) {
            if (room[k] >= need) {
                return k;
            }
        }
        return -1;
    }

    /** Appends a formatted block to the directory and returns its index. */
    private int grow(Transaction tx) throws IOException {
        int k = room.length;
        long[] run = alloc.allocBlocks(tx, inode.extents.goalFor(k), 1);
        if (run == null) {
            throw new NoSpaceException();
        }
        inode.extents.insert(k, 1, run[0]);
        inode.blocks++;
        inode.size += Layout.BLOCK_SIZE;
        try {
            table.store(tx, inode, true);
        } catch (NoSpaceException e) {
            inode.extents.truncate(k);
            inode.blocks--;
            inode.size -= Layout.BLOCK_SIZE;
            alloc.freeBlocks(tx, run[0], 1);
            table.store(tx, inode, true);
            throw e;
        }
        Buffer b = cache.get(run[0], false);
        try {
            DirBlockDescriptor.format(b.data());
            tx.dirty(b);
        } finally {
            cache.release(b);
        }
        room = Arrays.copyOf(room, k + 1);
        room[k] = DirBlockDescriptor.RECORDS_END;
        return k;
    }

    /** Largest record that fits in the block. */
    private static int room(MemorySegment s) {
        int best = 0;
        int rec = 0;
        while (rec < DirBlockDescriptor.RECORDS_END) {
            int len = DirBlockDescriptor.recLen(s, rec);
            int used = DirBlockDescriptor.ino(s, rec) == 0
                    ? 0
                    : DirBlockDescriptor.recordSize(DirBlockDescriptor.nameLen(s, rec));
            best = Math.max(best, len - used);
            rec += len;
        }
        return best;
    }
}
