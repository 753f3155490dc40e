package org.fsp.fs.core.tools;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.fs.FileMode;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.DirBlockDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;

/**
 * fsck's repair, offline on an image no file system has mounted. Fixes what e2fsck fixes in preen mode and nothing
 * else: leaked and unmarked blocks and inodes (both bitmaps are rebuilt from what the inodes use), link counts, sizes
 * and block counts, directory entries that name free inodes or carry the wrong type, a directory's recorded parent,
 * and inodes no directory names: one unlinked while open (link count 0) or an empty file is freed, anything else is
 * reconnected into {@code /lost+found} (created when missing) as {@code #<ino>}. FSP keeps no free counts on disk
 * (mount counts the bitmaps), so fixing the bitmaps fixes them.
 *
 * <p>Order of work: a journal holding committed transactions is replayed first, as mount does, and the superblock then
 * records it empty. Then passes of {@link Checker} run over the device with the repair's changes laid over it in
 * memory; each pass fixes what it found (structure first, the bitmaps once the structure is sound) until a pass finds
 * the image clean. Only then are the changed blocks written, flushed, and the superblock marked clean. If any pass
 * finds a problem of a kind it does not repair (a checksum mismatch, a block claimed twice, a broken directory
 * block...) nothing but the journal replay is written.
 *
 * <p>A typical sequence is: {@link Fsck} opens the image read-write, takes the daemon's lock on it, and calls
 * {@code Repair.run(io, name, out)}.
 */
final class Repair {

    /** Passes before giving up: reconnecting and relinking settle in three, bitmaps in one more. */
    private static final int MAX_PASSES = 8;

    private final BlockIo io;
    private final Map<Long, MemorySegment> pending = new LinkedHashMap<>();
    private final Arena arena = Arena.ofAuto();
    private final List<String> fixed = new ArrayList<>();
    private final long now = System.currentTimeMillis() * 1_000_000L;
    private Checker c;
    private Geometry g;
    /** Inodes and blocks taken during the current pass, not yet known to the Checker's findings. */
    private final BitSet takenInodes = new BitSet();

    private final BitSet takenBlocks = new BitSet();
    private long lostAndFound;
    /** Why a fix could not be made, or null. */
    private String stuck;

    private Repair(BlockIo io) {
        this.io = io;
    }

    /** Repairs the image behind {@code io}, printing each fix; returns the exit code (see {@link Fsck}). */
    static int run(BlockIo io, String name, PrintStream out) throws IOException {
        return new Repair(io).repair(name, out);
    }

    private int repair(String name, PrintStream out) throws IOException {
        MemorySegment sb = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        io.read(0, sb, BlockRequest.Priority.METADATA);
        String bad = SuperblockDescriptor.isBlank(sb)
                ? "superblock is blank: no file system"
                : SuperblockDescriptor.validate(sb, io.blockCount());
        if (bad != null) {
            out.println(name + ": " + bad);
            out.println(name + ": could not check, nothing written");
            return Fsck.EXIT_OPERATIONAL_ERROR;
        }
        g = SuperblockDescriptor.read(sb);
        long seq = SuperblockDescriptor.journalSeq(sb);
        boolean wasClean = SuperblockDescriptor.clean(sb);
        Journal.Contents contents;
        try {
            contents = Journal.read(io, g, seq);
        } catch (IOException e) {
            out.println(name + ": journal: " + e.getMessage());
            out.println(name + ": could not check, nothing written");
            return Fsck.EXIT_OPERATIONAL_ERROR;
        }
        if (contents.transactions() > 0) {
            Journal.Recovery r = Journal.replay(io, contents);
            seq = r.nextSeq();
            writeSuperblock(sb, seq, false);
            out.println(name + ": journal: replayed " + r.replayed() + " committed transaction(s), "
                    + r.blocksReplayed() + " block(s)");
        }
        Checker.Report last = null;
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            c = Checker.analyze(io, pending);
            last = c.report();
            if (last.unreadable() != null) {
                out.println(name + ": " + last.unreadable());
                return Fsck.EXIT_OPERATIONAL_ERROR;
            }
            if (last.clean()) {
                break;
            }
            if (last.unrepairable() > 0) {
                return leftUnrepaired(
                        name, out, last, last.unrepairable() + " of them of a kind --repair does not fix");
            }
            fixPass();
            if (stuck != null) {
                return leftUnrepaired(name, out, last, stuck);
            }
        }
        if (!last.clean()) {
            return leftUnrepaired(name, out, last, "still not clean after " + MAX_PASSES + " repair passes");
        }
        if (!pending.isEmpty() || !wasClean || contents.transactions() > 0) {
            List<BlockRequest> writes = new ArrayList<>();
            for (Map.Entry<Long, MemorySegment> e : pending.entrySet()) {
                writes.add(io.write(e.getKey(), e.getValue(), BlockRequest.Priority.METADATA));
            }
            io.awaitAll(writes);
            io.flush();
            // The changed blocks are durable before the superblock says the image is clean.
            writeSuperblock(sb, seq, true);
        }
        for (String f : fixed) {
            out.println(name + ": fixed: " + f);
        }
        Checker.Report after = Checker.check(io);
        for (String p : after.problems()) {
            out.println(name + ": " + p);
        }
        if (!after.clean()) {
            Fsck.summary(name, after, after.problems().size() + " problem(s) left after repair", out);
            return Fsck.EXIT_ERRORS_LEFT;
        }
        if (fixed.isEmpty()) {
            Fsck.summary(name, after, wasClean ? "clean" : "clean, marked cleanly unmounted", out);
            return Fsck.EXIT_CLEAN;
        }
        Fsck.summary(name, after, fixed.size() + " fix(es) made, now clean", out);
        return Fsck.EXIT_ERRORS_CORRECTED;
    }

    private int leftUnrepaired(String name, PrintStream out, Checker.Report r, String why) {
        for (String p : r.problems()) {
            out.println(name + ": " + p);
        }
        Fsck.summary(
                name,
                r,
                r.problems().size() + " problem(s), not repaired (" + why
                        + "); nothing written but the journal's replay",
                out);
        return Fsck.EXIT_ERRORS_LEFT;
    }

    private void writeSuperblock(MemorySegment sb, long seq, boolean clean) throws IOException {
        long mkfs = SuperblockDescriptor.mkfsTime(sb);
        long mounts = SuperblockDescriptor.mountCount(sb);
        long reserved = SuperblockDescriptor.reservedBlocks(sb);
        SuperblockDescriptor.write(
                sb,
                g,
                seq,
                clean,
                mkfs,
                mounts,
                reserved,
                SuperblockDescriptor.sessionTableStart(sb),
                SuperblockDescriptor.sessionTableBlocks(sb));
        io.await(io.write(0, sb, BlockRequest.Priority.METADATA));
        io.flush();
    }

    /** One pass of fixes from the Checker's findings: the structure first, the bitmaps when it is sound. */
    private void fixPass() throws IOException {
        takenInodes.clear();
        takenBlocks.clear();
        lostAndFound = 0;
        int before = fixed.size();
        if (c.inodeZeroDirty) {
            MemorySegment b = writable(g.inodeBlock(0));
            b.asSlice(g.inodeOffset(0), InodeDescriptor.INODE_SIZE).fill((byte) 0);
            fixed.add("cleared the reserved inode 0");
        }
        for (Checker.Entry e : c.danglingEntries) {
            String gone = removeRecord(e);
            if (gone != null) {
                fixed.add("removed entry '" + gone + "' of directory " + e.dir() + ", which named a free inode");
            }
        }
        for (Map.Entry<Checker.Entry, Integer> e : c.wrongTypes.entrySet()) {
            MemorySegment b = writable(e.getKey().block());
            b.set(Layout.BYTE, e.getKey().rec() + DirBlockDescriptor.TYPE_OFFSET, (byte) (int) e.getValue());
            DirBlockDescriptor.seal(b);
            fixed.add("set the type of an entry of directory " + e.getKey().dir() + " to its inode's");
        }
        for (Map.Entry<Long, Long> e : c.wrongParents.entrySet()) {
            setLong(e.getKey(), InodeDescriptor.PARENT_OFFSET, e.getValue());
            fixed.add("set the parent of directory " + e.getKey() + " to " + e.getValue());
        }
        for (Map.Entry<Long, Integer> e : c.nlinkFixes.entrySet()) {
            setInt(e.getKey(), InodeDescriptor.NLINK_OFFSET, e.getValue());
            fixed.add("set the link count of inode " + e.getKey() + " to " + e.getValue());
        }
        for (int ino = 1; ino < c.inodes.length; ino++) {
            Checker.InodeInfo i = c.inodes[ino];
            if (i == null) {
                continue;
            }
            if (i.fixedSize() >= 0) {
                setLong(ino, InodeDescriptor.SIZE_OFFSET, i.fixedSize());
                fixed.add("set the size of inode " + ino + " from " + i.size() + " to " + i.fixedSize());
            }
            if (i.fixedBlocks() >= 0) {
                setLong(ino, InodeDescriptor.BLOCKS_OFFSET, i.fixedBlocks());
                fixed.add("set the block count of inode " + ino + " from " + i.blocks() + " to " + i.fixedBlocks());
            }
        }
        reconnectOrphans();
        if (fixed.size() == before && stuck == null && c.bitmapsWrong) {
            rebuildBitmaps();
        }
    }

    /**
     * Frees or reconnects the inodes no reachable directory names. Only the roots of what is unreachable are handled:
     * an inode inside an unreachable directory comes back with it.
     */
    private void reconnectOrphans() throws IOException {
        List<Long> roots = new ArrayList<>();
        for (long ino : c.unreachable) {
            if (!c.childOfUnreachable.contains(ino)) {
                roots.add(ino);
            }
        }
        if (roots.isEmpty()) {
            // Directories naming each other in a cycle: bring back one and the rest follows.
            for (long ino : c.unreachable) {
                if (FileMode.isDirectory(c.inodes[(int) ino].mode())) {
                    roots.add(ino);
                    break;
                }
            }
        }
        for (long ino : roots) {
            Checker.InodeInfo i = c.inodes[(int) ino];
            boolean dir = FileMode.isDirectory(i.mode());
            if (i.nlink() == 0 && (!dir || i.size() == 0)) {
                // Unlinked while open when the system stopped: what mount would free after a crash.
                freeInode(ino);
                fixed.add("freed inode " + ino + ", unlinked while open (link count 0)");
                continue;
            }
            if (FileMode.isRegular(i.mode()) && i.size() == 0 && i.extents().isEmpty()) {
                freeInode(ino);
                fixed.add("freed unattached zero-length inode " + ino);
                continue;
            }
            long lf = lostAndFound();
            if (lf == 0) {
                return;
            }
            if (!addEntry(lf, "#" + ino, ino, (i.mode() >>> 12) & 0xF)) {
                return;
            }
            if (dir) {
                setLong(ino, InodeDescriptor.PARENT_OFFSET, lf);
            }
            fixed.add("reconnected inode " + ino + " as /lost+found/#" + ino);
        }
    }

    /** The inode of /lost+found, created (mode 0700, owned by root) when missing; 0 with {@link #stuck} set. */
    private long lostAndFound() throws IOException {
        if (lostAndFound != 0) {
            return lostAndFound;
        }
        Long existing = c.rootEntries.get("lost+found");
        if (existing != null) {
            if (!FileMode.isDirectory(c.inodes[existing.intValue()].mode())) {
                stuck = "/lost+found is not a directory";
                return 0;
            }
            lostAndFound = existing;
            return lostAndFound;
        }
        long ino = takeInode();
        if (ino == 0) {
            stuck = "no free inode for /lost+found";
            return 0;
        }
        MemorySegment b = writable(g.inodeBlock(ino));
        int base = g.inodeOffset(ino);
        InodeDescriptor.writeEmptyDirectory(b, base, 0700, now, Geometry.ROOT_INO);
        if (!addEntry(Geometry.ROOT_INO, "lost+found", ino, FileMode.S_IFDIR >>> 12)) {
            return 0;
        }
        fixed.add("created /lost+found (inode " + ino + ")");
        lostAndFound = ino;
        return ino;
    }

    /**
     * Adds a record to a directory as the file system would (the first free record or slack that fits, else a new
     * block appended to its extents). False with {@link #stuck} set when the directory cannot grow here.
     */
    private boolean addEntry(long dir, String name, long ino, int type) throws IOException {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        int need = DirBlockDescriptor.recordSize(bytes.length);
        MemorySegment ib = writable(g.inodeBlock(dir));
        int base = g.inodeOffset(dir);
        int count = ib.get(Layout.INT, base + InodeDescriptor.EXTENT_COUNT_OFFSET);
        long size = ib.get(Layout.LONG, base + InodeDescriptor.SIZE_OFFSET);
        if (count > InodeDescriptor.INLINE_EXTENTS) {
            stuck = "directory " + dir + " has more extents than repair follows";
            return false;
        }
        long nblocks = size / Layout.BLOCK_SIZE;
        for (long lblk = 0; lblk < nblocks; lblk++) {
            long pblk = inlineMap(ib, base, count, lblk);
            if (pblk != 0 && insert(writable(pblk), need, ino, bytes, type)) {
                return true;
            }
        }
        long pblk = takeBlock();
        if (pblk == 0) {
            stuck = "no free block to grow directory " + dir;
            return false;
        }
        int last = base + InodeDescriptor.EXTENTS_OFFSET + (count - 1) * InodeDescriptor.EXTENT_SIZE;
        if (count > 0
                && Integer.toUnsignedLong(ib.get(Layout.INT, last))
                                + Integer.toUnsignedLong(ib.get(Layout.INT, last + 4))
                        == nblocks
                && ib.get(Layout.LONG, last + 8) + Integer.toUnsignedLong(ib.get(Layout.INT, last + 4)) == pblk) {
            ib.set(Layout.INT, last + 4, ib.get(Layout.INT, last + 4) + 1);
        } else if (count < InodeDescriptor.INLINE_EXTENTS) {
            int at = base + InodeDescriptor.EXTENTS_OFFSET + count * InodeDescriptor.EXTENT_SIZE;
            ib.set(Layout.INT, at, (int) nblocks);
            ib.set(Layout.INT, at + 4, 1);
            ib.set(Layout.LONG, at + 8, pblk);
            ib.set(Layout.INT, base + InodeDescriptor.EXTENT_COUNT_OFFSET, count + 1);
        } else {
            stuck = "directory " + dir + " has no room for another inline extent";
            return false;
        }
        ib.set(Layout.LONG, base + InodeDescriptor.SIZE_OFFSET, size + Layout.BLOCK_SIZE);
        ib.set(
                Layout.LONG,
                base + InodeDescriptor.BLOCKS_OFFSET,
                ib.get(Layout.LONG, base + InodeDescriptor.BLOCKS_OFFSET) + 1);
        InodeDescriptor.seal(ib, base);
        MemorySegment nb = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        DirBlockDescriptor.format(nb);
        pending.put(pblk, nb);
        return insert(nb, need, ino, bytes, type);
    }

    /** Puts a record into a directory block where it fits, as {@code Directory.add} does. */
    private static boolean insert(MemorySegment s, int need, long ino, byte[] name, int type) {
        for (int rec = 0; rec < DirBlockDescriptor.RECORDS_END; rec += DirBlockDescriptor.recLen(s, rec)) {
            int len = DirBlockDescriptor.recLen(s, rec);
            long recIno = DirBlockDescriptor.ino(s, rec);
            if (recIno == 0 && len >= need) {
                DirBlockDescriptor.put(s, rec, ino, len, name, type);
                DirBlockDescriptor.seal(s);
                return true;
            }
            int used = recIno == 0 ? 0 : DirBlockDescriptor.recordSize(DirBlockDescriptor.nameLen(s, rec));
            if (recIno != 0 && len - used >= need) {
                s.set(Layout.SHORT, rec + DirBlockDescriptor.REC_LEN_OFFSET, (short) used);
                DirBlockDescriptor.put(s, rec + used, ino, len - used, name, type);
                DirBlockDescriptor.seal(s);
                return true;
            }
        }
        return false;
    }

    /** Removes the record at {@code e} as {@code Directory.remove} does; returns its name, or null if gone already. */
    private String removeRecord(Checker.Entry e) throws IOException {
        MemorySegment s = writable(e.block());
        int rec = 0;
        int prev = -1;
        while (rec != e.rec()) {
            if (rec >= DirBlockDescriptor.RECORDS_END) {
                return null;
            }
            prev = rec;
            rec += DirBlockDescriptor.recLen(s, rec);
        }
        String name = DirBlockDescriptor.name(s, rec);
        int len = DirBlockDescriptor.recLen(s, rec);
        if (prev >= 0) {
            s.set(Layout.SHORT, prev + DirBlockDescriptor.REC_LEN_OFFSET, (short)
                    (DirBlockDescriptor.recLen(s, prev) + len));
            s.asSlice(rec, DirBlockDescriptor.NAME_OFFSET).fill((byte) 0);
        } else {
            s.set(Layout.LONG, rec + DirBlockDescriptor.INO_OFFSET, 0L);
        }
        DirBlockDescriptor.seal(s);
        return name;
    }

    /** Rewrites each bitmap block that differs from what the inodes use, padding bits set as mkfs sets them. */
    private void rebuildBitmaps() throws IOException {
        int inodeBits = rebuild(g.inodeBitmapStart(), g.inodeBitmapBlocks(), g.inodeCount(), true);
        int blockBits = rebuild(g.blockBitmapStart(), g.blockBitmapBlocks(), g.totalBlocks(), false);
        if (inodeBits > 0) {
            fixed.add("corrected " + inodeBits + " bit(s) of the inode bitmap");
        }
        if (blockBits > 0) {
            fixed.add("corrected " + blockBits + " bit(s) of the block bitmap");
        }
        if (inodeBits == 0 && blockBits == 0) {
            fixed.add("resealed the bitmap blocks");
        }
    }

    private int rebuild(long start, long blocks, long items, boolean inodes) throws IOException {
        int changed = 0;
        for (int k = 0; k < blocks; k++) {
            MemorySegment current = writable(start + k);
            MemorySegment m = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            long first = (long) k * BitmapDescriptor.BITS_PER_BLOCK;
            for (int bit = 0; bit < BitmapDescriptor.BITS_PER_BLOCK; bit++) {
                long item = first + bit;
                boolean inUse = item >= items
                        || (inodes
                                ? item == 0 || c.nonZero.get((int) item)
                                : item < g.dataStart() || c.used.get((int) item));
                BitmapDescriptor.set(m, bit, inUse);
                if (inUse != BitmapDescriptor.get(current, bit)) {
                    changed++;
                }
            }
            BitmapDescriptor.seal(m);
            if (!m.asByteBuffer().equals(current.asByteBuffer())) {
                pending.put(start + k, m);
            } else {
                pending.remove(start + k, current);
            }
        }
        return changed;
    }

    private void freeInode(long ino) throws IOException {
        writable(g.inodeBlock(ino))
                .asSlice(g.inodeOffset(ino), InodeDescriptor.INODE_SIZE)
                .fill((byte) 0);
    }

    private long takeInode() {
        for (int ino = (int) Geometry.ROOT_INO + 1; ino < g.inodeCount(); ino++) {
            if (!c.nonZero.get(ino) && !takenInodes.get(ino)) {
                takenInodes.set(ino);
                return ino;
            }
        }
        return 0;
    }

    private long takeBlock() {
        for (int b = (int) g.dataStart(); b < g.totalBlocks(); b++) {
            if (!c.used.get(b) && !takenBlocks.get(b)) {
                takenBlocks.set(b);
                return b;
            }
        }
        return 0;
    }

    private void setInt(long ino, int offset, int value) throws IOException {
        MemorySegment b = writable(g.inodeBlock(ino));
        int base = g.inodeOffset(ino);
        b.set(Layout.INT, base + offset, value);
        InodeDescriptor.seal(b, base);
    }

    private void setLong(long ino, int offset, long value) throws IOException {
        MemorySegment b = writable(g.inodeBlock(ino));
        int base = g.inodeOffset(ino);
        b.set(Layout.LONG, base + offset, value);
        InodeDescriptor.seal(b, base);
    }

    private static long inlineMap(MemorySegment ib, int base, int count, long lblk) {
        for (int k = 0; k < count; k++) {
            int at = base + InodeDescriptor.EXTENTS_OFFSET + k * InodeDescriptor.EXTENT_SIZE;
            long logical = Integer.toUnsignedLong(ib.get(Layout.INT, at));
            long len = Integer.toUnsignedLong(ib.get(Layout.INT, at + 4));
            if (lblk >= logical && lblk < logical + len) {
                return ib.get(Layout.LONG, at + 8) + (lblk - logical);
            }
        }
        return 0;
    }

    /** The repair's copy of a block, read from the device the first time. */
    private MemorySegment writable(long block) throws IOException {
        MemorySegment s = pending.get(block);
        if (s == null) {
            s = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            io.read(block, s, BlockRequest.Priority.METADATA);
            pending.put(block, s);
        }
        return s;
    }
}
