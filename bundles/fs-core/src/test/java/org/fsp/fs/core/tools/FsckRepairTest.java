package org.fsp.fs.core.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.DirBlockDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * fsck --repair against seeded corruption: an image holding a tree of files written through FsCore is damaged in one
 * way per case (and in several ways at once), and repair must leave it fsck-clean with every file it did not damage
 * readable with its original bytes, and the orphans it reconnected readable under /lost+found. The seed is printed;
 * {@code -Dfsck.seed=N} replays a run.
 */
class FsckRepairTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final long SEED = Long.getLong("fsck.seed", System.nanoTime());
    private static final int ZONES = 8;

    @TempDir
    static Path tmp;

    private static Path base;
    /** Path to original bytes, for every regular file of the base image. */
    private static final Map<String, byte[]> FILES = new TreeMap<>();

    private static final Map<String, Long> INODES = new TreeMap<>();

    @BeforeAll
    static void populate() throws Exception {
        System.out.println("FsckRepairTest seed " + SEED + " (replay with -Dfsck.seed=" + SEED + ")");
        Random rnd = new Random(SEED);
        base = tmp.resolve("base.img");
        try (FileChannel f = FileChannel.open(base, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            f.truncate(0);
            f.position((16L << 20) - 1);
            f.write(java.nio.ByteBuffer.wrap(new byte[1]));
        }
        try (FileBlockDevice d = new FileBlockDevice(base, false)) {
            TestFs.format(d);
            FsCore fs = TestFs.mount(d);
            for (int z = 0; z < ZONES; z++) {
                String zone = "/z" + z;
                fs.mkdir(ROOT, zone, 0755);
                fs.mkdir(ROOT, zone + "/sub", 0755);
                // f0 is empty, f2 spans at least three blocks; the others are of any size.
                for (int k = 0; k < 4 + rnd.nextInt(2); k++) {
                    int size =
                            k == 0 ? 0 : k == 2 ? 3 * Layout.BLOCK_SIZE + rnd.nextInt(40_000) : rnd.nextInt(60_000) + 1;
                    write(fs, zone + "/f" + k, rnd, size);
                }
                for (int k = 0; k < 2 + rnd.nextInt(2); k++) {
                    write(fs, zone + "/sub/g" + k, rnd, rnd.nextInt(20_000) + 1);
                }
                fs.link(ROOT, zone + "/f1", zone + "/f1.link");
                FILES.put(zone + "/f1.link", FILES.get(zone + "/f1"));
                fs.symlink(ROOT, "f1", zone + "/s");
            }
            write(fs, "/top", rnd, 5000);
            for (String p : List.copyOf(FILES.keySet())) {
                INODES.put(p, fs.stat(ROOT, p).ino());
            }
            for (int z = 0; z < ZONES; z++) {
                INODES.put("/z" + z, fs.stat(ROOT, "/z" + z).ino());
                INODES.put("/z" + z + "/sub", fs.stat(ROOT, "/z" + z + "/sub").ino());
            }
            fs.unmount();
        }
        assertEquals(Fsck.EXIT_CLEAN, fsck(base, false).code(), "the undamaged image must be clean");
    }

    private static void write(FsCore fs, String path, Random rnd, int size) throws Exception {
        byte[] data = new byte[size];
        rnd.nextBytes(data);
        TestFs.writeFile(fs, ROOT, path, data);
        FILES.put(path, data);
    }

    record Run(int code, String out) {}

    private static Run fsck(Path image, boolean repair) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        String[] args = repair ? new String[] {"--repair", image.toString()} : new String[] {image.toString()};
        int code = Fsck.run(args, ps);
        return new Run(code, bytes.toString(StandardCharsets.UTF_8));
    }

    /**
     * What the tree should look like after repair: path to expected bytes. A damage removes the files it destroys,
     * moves those it orphans under /lost+found, and marks those whose size it changed to be checked by prefix only.
     */
    static final class Expected {
        final Map<String, byte[]> files = new TreeMap<>(FILES);
        final List<String> prefixOnly = new ArrayList<>();

        void remove(String path) {
            files.remove(path);
        }

        void move(String from, String to) {
            Map<String, byte[]> moved = new LinkedHashMap<>();
            files.entrySet().removeIf(e -> {
                if (e.getKey().equals(from) || e.getKey().startsWith(from + "/")) {
                    moved.put(to + e.getKey().substring(from.length()), e.getValue());
                    return true;
                }
                return false;
            });
            files.putAll(moved);
        }
    }

    /** The image file mapped, with the layout helpers the damages need. */
    static final class Image implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final FileChannel ch;
        final MemorySegment m;
        final Geometry g;

        Image(Path p) throws Exception {
            ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
            m = ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size(), arena);
            g = SuperblockDescriptor.read(block(0));
        }

        MemorySegment block(long b) {
            return m.asSlice(b * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        }

        MemorySegment inodeBlock(long ino) {
            return block(g.inodeBlock(ino));
        }

        int base(long ino) {
            return g.inodeOffset(ino);
        }

        int getInt(long ino, int offset) {
            return inodeBlock(ino).get(Layout.INT, base(ino) + offset);
        }

        long getLong(long ino, int offset) {
            return inodeBlock(ino).get(Layout.LONG, base(ino) + offset);
        }

        void setInt(long ino, int offset, int v) {
            inodeBlock(ino).set(Layout.INT, base(ino) + offset, v);
            InodeDescriptor.seal(inodeBlock(ino), base(ino));
        }

        void setLong(long ino, int offset, long v) {
            inodeBlock(ino).set(Layout.LONG, base(ino) + offset, v);
            InodeDescriptor.seal(inodeBlock(ino), base(ino));
        }

        /** Physical block of logical block 0 (every damaged file and directory here has inline extents). */
        long firstBlock(long ino) {
            return getLong(ino, InodeDescriptor.EXTENTS_OFFSET + 8);
        }

        void flipBit(long bitmapStart, long item, boolean value, boolean reseal) {
            MemorySegment b = block(bitmapStart + item / BitmapDescriptor.BITS_PER_BLOCK);
            BitmapDescriptor.set(b, (int) (item % BitmapDescriptor.BITS_PER_BLOCK), value);
            if (reseal) {
                BitmapDescriptor.seal(b);
            }
        }

        boolean bit(long bitmapStart, long item) {
            MemorySegment b = block(bitmapStart + item / BitmapDescriptor.BITS_PER_BLOCK);
            return BitmapDescriptor.get(b, (int) (item % BitmapDescriptor.BITS_PER_BLOCK));
        }

        /** Applies {@code f} to the record named {@code name} in directory {@code dir} (block, offset, prev offset). */
        <T> T withEntry(long dir, String name, Function<int[], T> f, long[] blockOut) {
            long size = getLong(dir, InodeDescriptor.SIZE_OFFSET);
            int count = getInt(dir, InodeDescriptor.EXTENT_COUNT_OFFSET);
            for (int e = 0; e < count; e++) {
                int at = InodeDescriptor.EXTENTS_OFFSET + e * InodeDescriptor.EXTENT_SIZE;
                long len = Integer.toUnsignedLong(getInt(dir, at + 4));
                long phys = getLong(dir, at + 8);
                for (long k = 0; k < len && k < size / Layout.BLOCK_SIZE; k++) {
                    MemorySegment s = block(phys + k);
                    int prev = -1;
                    for (int rec = 0; rec < DirBlockDescriptor.RECORDS_END; rec += DirBlockDescriptor.recLen(s, rec)) {
                        if (DirBlockDescriptor.ino(s, rec) != 0
                                && DirBlockDescriptor.name(s, rec).equals(name)) {
                            blockOut[0] = phys + k;
                            return f.apply(new int[] {rec, prev});
                        }
                        prev = rec;
                    }
                }
            }
            throw new AssertionError("no entry " + name + " in directory " + dir);
        }

        void dropEntry(long dir, String name) {
            long[] blk = new long[1];
            int[] at = withEntry(dir, name, x -> x, blk);
            MemorySegment s = block(blk[0]);
            int rec = at[0];
            int prev = at[1];
            if (prev >= 0) {
                s.set(Layout.SHORT, prev + DirBlockDescriptor.REC_LEN_OFFSET, (short)
                        (DirBlockDescriptor.recLen(s, prev) + DirBlockDescriptor.recLen(s, rec)));
            } else {
                s.set(Layout.LONG, rec + DirBlockDescriptor.INO_OFFSET, 0L);
            }
            DirBlockDescriptor.seal(s);
        }

        void setEntryType(long dir, String name, int type) {
            long[] blk = new long[1];
            int rec = withEntry(dir, name, x -> x[0], blk);
            block(blk[0]).set(Layout.BYTE, rec + DirBlockDescriptor.TYPE_OFFSET, (byte) type);
            DirBlockDescriptor.seal(block(blk[0]));
        }

        @Override
        public void close() throws Exception {
            m.force();
            arena.close();
            ch.close();
        }
    }

    /** One kind of damage; {@code zone} is the top-level directory it may touch (damages in one run use distinct zones). */
    enum Damage {
        CLEAR_USED_BLOCK_BIT {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino = INODES.get(zone + "/f2");
                im.flipBit(im.g.blockBitmapStart(), im.firstBlock(ino), false, true);
            }
        },
        SET_FREE_BLOCK_BIT {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long b;
                do {
                    b = im.g.dataStart() + rnd.nextLong(im.g.dataBlocks());
                } while (im.bit(im.g.blockBitmapStart(), b));
                im.flipBit(im.g.blockBitmapStart(), b, true, true);
            }
        },
        CLEAR_USED_INODE_BIT {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                im.flipBit(im.g.inodeBitmapStart(), INODES.get(zone + "/sub/g0"), false, true);
            }
        },
        SET_FREE_INODE_BIT {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino;
                do {
                    ino = 2 + rnd.nextLong(im.g.inodeCount() - 2);
                } while (im.bit(im.g.inodeBitmapStart(), ino));
                im.flipBit(im.g.inodeBitmapStart(), ino, true, true);
            }
        },
        CORRUPT_BITMAP_BLOCK {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                MemorySegment b = im.block(im.g.blockBitmapStart());
                int at = rnd.nextInt(BitmapDescriptor.MAP_BYTES);
                b.set(Layout.BYTE, at, (byte) (b.get(Layout.BYTE, at) ^ 0x24));
            }
        },
        WRONG_FILE_NLINK {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino = INODES.get(zone + (rnd.nextBoolean() ? "/f1" : "/f3"));
                int nlink = im.getInt(ino, InodeDescriptor.NLINK_OFFSET);
                im.setInt(ino, InodeDescriptor.NLINK_OFFSET, nlink + 1 + rnd.nextInt(5));
            }
        },
        WRONG_DIR_NLINK {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino = INODES.get(zone);
                im.setInt(ino, InodeDescriptor.NLINK_OFFSET, rnd.nextBoolean() ? 1 : 9);
            }
        },
        DIR_SIZE_BEYOND_EXTENTS {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino = INODES.get(zone + "/sub");
                long size = im.getLong(ino, InodeDescriptor.SIZE_OFFSET);
                im.setLong(ino, InodeDescriptor.SIZE_OFFSET, size + Layout.BLOCK_SIZE * (1 + rnd.nextInt(3)));
            }
        },
        FILE_SIZE_BELOW_EXTENTS {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                String path = zone + "/f2";
                im.setLong(INODES.get(path), InodeDescriptor.SIZE_OFFSET, 1 + rnd.nextInt(100));
                ex.prefixOnly.add(path);
            }
        },
        WRONG_BLOCK_COUNT {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino = INODES.get(zone + "/f2");
                im.setLong(ino, InodeDescriptor.BLOCKS_OFFSET, im.getLong(ino, InodeDescriptor.BLOCKS_OFFSET) + 3);
            }
        },
        DROP_FILE_ENTRY {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                im.dropEntry(INODES.get(zone), "f2");
                ex.move(zone + "/f2", "/lost+found/#" + INODES.get(zone + "/f2"));
            }
        },
        DROP_EMPTY_FILE_ENTRY {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                im.dropEntry(INODES.get(zone), "f0");
                ex.remove(zone + "/f0"); // e2fsck clears an unattached zero-length inode
            }
        },
        DROP_DIRECTORY_ENTRY {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                im.dropEntry(INODES.get(zone), "sub");
                ex.move(zone + "/sub", "/lost+found/#" + INODES.get(zone + "/sub"));
            }
        },
        UNLINKED_WHILE_OPEN {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino = INODES.get(zone + "/f2");
                im.dropEntry(INODES.get(zone), "f2");
                im.setInt(ino, InodeDescriptor.NLINK_OFFSET, 0);
                ex.remove(zone + "/f2");
            }
        },
        ENTRY_TO_FREE_INODE {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                long ino = INODES.get(zone + "/f3");
                im.inodeBlock(ino)
                        .asSlice(im.base(ino), InodeDescriptor.INODE_SIZE)
                        .fill((byte) 0);
                ex.remove(zone + "/f3");
            }
        },
        WRONG_ENTRY_TYPE {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                im.setEntryType(INODES.get(zone), "f2", FileMode.S_IFLNK >>> 12);
            }
        },
        WRONG_PARENT {
            @Override
            void apply(Image im, String zone, Random rnd, Expected ex) {
                im.setLong(INODES.get(zone + "/sub"), InodeDescriptor.PARENT_OFFSET, Geometry.ROOT_INO);
            }
        };

        abstract void apply(Image im, String zone, Random rnd, Expected ex);
    }

    private Path copy(String name) throws Exception {
        Path p = tmp.resolve(name + ".img");
        Files.copy(base, p, StandardCopyOption.REPLACE_EXISTING);
        return p;
    }

    /** Damages a copy, repairs it, and checks the outcome; returns the repair's output. */
    private String damageAndRepair(String name, List<Damage> damages, Random rnd) throws Exception {
        Path image = copy(name);
        Expected ex = new Expected();
        List<Integer> zones = new ArrayList<>();
        for (int z = 0; z < ZONES; z++) {
            zones.add(z);
        }
        java.util.Collections.shuffle(zones, rnd);
        try (Image im = new Image(image)) {
            for (int k = 0; k < damages.size(); k++) {
                damages.get(k).apply(im, "/z" + zones.get(k), rnd, ex);
            }
        }
        String what = name + " " + damages + " (seed " + SEED + ")";
        Run before = fsck(image, false);
        assertEquals(Fsck.EXIT_ERRORS_LEFT, before.code(), what + ": the damage must be found\n" + before.out());
        Run repair = fsck(image, true);
        assertEquals(Fsck.EXIT_ERRORS_CORRECTED, repair.code(), what + "\n" + repair.out());
        Run again = fsck(image, false);
        assertEquals(Fsck.EXIT_CLEAN, again.code(), what + ": a second fsck must be clean\n" + again.out());
        Run secondRepair = fsck(image, true);
        assertEquals(Fsck.EXIT_CLEAN, secondRepair.code(), what + "\n" + secondRepair.out());
        try (FileBlockDevice d = new FileBlockDevice(image, false)) {
            FsCore fs = TestFs.mount(d);
            for (Map.Entry<String, byte[]> e : ex.files.entrySet()) {
                byte[] got = TestFs.readFile(fs, ROOT, e.getKey());
                if (ex.prefixOnly.contains(e.getKey())) {
                    assertTrue(got.length >= e.getValue().length, what + ": " + e.getKey());
                    assertArrayEquals(
                            e.getValue(), java.util.Arrays.copyOf(got, e.getValue().length), what + ": " + e.getKey());
                } else {
                    assertArrayEquals(e.getValue(), got, what + ": " + e.getKey() + "\n" + repair.out());
                }
            }
            // The tree is usable: a write where repair worked succeeds and survives.
            TestFs.writeFile(fs, ROOT, "/after-repair", new byte[] {1, 2, 3});
            fs.unmount();
        }
        assertEquals(Fsck.EXIT_CLEAN, fsck(image, false).code(), what + ": clean after mounting again");
        Files.delete(image);
        return repair.out();
    }

    @ParameterizedTest
    @EnumSource(Damage.class)
    void shouldRepairEachKindOfDamage(Damage damage) throws Exception {
        damageAndRepair(damage.name(), List.of(damage), new Random(SEED ^ damage.ordinal()));
    }

    @Test
    void shouldRepairSeveralDamagesAtOnce() throws Exception {
        Random rnd = new Random(SEED * 31);
        Damage[] all = Damage.values();
        for (int round = 0; round < 6; round++) {
            List<Damage> damages = new ArrayList<>();
            int n = 2 + rnd.nextInt(ZONES - 2);
            for (int k = 0; k < n; k++) {
                damages.add(all[rnd.nextInt(all.length)]);
            }
            damageAndRepair("combined" + round, damages, rnd);
        }
    }

    @Test
    void shouldReconnectAnOrphanIntoAnExistingLostAndFound() throws Exception {
        Path image = copy("existing-lf");
        try (FileBlockDevice d = new FileBlockDevice(image, false)) {
            FsCore fs = TestFs.mount(d);
            fs.mkdir(ROOT, "/lost+found", 0700);
            fs.unmount();
        }
        try (Image im = new Image(image)) {
            im.dropEntry(INODES.get("/z0"), "f2");
        }
        Run r = fsck(image, true);
        assertEquals(Fsck.EXIT_ERRORS_CORRECTED, r.code(), r.out());
        assertTrue(!r.out().contains("created /lost+found"), r.out());
        try (FileBlockDevice d = new FileBlockDevice(image, false)) {
            FsCore fs = TestFs.mount(d);
            assertArrayEquals(FILES.get("/z0/f2"), TestFs.readFile(fs, ROOT, "/lost+found/#" + INODES.get("/z0/f2")));
            fs.unmount();
        }
    }

    @Test
    void shouldGrowLostAndFoundForMoreOrphansThanOneBlockHolds() throws Exception {
        Path image = tmp.resolve("many.img");
        Files.copy(base, image);
        int count = 500; // "#NNN" records of 16 bytes, 255 to a block: two directory blocks
        Map<String, Long> inos = new TreeMap<>();
        long many;
        try (FileBlockDevice d = new FileBlockDevice(image, false)) {
            FsCore fs = TestFs.mount(d);
            fs.mkdir(ROOT, "/many", 0755);
            for (int k = 0; k < count; k++) {
                TestFs.writeFile(fs, ROOT, "/many/m" + k, new byte[] {(byte) k});
                inos.put("m" + k, fs.stat(ROOT, "/many/m" + k).ino());
            }
            many = fs.stat(ROOT, "/many").ino();
            fs.unmount();
        }
        try (Image im = new Image(image)) {
            for (String name : inos.keySet()) {
                im.dropEntry(many, name);
            }
        }
        Run r = fsck(image, true);
        assertEquals(Fsck.EXIT_ERRORS_CORRECTED, r.code(), r.out());
        assertEquals(Fsck.EXIT_CLEAN, fsck(image, false).code());
        try (FileBlockDevice d = new FileBlockDevice(image, false)) {
            FsCore fs = TestFs.mount(d);
            assertTrue(fs.stat(ROOT, "/lost+found").size() >= 2L * Layout.BLOCK_SIZE);
            for (int k = 0; k < count; k++) {
                assertArrayEquals(
                        new byte[] {(byte) k}, TestFs.readFile(fs, ROOT, "/lost+found/#" + inos.get("m" + k)));
            }
            assertEquals(List.of(), fs.readdir(ROOT, "/many", 0, 10));
            fs.unmount();
        }
    }

    @Test
    void shouldReplayACommittedJournalBeforeCheckingAndRepairing() throws Exception {
        Path image = copy("journal");
        byte[] data = "durable before the crash".getBytes(StandardCharsets.UTF_8);
        try (FileBlockDevice d = new FileBlockDevice(image, false)) {
            FsCore fs = TestFs.mount(d);
            long h = fs.open(ROOT, "/z0/crash", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0644);
            fs.write(ROOT, h, MemorySegment.ofArray(data));
            fs.fsync(ROOT, h);
            // The process dies here: no close, no unmount; the journal holds the committed transaction.
        }
        Run check = fsck(image, false);
        assertEquals(Fsck.EXIT_CLEAN, check.code(), check.out());
        assertTrue(check.out().contains("not cleanly unmounted"), check.out());
        Run r = fsck(image, true);
        assertEquals(Fsck.EXIT_CLEAN, r.code(), r.out());
        assertTrue(r.out().contains("journal: replayed"), r.out());
        Run again = fsck(image, false);
        assertEquals(Fsck.EXIT_CLEAN, again.code(), again.out());
        assertTrue(again.out().contains(", 0 committed journal transactions pending replay"), again.out());
        assertTrue(!again.out().contains("not cleanly unmounted"), again.out());
        try (FileBlockDevice d = new FileBlockDevice(image, false)) {
            FsCore fs = TestFs.mount(d);
            assertArrayEquals(data, TestFs.readFile(fs, ROOT, "/z0/crash"));
            fs.unmount();
        }
    }

    @Test
    void shouldLeaveAnImageItCannotRepairExactlyAsItWas() throws Exception {
        Path image = copy("unrepairable");
        try (Image im = new Image(image)) {
            long ino = INODES.get("/z1/f2");
            MemorySegment b = im.inodeBlock(ino);
            int at = im.base(ino) + InodeDescriptor.MTIME_OFFSET;
            b.set(Layout.BYTE, at, (byte) (b.get(Layout.BYTE, at) ^ 1)); // checksum mismatch, not resealed
            im.dropEntry(INODES.get("/z2"), "f2"); // and a repairable orphan
        }
        byte[] before = Files.readAllBytes(image);
        Run r = fsck(image, true);
        assertEquals(Fsck.EXIT_ERRORS_LEFT, r.code(), r.out());
        assertTrue(r.out().contains("checksum mismatch") && r.out().contains("not repaired"), r.out());
        assertArrayEquals(before, Files.readAllBytes(image), "an unrepairable image must not be written");
    }

    @Test
    void shouldRefuseWhatIsNotAnFspImageWithExitCode8() throws Exception {
        Path junk = tmp.resolve("junk.img");
        byte[] bytes = new byte[1 << 20];
        new Random(SEED).nextBytes(bytes);
        Files.write(junk, bytes);
        Run check = fsck(junk, false);
        assertEquals(Fsck.EXIT_OPERATIONAL_ERROR, check.code(), check.out());
        Run r = fsck(junk, true);
        assertEquals(Fsck.EXIT_OPERATIONAL_ERROR, r.code(), r.out());
        assertTrue(r.out().contains("not an FSP file system"), r.out());
        assertArrayEquals(bytes, Files.readAllBytes(junk));
    }

    @Test
    void shouldRefuseToRepairAnImageADaemonHolds() throws Exception {
        Path image = copy("locked");
        try (Image im = new Image(image)) {
            im.dropEntry(INODES.get("/z3"), "f2");
        }
        byte[] before = Files.readAllBytes(image);
        try (FileChannel lockChannel =
                        FileChannel.open(Fsck.lockFileFor(image), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock held = lockChannel.lock()) {
            Run r = fsck(image, true);
            assertEquals(Fsck.EXIT_OPERATIONAL_ERROR, r.code(), r.out());
            assertTrue(r.out().contains("in use by fspd"), r.out());
        }
        assertArrayEquals(before, Files.readAllBytes(image));
        assertEquals(Fsck.EXIT_ERRORS_CORRECTED, fsck(image, true).code());
    }

    @Test
    void shouldRejectUnknownOptions() {
        Run r = fsck(Path.of("--bogus"), false);
        assertEquals(Fsck.EXIT_OPERATIONAL_ERROR, r.code(), r.out());
        assertTrue(r.out().contains("usage: fsp fsck [--repair | -y] IMAGE"), r.out());
    }
}
