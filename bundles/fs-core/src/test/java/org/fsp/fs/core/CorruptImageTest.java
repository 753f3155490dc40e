package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.Fsck;
import org.fsp.fs.core.tools.Mkfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Corrupt images: mount refuses with a message and writes nothing; fsck finds each broken invariant. */
class CorruptImageTest {

    private static final Credentials ROOT = Credentials.ROOT;

    @TempDir
    Path tmp;

    private static HeapBlockDeviceTestDouble populated() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        FsCore fs = TestFs.formatAndMount(d);
        fs.mkdir(ROOT, "/dir", 0755);
        TestFs.writeFile(fs, ROOT, "/dir/file", new byte[10_000]);
        fs.unmount();
        return d;
    }

    private static Geometry geometry(HeapBlockDeviceTestDouble d) {
        return SuperblockDescriptor.read(d.storage().asSlice(0, Layout.BLOCK_SIZE));
    }

    private static void flipByte(HeapBlockDeviceTestDouble d, long block, int offset) {
        long at = block * Layout.BLOCK_SIZE + offset;
        d.storage().set(ValueLayout.JAVA_BYTE, at, (byte) (d.storage().get(ValueLayout.JAVA_BYTE, at) ^ 0x5a));
    }

    private static byte[] snapshot(HeapBlockDeviceTestDouble d) {
        return d.storage().toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void shouldRefuseACorruptSuperblockAndWriteNothing() throws Exception {
        HeapBlockDeviceTestDouble d = populated();
        flipByte(d, 0, SuperblockDescriptor.INODE_COUNT_OFFSET);
        byte[] before = snapshot(d);
        CorruptMetadataException e = assertThrows(CorruptMetadataException.class, () -> TestFs.mount(d));
        assertTrue(e.getMessage().contains("superblock checksum mismatch"), e.getMessage());
        assertArrayEquals(before, snapshot(d));
        assertFalse(TestFs.fsck(d).isEmpty());
    }

    @Test
    void shouldRefuseSomethingThatIsNotAnFspImage() throws Exception {
        HeapBlockDeviceTestDouble d = populated();
        flipByte(d, 0, SuperblockDescriptor.MAGIC_OFFSET);
        CorruptMetadataException e = assertThrows(CorruptMetadataException.class, () -> TestFs.mount(d));
        assertTrue(e.getMessage().contains("not an FSP file system"), e.getMessage());
    }

    @Test
    void shouldRefuseACorruptBitmapAndWriteNothing() throws Exception {
        HeapBlockDeviceTestDouble d = populated();
        flipByte(d, geometry(d).blockBitmapStart(), 100);
        byte[] before = snapshot(d);
        CorruptMetadataException e = assertThrows(CorruptMetadataException.class, () -> TestFs.mount(d));
        assertTrue(e.getMessage().contains("block bitmap block"), e.getMessage());
        assertArrayEquals(before, snapshot(d));
    }

    @Test
    void shouldStopWritingWhenItMeetsACorruptInode() throws Exception {
        HeapBlockDeviceTestDouble d = populated();
        Geometry g = geometry(d);
        FsCore probe = TestFs.mount(d);
        long ino = probe.stat(ROOT, "/dir/file").ino();
        probe.unmount();
        flipByte(d, g.inodeBlock(ino), g.inodeOffset(ino) + InodeDescriptor.SIZE_OFFSET);
        FsCore fs = TestFs.mount(d);
        byte[] before = snapshot(d);
        assertEquals(
                Errno.EIO,
                assertThrows(FsException.class, () -> fs.stat(ROOT, "/dir/file"))
                        .errno());
        assertEquals(
                Errno.EROFS,
                assertThrows(FsException.class, () -> fs.mkdir(ROOT, "/x", 0755))
                        .errno());
        fs.unmount();
        assertArrayEquals(before, snapshot(d));
        List<String> problems = TestFs.fsck(d);
        assertTrue(
                problems.stream().anyMatch(p -> p.contains("inode " + ino + " checksum mismatch")),
                problems.toString());
    }

    @Test
    void shouldReportBitmapAndLinkCountInconsistencies() throws Exception {
        HeapBlockDeviceTestDouble d = populated();
        Geometry g = geometry(d);
        MemorySegment bitmap = d.storage().asSlice(g.blockBitmapStart() * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        int spare = (int) g.totalBlocks() - 1;
        BitmapDescriptor.set(bitmap, spare, !BitmapDescriptor.get(bitmap, spare));
        BitmapDescriptor.seal(bitmap);
        MemorySegment root =
                d.storage().asSlice(g.inodeBlock(Geometry.ROOT_INO) * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        int base = g.inodeOffset(Geometry.ROOT_INO);
        root.set(Layout.INT, base + InodeDescriptor.NLINK_OFFSET, 7);
        InodeDescriptor.seal(root, base);
        List<String> problems = TestFs.fsck(d);
        assertTrue(problems.stream().anyMatch(p -> p.contains("block " + spare)), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("link count 7, expected 3")), problems.toString());
    }

    @Test
    void shouldMakeAndCheckImagesFromTheCommandLineEntryPoints() throws Exception {
        Path image = tmp.resolve("disk.img");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        assertEquals(0, Mkfs.run(new String[] {image.toString(), "--size", "8M"}, ps));
        assertEquals(8L << 20, Files.size(image));
        assertEquals(Fsck.EXIT_CLEAN, Fsck.run(new String[] {image.toString()}, ps));
        assertEquals(1, Mkfs.run(new String[] {tmp.resolve("missing.img").toString()}, ps));
        byte[] bytes = Files.readAllBytes(image);
        bytes[SuperblockDescriptor.TOTAL_BLOCKS_OFFSET] ^= 1;
        Files.write(image, bytes);
        // A corrupt superblock leaves nothing to check against: "could not check", as e2fsck without a backup.
        assertEquals(Fsck.EXIT_OPERATIONAL_ERROR, Fsck.run(new String[] {image.toString()}, ps));
        assertArrayEquals(bytes, Files.readAllBytes(image), "fsck wrote to the image");
        assertEquals(Fsck.EXIT_OPERATIONAL_ERROR, Fsck.run(new String[] {"--repair", image.toString()}, ps));
        assertArrayEquals(bytes, Files.readAllBytes(image), "fsck --repair wrote to an image it could not check");
        assertEquals(
                Fsck.EXIT_OPERATIONAL_ERROR,
                Fsck.run(new String[] {tmp.resolve("nope").toString()}, ps));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("clean") && text.contains("superblock checksum mismatch"), text);
    }
}
