package org.fsp.fs.core.tools;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.fs.FileMode;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.DirBlockDescriptor;
import org.fsp.fs.core.layout.ExtentBlockDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SessionTableDescriptor;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.layout.XattrBlockDescriptor;

/**
 * The consistency checker behind fsck: reads the whole image (through the journal's committed transactions, as
 * recovery would leave it, without writing anything) and checks every invariant: superblock, checksums of every
 * metadata block, extents (in range, sorted, no block owned twice), block and inode bitmaps against what is
 * actually used, directory structure (reachability from the root, one parent per directory, entry types), and link
 * counts.
 *
 * <p>Each problem is marked repairable or not: {@link Repair} fixes the repairable kinds (the ones e2fsck fixes in
 * preen mode) from what this pass found, kept in the package-private fields below.
 *
 * <p>A typical sequence is: {@code Checker.Report r = Checker.check(io)}; {@code r.problems()} is empty for a clean
 * image.
 */
public final class Checker {

    /**
     * The outcome: problems found (empty when clean) and a few counts for the report.
     *
     * @param unreadable null, or why the image could not be checked at all (no or a corrupt superblock, a journal
     *     that cannot be read); {@code problems} then holds that sentence alone
     * @param unrepairable how many of the problems {@link Repair} does not fix
     * @param cleanlyUnmounted the superblock's clean flag: false while mounted and after a crash
     */
    public record Report(
            List<String> problems,
            long inodesInUse,
            long blocksInUse,
            long directories,
            long files,
            int journalTransactions,
            String unreadable,
            int unrepairable,
            boolean cleanlyUnmounted) {
        public boolean clean() {
            return problems.isEmpty();
        }
    }

    /** A directory record of directory {@code dir}, by the block that holds it and its offset in that block. */
    record Entry(long dir, long block, int rec) {}

    private static final int MAX_PROBLEMS = 200;

    private final BlockIo io;
    private final Map<Long, MemorySegment> pending;
    private final Arena arena = Arena.ofAuto();
    private final List<String> problems = new ArrayList<>();
    private int unrepairable;
    private Map<Long, MemorySegment> journal = Map.of();

    // What the pass found, for Repair.
    Geometry g;
    InodeInfo[] inodes = new InodeInfo[0];
    /** Inodes whose slot is not all zeros (in use, or corrupt). */
    final BitSet nonZero = new BitSet();

    /** Blocks the metadata regions and the inodes use. */
    final BitSet used = new BitSet();

    boolean inodeZeroDirty;
    boolean bitmapsWrong;
    final List<Entry> danglingEntries = new ArrayList<>();
    final Map<Entry, Integer> wrongTypes = new LinkedHashMap<>();
    /** Directory inode to the directory it was found in. */
    final Map<Long, Long> wrongParents = new LinkedHashMap<>();
    /** Allocated inodes no reachable directory names, ascending. */
    final List<Long> unreachable = new ArrayList<>();
    /** Inodes named by an unreachable directory: they come back with it. */
    final Set<Long> childOfUnreachable = new HashSet<>();

    final Map<String, Long> rootEntries = new HashMap<>();
    final Map<Long, Integer> nlinkFixes = new LinkedHashMap<>();

    private Report report;

    private Checker(BlockIo io, Map<Long, MemorySegment> pending) {
        this.io = io;
        this.pending = pending;
    }

    /** Checks the file system on the device behind {@code io}. */
    public static Report check(BlockIo io) throws IOException {
        return analyze(io, Map.of()).report;
    }

    /**
     * Checks the device as if the blocks in {@code pending} (block number to a 4096-byte image) were written over
     * it: the repair's changes before they reach the device.
     */
    static Checker analyze(BlockIo io, Map<Long, MemorySegment> pending) throws IOException {
        Checker c = new Checker(io, pending);
        c.report = c.run();
        return c;
    }

    Report report() {
        return report;
    }

    private void problem(String p) {
        problem(p, false);
    }

    private void problem(String p, boolean repairable) {
        if (!repairable) {
            unrepairable++;
        }
        if (problems.size() < MAX_PROBLEMS) {
            problems.add(p);
        } else if (problems.size() == MAX_PROBLEMS) {
            problems.add("... more problems not listed");
        }
    }

    private MemorySegment read(long block) throws IOException {
        MemorySegment s = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        MemorySegment img = overlay(block);
        if (img != null) {
            MemorySegment.copy(img, 0, s, 0, Layout.BLOCK_SIZE);
        } else {
            io.read(block, s, BlockRequest.Priority.METADATA);
        }
        return s;
    }

    private MemorySegment overlay(long block) {
        MemorySegment img = pending.get(block);
        return img != null ? img : journal.get(block);
    }

    /** Reads a run of blocks in one request (blocks the journal or the repair override are patched in). */
    private MemorySegment readRun(long first, int count) throws IOException {
        MemorySegment s = arena.allocate((long) count * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        io.read(first, s, BlockRequest.Priority.METADATA);
        for (int k = 0; k < count; k++) {
            MemorySegment img = overlay(first + k);
            if (img != null) {
                MemorySegment.copy(img, 0, s, (long) k * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            }
        }
        return s;
    }

    /**
     * One inode as read.
     *
     * @param fixedSize the size Repair sets, or -1 when the size is right
     * @param fixedBlocks the block count Repair sets, or -1 when it is right
     */
    record InodeInfo(
            int mode,
            int nlink,
            long size,
            long blocks,
            long parent,
            List<long[]> extents,
            long chainBlocks,
            int extentCount,
            long fixedSize,
            long fixedBlocks) {}

    private Report run() throws IOException {
        MemorySegment sb = read(0);
        String bad = SuperblockDescriptor.isBlank(sb)
                ? "superblock is blank: no file system"
                : SuperblockDescriptor.validate(sb, io.blockCount());
        if (bad != null) {
            problem(bad);
            return new Report(problems, 0, 0, 0, 0, 0, bad, unrepairable, false);
        }
        g = SuperblockDescriptor.read(sb);
        boolean cleanFlag = SuperblockDescriptor.clean(sb);
        Journal.Contents jc;
        try {
            jc = Journal.read(io, g, SuperblockDescriptor.journalSeq(sb));
        } catch (IOException e) {
            String why = "journal: " + e.getMessage();
            problem(why);
            return new Report(problems, 0, 0, 0, 0, 0, why, unrepairable, cleanFlag);
        }
        journal = jc.images();

        BitSet inodeMap = readBitmap(g.inodeBitmapStart(), g.inodeBitmapBlocks(), "inode");
        BitSet blockMap = readBitmap(g.blockBitmapStart(), g.blockBitmapBlocks(), "block");

        // Inode table.
        inodes = new InodeInfo[(int) g.inodeCount()];
        used.set(0, (int) g.dataStart());
        // The session table's blocks are metadata the superblock points to, not any inode's.
        long sessionStart = SuperblockDescriptor.sessionTableStart(sb);
        long sessionBlocks = SuperblockDescriptor.sessionTableBlocks(sb);
        used.set((int) sessionStart, (int) (sessionStart + sessionBlocks));
        checkSessionTable(sessionStart, sessionBlocks);
        long inUse = 0;
        int chunk = 64;
        for (long tb = 0; tb < g.inodeTableBlocks(); tb += chunk) {
            int n = (int) Math.min(chunk, g.inodeTableBlocks() - tb);
            MemorySegment run = readRun(g.inodeTableStart() + tb, n);
            for (int k = 0; k < n * InodeDescriptor.INODES_PER_BLOCK; k++) {
                long ino = tb * InodeDescriptor.INODES_PER_BLOCK + k;
                int base = k * InodeDescriptor.INODE_SIZE;
                boolean zero = InodeDescriptor.isZero(run, base);
                if (ino == 0) {
                    if (!zero) {
                        problem("reserved inode 0 is not zero", true);
                        inodeZeroDirty = true;
                    }
                    continue;
                }
                boolean allocated = inodeMap.get((int) ino);
                if (zero) {
                    if (allocated) {
                        problem("inode " + ino + " is marked in use in the inode bitmap but is free", true);
                        bitmapsWrong = true;
                    }
                    continue;
                }
                nonZero.set((int) ino);
                if (!allocated) {
                    problem("inode " + ino + " is in use but free in the inode bitmap", true);
                    bitmapsWrong = true;
                }
                if (!InodeDescriptor.valid(run, base)) {
                    problem("inode " + ino + " checksum mismatch");
                    continue;
                }
                inUse++;
                inodes[(int) ino] = inode(ino, run, base, used);
            }
        }

        // Directory tree from the root.
        int[] refs = new int[inodes.length];
        int[] subdirs = new int[inodes.length];
        BitSet visitedDirs = new BitSet();
        long dirs = 0;
        long files = 0;
        InodeInfo root = inodes[(int) Geometry.ROOT_INO];
        if (root == null || !FileMode.isDirectory(root.mode())) {
            problem("root inode " + Geometry.ROOT_INO + " is not a directory");
        } else {
            refs[(int) Geometry.ROOT_INO] = 1;
            Deque<Long> queue = new ArrayDeque<>();
            queue.add(Geometry.ROOT_INO);
            visitedDirs.set((int) Geometry.ROOT_INO);
            if (root.parent() != Geometry.ROOT_INO) {
                problem("root's parent is " + root.parent(), true);
                wrongParents.put(Geometry.ROOT_INO, Geometry.ROOT_INO);
            }
            while (!queue.isEmpty()) {
                long d = queue.poll();
                dirs++;
                InodeInfo di = inodes[(int) d];
                Set<String> names = new HashSet<>();
                long blocks = di.fixedSize() >= 0 ? di.fixedSize() : di.size();
                for (long lblk = 0; lblk < blocks / Layout.BLOCK_SIZE; lblk++) {
                    long pblk = map(di, lblk);
                    if (pblk == 0) {
                        problem("directory " + d + " has a hole at block " + lblk);
                        continue;
                    }
                    MemorySegment s = read(pblk);
                    String p = DirBlockDescriptor.validate(s);
                    if (p != null) {
                        problem("directory " + d + " block " + pblk + ": " + p);
                        continue;
                    }
                    for (int rec = 0; rec < DirBlockDescriptor.RECORDS_END; rec += DirBlockDescriptor.recLen(s, rec)) {
                        long ino = DirBlockDescriptor.ino(s, rec);
                        if (ino == 0) {
                            continue;
                        }
                        String name = DirBlockDescriptor.name(s, rec);
                        String where = "directory " + d + " entry '" + name + "'";
                        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0) {
                            problem(where + ": invalid name");
                        }
                        if (!names.add(name)) {
                            problem(where + ": duplicate name");
                        }
                        if (ino <= 0 || ino >= inodes.length || !nonZero.get((int) ino)) {
                            problem(where + ": points at free or invalid inode " + ino, true);
                            danglingEntries.add(new Entry(d, pblk, rec));
                            continue;
                        }
                        InodeInfo ti = inodes[(int) ino];
                        if (ti == null) {
                            continue; // a corrupt inode, reported above
                        }
                        if (d == Geometry.ROOT_INO) {
                            rootEntries.put(name, ino);
                        }
                        int type = (ti.mode() >>> 12) & 0xF;
                        if (DirBlockDescriptor.type(s, rec) != type) {
                            problem(where + ": type does not match inode " + ino, true);
                            wrongTypes.put(new Entry(d, pblk, rec), type);
                        }
                        refs[(int) ino]++;
                        if (FileMode.isDirectory(ti.mode())) {
                            subdirs[(int) d]++;
                            if (visitedDirs.get((int) ino)) {
                                problem(where + ": directory " + ino + " is linked more than once");
                                continue;
                            }
                            visitedDirs.set((int) ino);
                            if (ti.parent() != d) {
                                problem(
                                        "directory " + ino + " records parent " + ti.parent() + " but is in " + d,
                                        true);
                                wrongParents.put(ino, d);
                            }
                            queue.add(ino);
                        } else {
                            files++;
                        }
                    }
                }
            }
        }
        for (int ino = 1; ino < inodes.length; ino++) {
            InodeInfo i = inodes[ino];
            if (i == null) {
                continue;
            }
            if (refs[ino] == 0 && i.nlink() == 0 && !cleanFlag && !FileMode.isDirectory(i.mode())) {
                // A file unlinked while open when the system stopped: the next mount keeps it for its grace period
                // (a client may re-attach to it) and then frees it.
                continue;
            }
            if (refs[ino] == 0) {
                problem("inode " + ino + " (nlink " + i.nlink() + ") is not reachable from the root", true);
                unreachable.add((long) ino);
                if (FileMode.isDirectory(i.mode())) {
                    collectChildren(i);
                }
                continue;
            }
            int expected = FileMode.isDirectory(i.mode()) ? 2 + subdirs[ino] : refs[ino];
            if (i.nlink() != expected) {
                problem("inode " + ino + " has link count " + i.nlink() + ", expected " + expected, true);
                nlinkFixes.put((long) ino, expected);
            }
        }

        // Block bitmap against what is referenced.
        for (long b = 0; b < g.totalBlocks(); b++) {
            boolean marked = blockMap.get((int) b);
            boolean isUsed = used.get((int) b);
            if (marked != isUsed) {
                problem(
                        "block " + b
                                + (isUsed
                                        ? " is in use but free in the block bitmap"
                                        : " is marked in use in the block bitmap but nothing uses it"),
                        true);
                bitmapsWrong = true;
            }
        }
        return new Report(
                problems, inUse, used.cardinality(), dirs, files, jc.transactions(), null, unrepairable, cleanFlag);
    }

    /** Notes the inodes an unreachable directory names; its blocks are checked once it is reachable again. */
    private void collectChildren(InodeInfo dir) throws IOException {
        for (long lblk = 0; lblk < dir.size() / Layout.BLOCK_SIZE; lblk++) {
            long pblk = map(dir, lblk);
            if (pblk == 0) {
                continue;
            }
            MemorySegment s = read(pblk);
            if (DirBlockDescriptor.validate(s) != null) {
                continue;
            }
            for (int rec = 0; rec < DirBlockDescriptor.RECORDS_END; rec += DirBlockDescriptor.recLen(s, rec)) {
                long ino = DirBlockDescriptor.ino(s, rec);
                if (ino > 0) {
                    childOfUnreachable.add(ino);
                }
            }
        }
    }

    private void checkSessionTable(long start, long blocks) throws IOException {
        for (long k = 0; k < blocks; k++) {
            MemorySegment s = read(start + k);
            String p = k == 0 ? SessionTableDescriptor.validateHeader(s) : SessionTableDescriptor.validateRecords(s);
            if (p != null) {
                problem("block " + (start + k) + ": " + p);
            }
        }
    }

    private BitSet readBitmap(long start, long blocks, String what) throws IOException {
        BitSet bits = new BitSet();
        for (int k = 0; k < blocks; k++) {
            MemorySegment s = read(start + k);
            String p = BitmapDescriptor.validate(s);
            if (p != null) {
                // Repair rewrites every bitmap block from what the inodes use.
                problem(what + " bitmap block " + (start + k) + ": " + p, true);
                bitmapsWrong = true;
            }
            for (int bit = 0; bit < BitmapDescriptor.BITS_PER_BLOCK; bit++) {
                if (BitmapDescriptor.get(s, bit)) {
                    bits.set(k * BitmapDescriptor.BITS_PER_BLOCK + bit);
                }
            }
        }
        return bits;
    }

    private InodeInfo inode(long ino, MemorySegment s, int base, BitSet used) throws IOException {
        int mode = s.get(Layout.INT, base + InodeDescriptor.MODE_OFFSET);
        int nlink = s.get(Layout.INT, base + InodeDescriptor.NLINK_OFFSET);
        long size = s.get(Layout.LONG, base + InodeDescriptor.SIZE_OFFSET);
        long blocks = s.get(Layout.LONG, base + InodeDescriptor.BLOCKS_OFFSET);
        long parent = s.get(Layout.LONG, base + InodeDescriptor.PARENT_OFFSET);
        int count = s.get(Layout.INT, base + InodeDescriptor.EXTENT_COUNT_OFFSET);
        long chain = s.get(Layout.LONG, base + InodeDescriptor.EXTENT_CHAIN_OFFSET);
        String who = "inode " + ino;
        int type = mode & FileMode.S_IFMT;
        if (type != FileMode.S_IFREG
                && type != FileMode.S_IFDIR
                && type != FileMode.S_IFLNK
                && !FileMode.isSpecial(type)) {
            problem(who + " has unknown type 0" + Integer.toOctalString(type));
        }
        int rdev = s.get(Layout.INT, base + InodeDescriptor.RDEV_OFFSET);
        if (rdev != 0 && type != FileMode.S_IFCHR && type != FileMode.S_IFBLK) {
            problem(who + " of type 0" + Integer.toOctalString(type) + " has device number " + rdev);
        }
        if (size < 0) {
            problem(who + " has negative size " + size);
        }
        List<long[]> extents = new ArrayList<>();
        for (int k = 0; k < Math.min(count, InodeDescriptor.INLINE_EXTENTS); k++) {
            int at = base + InodeDescriptor.EXTENTS_OFFSET + k * InodeDescriptor.EXTENT_SIZE;
            extents.add(new long[] {
                Integer.toUnsignedLong(s.get(Layout.INT, at)),
                Integer.toUnsignedLong(s.get(Layout.INT, at + 4)),
                s.get(Layout.LONG, at + 8)
            });
        }
        long chainBlocks = 0;
        int remaining = count - extents.size();
        long next = chain;
        while (remaining > 0) {
            if (next < g.dataStart() || next >= g.totalBlocks()) {
                problem(who + " extent chain points at block " + next);
                break;
            }
            claim(used, next, 1, who + " extent block");
            chainBlocks++;
            MemorySegment eb = read(next);
            String p = ExtentBlockDescriptor.validate(eb, ino);
            if (p != null) {
                problem(who + " extent block " + next + ": " + p);
                break;
            }
            int n = eb.get(Layout.INT, ExtentBlockDescriptor.COUNT_OFFSET);
            for (int k = 0; k < n; k++) {
                int at = ExtentBlockDescriptor.EXTENTS_OFFSET + k * InodeDescriptor.EXTENT_SIZE;
                extents.add(new long[] {
                    Integer.toUnsignedLong(eb.get(Layout.INT, at)),
                    Integer.toUnsignedLong(eb.get(Layout.INT, at + 4)),
                    eb.get(Layout.LONG, at + 8)
                });
            }
            remaining -= n;
            next = eb.get(Layout.LONG, ExtentBlockDescriptor.NEXT_OFFSET);
            if (n == 0) {
                problem(who + " has an empty extent block");
                break;
            }
        }
        long xattrBlocks = xattrBlock(ino, s.get(Layout.LONG, base + InodeDescriptor.XATTR_BLOCK_OFFSET), used);
        long mapped = 0;
        long prevEnd = 0;
        boolean gapless = true;
        for (long[] e : extents) {
            if (e[1] <= 0) {
                problem(who + " has an empty extent at logical block " + e[0]);
                continue;
            }
            if (e[0] < prevEnd) {
                problem(who + " has overlapping or unsorted extents at logical block " + e[0]);
            }
            gapless &= e[0] == prevEnd;
            prevEnd = e[0] + e[1];
            if (e[2] < g.dataStart() || e[2] + e[1] > g.totalBlocks()) {
                problem(who + " extent " + e[2] + "+" + e[1] + " lies outside the data region");
                continue;
            }
            claim(used, e[2], e[1], who);
            mapped += e[1];
        }
        long sizeBlocks = (size + Layout.BLOCK_SIZE - 1) / Layout.BLOCK_SIZE;
        long fixedSize = -1;
        long fixedBlocks = -1;
        if (type == FileMode.S_IFDIR) {
            // A directory's size is exactly its blocks, which lie from logical block 0 with no hole.
            long expected = prevEnd * Layout.BLOCK_SIZE;
            if (size != expected) {
                problem(
                        who + " is a directory of size " + size + " but maps " + prevEnd + " blocks"
                                + (gapless ? "" : " with holes"),
                        gapless);
                fixedSize = gapless ? expected : -1;
            }
        } else if (prevEnd > sizeBlocks) {
            // As e2fsck does, the size grows to cover the last mapped block; a sparse tail is legal, so a size
            // beyond the extents is not a problem.
            problem(who + " maps blocks beyond its size " + size, type == FileMode.S_IFREG);
            fixedSize = type == FileMode.S_IFREG ? prevEnd * Layout.BLOCK_SIZE : -1;
        }
        if (blocks != mapped + chainBlocks + xattrBlocks) {
            problem(who + " counts " + blocks + " blocks but owns " + (mapped + chainBlocks + xattrBlocks), true);
            fixedBlocks = mapped + chainBlocks + xattrBlocks;
        }
        if (type == FileMode.S_IFLNK && (size <= 0 || size >= Layout.BLOCK_SIZE || mapped != 1)) {
            problem(who + " is a symlink of size " + size + " with " + mapped + " blocks");
        }
        if (FileMode.isSpecial(type) && (size != 0 || mapped != 0)) {
            problem(who + " is a special file of size " + size + " with " + mapped + " blocks");
        }
        return new InodeInfo(mode, nlink, size, blocks, parent, extents, chainBlocks, count, fixedSize, fixedBlocks);
    }

    /**
     * Checks inode {@code ino}'s extended attribute block {@code block} (0: none) and claims it; returns the blocks it
     * counts toward the inode's (1 or 0). A block out of range or corrupt is reported and not counted.
     */
    private long xattrBlock(long ino, long block, BitSet used) throws IOException {
        if (block == 0) {
            return 0;
        }
        String who = "inode " + ino;
        if (block < g.dataStart() || block >= g.totalBlocks()) {
            problem(who + " points at extended attribute block " + block + " outside the data region");
            return 0;
        }
        claim(used, block, 1, who + " extended attribute block");
        String p = XattrBlockDescriptor.validate(read(block), ino);
        if (p != null) {
            problem(who + " extended attribute block " + block + ": " + p);
        }
        return 1;
    }

    private void claim(BitSet used, long start, long len, String who) {
        for (long b = start; b < start + len; b++) {
            if (used.get((int) b)) {
                problem("block " + b + " is claimed twice (again by " + who + ")");
            }
            used.set((int) b);
        }
    }

    static long map(InodeInfo i, long lblk) {
        for (long[] e : i.extents()) {
            if (lblk >= e[0] && lblk < e[0] + e[1]) {
                return e[2] + (lblk - e[0]);
            }
        }
        return 0;
    }
}
