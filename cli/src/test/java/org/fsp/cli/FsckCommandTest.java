package org.fsp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.tools.Fsck;
import org.fsp.fs.core.tools.Mkfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code fsp fsck}: read-only by default, {@code --repair} and {@code -y} repair, exit codes as e2fsck. */
class FsckCommandTest {

    @TempDir
    Path tmp;

    private static int fsp(String... args) {
        return new CommandLine(new Fsp()).execute(args);
    }

    @Test
    void shouldCheckAndRepairThroughTheCommandLine() throws Exception {
        Path image = tmp.resolve("disk.img");
        assertEquals(0, Mkfs.run(new String[] {image.toString(), "--size", "16M"}));
        assertEquals(Fsck.EXIT_CLEAN, fsp("fsck", image.toString()));
        assertEquals(Fsck.EXIT_CLEAN, fsp("fsck", "--repair", image.toString()));
        leakTheLastBlock(image);
        assertEquals(Fsck.EXIT_ERRORS_LEFT, fsp("fsck", image.toString()));
        assertEquals(Fsck.EXIT_ERRORS_LEFT, fsp("fsck", image.toString()), "a check alone must not repair");
        assertEquals(Fsck.EXIT_ERRORS_CORRECTED, fsp("fsck", "-y", image.toString()));
        assertEquals(Fsck.EXIT_CLEAN, fsp("fsck", image.toString()));
        assertEquals(
                Fsck.EXIT_OPERATIONAL_ERROR,
                fsp("fsck", "-y", tmp.resolve("missing.img").toString()));
    }

    /** Marks the last data block in use in the block bitmap though nothing uses it: a leaked block. */
    private static void leakTheLastBlock(Path image) throws Exception {
        try (Arena arena = Arena.ofConfined();
                FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment m = ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size(), arena);
            Geometry g = SuperblockDescriptor.read(m.asSlice(0, Layout.BLOCK_SIZE));
            long last = g.totalBlocks() - 1;
            MemorySegment bitmap = m.asSlice(
                    (g.blockBitmapStart() + last / BitmapDescriptor.BITS_PER_BLOCK) * Layout.BLOCK_SIZE,
                    Layout.BLOCK_SIZE);
            BitmapDescriptor.set(bitmap, (int) (last % BitmapDescriptor.BITS_PER_BLOCK), true);
            BitmapDescriptor.seal(bitmap);
            m.force();
        }
    }
}
