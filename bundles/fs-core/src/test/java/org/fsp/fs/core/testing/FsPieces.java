package org.fsp.fs.core.testing;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.inode.InodeTable;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.tools.DirectBlockScheduler;

/**
 * fs-core's parts wired over a formatted device as FsCore wires them, without FsCore, for the unit tests of one part:
 * a fresh cache, the bitmaps loaded, the inode table, and a journal whose checkpoints release freed blocks (the
 * superblock is not rewritten). Opening again on the same device reads everything back from the image.
 */
public record FsPieces(
        BlockIo io, Geometry geometry, BufferCache cache, Allocator alloc, InodeTable table, Journal journal) {

    public static FsPieces open(BlockDevice device) throws IOException {
        BlockIo io = new BlockIo(new DirectBlockScheduler(device));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sb = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            io.read(0, sb, BlockRequest.Priority.METADATA);
            Geometry g = SuperblockDescriptor.read(sb);
            BufferCache cache = new BufferCache(io, 4L << 20);
            Allocator alloc = new Allocator(cache, g);
            alloc.load();
            InodeTable table = new InodeTable(cache, g, alloc);
            Journal journal =
                    new Journal(io, cache, g, SuperblockDescriptor.journalSeq(sb), seq -> {}, alloc::releaseFreed);
            return new FsPieces(io, g, cache, alloc, table, journal);
        }
    }

    /** Commits the running transaction, checkpoints it and writes every dirty buffer home. */
    public void checkpoint() throws IOException {
        journal.commitUpTo(journal.runningSeq());
        journal.checkpointNow();
        cache.writeBackAll();
    }
}
