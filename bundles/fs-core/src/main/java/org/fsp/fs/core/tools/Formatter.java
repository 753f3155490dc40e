package org.fsp.fs.core.tools;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.block.BlockRequest;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SessionTableDescriptor;
import org.fsp.fs.core.layout.SuperblockDescriptor;

/**
 * Writes an empty file system: zeroed inode table and journal head, bitmaps with the metadata regions in use, the
 * root directory (inode 1, mode 0755, owned by root), the session table with its key at the start of the data region and, last, the superblock, followed by a flush. Used by
 * {@link Mkfs} and by the service when it finds a blank device.
 */
public final class Formatter {

    private Formatter() {}

    /** Percent of the data blocks kept for root unless mkfs is told otherwise, as mke2fs's {@code -m 5}. */
    public static final int DEFAULT_RESERVED_PERCENT = 5;

    /** Formats with the default root reserve ({@value #DEFAULT_RESERVED_PERCENT}%). */
    public static Geometry format(BlockIo io, long totalBlocks, long journalBlocks) throws IOException {
        return format(io, totalBlocks, journalBlocks, DEFAULT_RESERVED_PERCENT);
    }

    /**
     * Formats {@code totalBlocks} blocks of the device.
     *
     * @param journalBlocks journal length in blocks, or 0 for the default
     * @param reservedPercent percent (0-50) of the data blocks only root may allocate
     * @return the geometry written
     */
    public static Geometry format(BlockIo io, long totalBlocks, long journalBlocks, int reservedPercent)
            throws IOException {
        return format(io, totalBlocks, journalBlocks, reservedPercent, 0);
    }

    /**
     * {@link #format(BlockIo, long, long, int)} with {@code inodeCount} inodes (0: one per four blocks), as mke2fs's
     * {@code -N}.
     */
    public static Geometry format(
            BlockIo io, long totalBlocks, long journalBlocks, int reservedPercent, long inodeCount) throws IOException {
        if (reservedPercent < 0 || reservedPercent > 50) {
            throw new IOException("reserved percentage " + reservedPercent + " is outside 0..50");
        }
        if (totalBlocks < Geometry.MIN_BLOCKS) {
            throw new IOException(
                    "device of " + totalBlocks + " blocks is smaller than the minimum " + Geometry.MIN_BLOCKS);
        }
        Geometry defaults = Geometry.defaults(totalBlocks, journalBlocks);
        Geometry g =
                inodeCount > 0 ? Geometry.compute(totalBlocks, inodeCount + 1, defaults.journalBlocks()) : defaults;
        if (g.dataStart() + 16 > totalBlocks) {
            throw new IOException("journal of " + g.journalBlocks() + " blocks leaves no room for data");
        }
        long now = System.currentTimeMillis() * 1_000_000L;
        // The session table takes the first data blocks: marked in use below, header written with the HMAC key.
        long sessionStart = g.dataStart();
        long sessionBlocks = SessionTableDescriptor.blocksFor(g.dataBlocks());
        try (Arena arena = Arena.ofConfined()) {
            int chunk = 256;
            MemorySegment zeros = arena.allocate((long) chunk * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            List<BlockRequest> writes = new ArrayList<>();
            // The superblock goes first as zeros: a crash during mkfs leaves a blank, not a half-made, file system.
            writes.add(io.write(0, zeros.asSlice(0, Layout.BLOCK_SIZE), BlockRequest.Priority.METADATA));
            writes.add(io.write(g.journalStart(), zeros.asSlice(0, Layout.BLOCK_SIZE), BlockRequest.Priority.JOURNAL));
            for (long b = g.inodeTableStart(); b < g.dataStart(); b += chunk) {
                long n = Math.min(chunk, g.dataStart() - b);
                writes.add(io.write(b, zeros.asSlice(0, n * Layout.BLOCK_SIZE), BlockRequest.Priority.METADATA));
            }
            io.awaitAll(writes);
            writes.clear();
            List<MemorySegment> keep = new ArrayList<>();
            for (int k = 0; k < g.inodeBitmapBlocks(); k++) {
                MemorySegment m = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
                long first = (long) k * BitmapDescriptor.BITS_PER_BLOCK;
                for (int bit = 0; bit < BitmapDescriptor.BITS_PER_BLOCK; bit++) {
                    long item = first + bit;
                    if (item <= Geometry.ROOT_INO || item >= g.inodeCount()) {
                        BitmapDescriptor.set(m, bit, true);
                    }
                }
                BitmapDescriptor.seal(m);
                keep.add(m);
                writes.add(io.write(g.inodeBitmapStart() + k, m, BlockRequest.Priority.METADATA));
            }
            for (int k = 0; k < g.blockBitmapBlocks(); k++) {
                MemorySegment m = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
                long first = (long) k * BitmapDescriptor.BITS_PER_BLOCK;
                for (int bit = 0; bit < BitmapDescriptor.BITS_PER_BLOCK; bit++) {
                    long item = first + bit;
                    if (item < sessionStart + sessionBlocks || item >= g.totalBlocks()) {
                        BitmapDescriptor.set(m, bit, true);
                    }
                }
                BitmapDescriptor.seal(m);
                keep.add(m);
                writes.add(io.write(g.blockBitmapStart() + k, m, BlockRequest.Priority.METADATA));
            }
            MemorySegment it = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            int base = g.inodeOffset(Geometry.ROOT_INO);
            InodeDescriptor.writeEmptyDirectory(it, base, 0755, now, Geometry.ROOT_INO);
            writes.add(io.write(g.inodeBlock(Geometry.ROOT_INO), it, BlockRequest.Priority.METADATA));
            MemorySegment records = arena.allocate(sessionBlocks * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            byte[] key = new byte[SessionTableDescriptor.KEY_BYTES];
            new SecureRandom().nextBytes(key);
            SessionTableDescriptor.writeHeader(records.asSlice(0, Layout.BLOCK_SIZE), key);
            writes.add(io.write(sessionStart, records, BlockRequest.Priority.METADATA));
            io.awaitAll(writes);
            io.flush();
            MemorySegment sb = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            // A fresh, never-zero sequence: transactions a previous file system left in the journal cannot match.
            long seq = (System.nanoTime() ^ now) & 0x3fff_ffff_ffff_ffffL | 1L << 40;
            long reserved = (g.totalBlocks() - g.dataStart()) * reservedPercent / 100;
            SuperblockDescriptor.write(sb, g, seq, true, now, 0, reserved, sessionStart, sessionBlocks);
            io.await(io.write(0, sb, BlockRequest.Priority.METADATA));
            io.flush();
        }
        return g;
    }
}
