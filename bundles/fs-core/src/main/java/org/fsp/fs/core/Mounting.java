package org.fsp.fs.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.function.LongSupplier;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.FileMode;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.journal.JournalShadow;
import org.fsp.fs.core.layout.BitmapDescriptor;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;

/**
 * The mount sequence of {@link FsCore}, up to the constructor: read and validate the superblock (a blank or corrupt
 * one is refused with a message that says what is wrong, before anything is written), read the journal through the
 * journal shadow a crashed process left, then either take over from the previous version (a hand-off of this image
 * with an empty journal: nothing to replay) or check the metadata mount depends on as recovery would leave it and
 * keep the committed transactions in the new journal ({@link Journal#resume}). A typical sequence is: {@code FsCore.mount} calls {@link #mount}, which returns the mounted FsCore.
 */
final class Mounting {

    private Mounting() {}

    /** See {@link FsCore#mount(BlockScheduler, FsCore.Options, LongSupplier, FileSystemHandoff, FileObserver)}. */
    static FsCore mount(
            BlockScheduler scheduler,
            FsCore.Options options,
            LongSupplier clock,
            FileSystemHandoff handoff,
            FileObserver observer)
            throws IOException {
        BlockIo io = new BlockIo(scheduler);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sb = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            io.read(0, sb, BlockRequest.Priority.METADATA);
            String problem = SuperblockDescriptor.isBlank(sb)
                    ? "the device is blank (no superblock): run mkfs first"
                    : SuperblockDescriptor.validate(sb, io.blockCount());
            if (problem != null) {
                throw new CorruptMetadataException("refusing to mount: " + problem);
            }
            Geometry g = SuperblockDescriptor.read(sb);
            long mkfsTime = SuperblockDescriptor.mkfsTime(sb);
            // A device that dies with the process (RAM) leaves nothing for a shadow to complete.
            JournalShadow shadow =
                    options.journalShadowDir() == null || !scheduler.device().outlivesProcess()
                            ? null
                            : JournalShadow.open(options.journalShadowDir(), mkfsTime, g);
            try {
                return mount(io, sb, g, mkfsTime, shadow, options, clock, handoff, observer, scheduler);
            } catch (IOException | RuntimeException e) {
                if (shadow != null) {
                    shadow.close();
                }
                throw e;
            }
        }
    }

    private static FsCore mount(
            BlockIo io,
            MemorySegment sb,
            Geometry g,
            long mkfsTime,
            JournalShadow shadow,
            FsCore.Options options,
            LongSupplier clock,
            FileSystemHandoff handoff,
            FileObserver observer,
            BlockScheduler scheduler)
            throws IOException {
        long baseSeq = SuperblockDescriptor.journalSeq(sb);
        // What a crashed process answered but whose device writes had not completed is in the shadow: the journal is
        // read through it, and recovery treats it like any committed transaction.
        MemorySegment front = shadow == null ? MemorySegment.NULL : shadow.front(baseSeq);
        if (handoff != null
                && handoff.deviceIdentity().equals(FsCore.deviceIdentity(g, mkfsTime))
                && !SuperblockDescriptor.clean(sb)) {
            Journal.Contents committed = Journal.read(io, g, baseSeq, front);
            if (committed.transactions() == 0) {
                return new FsCore(
                        io,
                        g,
                        baseSeq,
                        mkfsTime,
                        SuperblockDescriptor.mountCount(sb),
                        SuperblockDescriptor.reservedBlocks(sb),
                        options,
                        clock,
                        new Journal.Recovery(baseSeq, 0, 0),
                        false,
                        handoff,
                        observer,
                        shadow,
                        null);
            }
            // A hand-off always follows a checkpoint; a journal with transactions means the image changed since.
            FsCore.LOG.warn(
                    "hand-off ignored: the journal of {} is not empty",
                    scheduler.device().describe());
        }
        // Everything is checked before anything is written: a corrupt image is left exactly as it was.
        Journal.Contents committed = Journal.read(io, g, baseSeq, front);
        String problem = precheck(io, g, committed.images());
        if (problem != null) {
            throw new CorruptMetadataException("refusing to mount: " + problem);
        }
        Journal.Recovered resumed = null;
        if (committed.transactions() > 0) {
            // The recovered transactions stay in the journal until its next checkpoint, as if this process had
            // committed them: no home writes and their flushes before serving, only the shadow's part of the journal
            // written to the device and one flush.
            resumed = recovered(io, g, committed, front);
            if (resumed.notOnDevice() > 0) {
                FsCore.LOG.info(
                        "journal shadow {}: {} journal blocks restored onto {}",
                        shadow.file(),
                        resumed.notOnDevice(),
                        scheduler.device().describe());
            }
        }
        return new FsCore(
                io,
                g,
                committed.nextSeq(),
                mkfsTime,
                SuperblockDescriptor.mountCount(sb) + 1,
                SuperblockDescriptor.reservedBlocks(sb),
                options,
                clock,
                new Journal.Recovery(
                        committed.nextSeq(),
                        committed.transactions(),
                        committed.images().size()),
                SuperblockDescriptor.clean(sb),
                null,
                observer,
                shadow,
                resumed);
    }

    /**
     * The journal's blocks up to the end of its last complete transaction, for the journal that keeps them: the
     * shadow's where it has them (the device may lack those), the device's beyond.
     */
    private static Journal.Recovered recovered(BlockIo io, Geometry g, Journal.Contents c, MemorySegment front)
            throws IOException {
        long end = c.end();
        MemorySegment journal = Arena.ofAuto().allocate(end * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        long fromShadow = Math.min(end, front.byteSize() / Layout.BLOCK_SIZE);
        MemorySegment.copy(front, 0, journal, 0, fromShadow * Layout.BLOCK_SIZE);
        if (end > fromShadow) {
            io.read(
                    g.journalStart() + fromShadow,
                    journal.asSlice(fromShadow * Layout.BLOCK_SIZE),
                    BlockRequest.Priority.JOURNAL);
        }
        return new Journal.Recovered(c, journal, fromShadow);
    }

    /**
     * Checks the metadata mount depends on, as recovery would leave it: every bitmap block and the root inode.
     *
     * @return null if sound, else what is wrong
     */
    private static String precheck(BlockIo io, Geometry g, Map<Long, MemorySegment> journal) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            for (long k = 0; k < g.inodeBitmapBlocks() + g.blockBitmapBlocks(); k++) {
                long block = g.inodeBitmapStart() + k;
                readThrough(io, journal, block, b);
                String p = BitmapDescriptor.validate(b);
                if (p != null) {
                    return (k < g.inodeBitmapBlocks() ? "inode" : "block") + " bitmap block " + block + ": " + p;
                }
            }
            readThrough(io, journal, g.inodeBlock(Geometry.ROOT_INO), b);
            int base = g.inodeOffset(Geometry.ROOT_INO);
            if (!InodeDescriptor.valid(b, base)) {
                return "root inode checksum mismatch (inode table block " + g.inodeBlock(Geometry.ROOT_INO) + ")";
            }
            if (!FileMode.isDirectory(b.get(Layout.INT, base + InodeDescriptor.MODE_OFFSET))) {
                return "root inode is not a directory";
            }
            return null;
        }
    }

    private static void readThrough(BlockIo io, Map<Long, MemorySegment> journal, long block, MemorySegment into)
            throws IOException {
        MemorySegment img = journal.get(block);
        if (img != null) {
            MemorySegment.copy(img, 0, into, 0, Layout.BLOCK_SIZE);
        } else {
            io.read(block, into, BlockRequest.Priority.METADATA);
        }
    }
}
