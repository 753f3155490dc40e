package org.fsp.fs.core.journal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.fsp.api.block.BlockRequest;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.JournalDescriptor;
import org.fsp.fs.core.layout.Layout;

/**
 * Reads the committed transactions of the journal ({@link Journal#read}): from its first block, expecting the
 * superblock's sequence, up to the first transaction that is incomplete or torn.
 *
 * <p>The journal is read front to back in reads of {@value #CHUNK_BLOCKS} blocks: a mount after a crash reads every
 * transaction since the last checkpoint, and one synchronous read per block would make it wait for the device once per
 * block. A chunk is read only when the scan reaches it, so a journal emptied by a checkpoint costs one read.
 *
 * <p>A front in memory (the journal shadow's blocks of this epoch, which may be newer than the device's) is read in
 * place of the device's first blocks, so a mount after a crash reads from the device only what lies beyond it.
 */
final class JournalReader {

    /** Blocks per read (1 MiB). */
    static final int CHUNK_BLOCKS = 256;

    private final BlockIo io;
    private final Geometry g;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment chunk;
    /** Journal blocks from position 0 read from memory instead of the device. */
    private final MemorySegment front;
    /** Journal-relative block number of the chunk's first block; -1 before the first read. */
    private long chunkFirst = -1;

    private int chunkLength;

    private JournalReader(BlockIo io, Geometry g, MemorySegment front) {
        this.io = io;
        this.g = g;
        this.front = front;
        this.chunk = arena.allocate((long) CHUNK_BLOCKS * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
    }

    static Journal.Contents read(BlockIo io, Geometry g, long journalSeq, MemorySegment front) throws IOException {
        return new JournalReader(io, g, front).scan(journalSeq);
    }

    private Journal.Contents scan(long journalSeq) throws IOException {
        long length = g.journalBlocks();
        long pos = 0;
        long seq = journalSeq;
        int replayed = 0;
        Map<Long, MemorySegment> out = new LinkedHashMap<>();
        while (pos < length) {
            List<Long> homes = new ArrayList<>();
            CRC32 crc = new CRC32();
            long p = pos;
            boolean more = true;
            boolean ok = true;
            while (more) {
                if (p >= length) {
                    ok = false;
                    break;
                }
                MemorySegment block = block(p++);
                if (!JournalDescriptor.is(block, JournalDescriptor.TYPE_DESCRIPTOR, seq)) {
                    ok = false;
                    break;
                }
                int count = block.get(Layout.INT, JournalDescriptor.COUNT_OFFSET);
                if (count < 0 || count > JournalDescriptor.HOMES_PER_DESCRIPTOR) {
                    ok = false;
                    break;
                }
                for (int i = 0; i < count; i++) {
                    homes.add(block.get(Layout.LONG, JournalDescriptor.HOMES_OFFSET + 8L * i));
                }
                more = block.get(Layout.INT, JournalDescriptor.AUX_OFFSET) == 1;
                crc.update(block.asByteBuffer());
            }
            if (!ok || p + homes.size() + 1 > length) {
                break;
            }
            List<MemorySegment> data = new ArrayList<>();
            for (int i = 0; i < homes.size(); i++) {
                MemorySegment img = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
                img.copyFrom(block(p++));
                crc.update(img.asByteBuffer());
                data.add(img);
            }
            MemorySegment commit = block(p++);
            if (!JournalDescriptor.is(commit, JournalDescriptor.TYPE_COMMIT, seq)
                    || commit.get(Layout.INT, JournalDescriptor.COUNT_OFFSET) != homes.size()
                    || commit.get(Layout.INT, JournalDescriptor.AUX_OFFSET) != (int) crc.getValue()) {
                break;
            }
            for (long home : homes) {
                if (home <= 0
                        || home >= g.totalBlocks()
                        || (home >= g.journalStart() && home < g.journalStart() + g.journalBlocks())) {
                    throw new IOException("journal transaction " + seq + " names home block " + home
                            + " outside the metadata and data regions");
                }
            }
            for (int i = 0; i < homes.size(); i++) {
                out.put(homes.get(i), data.get(i));
            }
            replayed++;
            seq++;
            pos = p;
        }
        return new Journal.Contents(out, seq, replayed, journalSeq, pos);
    }

    /** Journal block {@code p} (relative to the journal's start), read with its chunk if not read yet. */
    private MemorySegment block(long p) throws IOException {
        if (p < front.byteSize() / Layout.BLOCK_SIZE) {
            return front.asSlice(p * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        }
        if (chunkFirst < 0 || p < chunkFirst || p >= chunkFirst + chunkLength) {
            chunkFirst = p;
            chunkLength = (int) Math.min(CHUNK_BLOCKS, g.journalBlocks() - p);
            io.read(
                    g.journalStart() + p,
                    chunk.asSlice(0, (long) chunkLength * Layout.BLOCK_SIZE),
                    BlockRequest.Priority.JOURNAL);
        }
        return chunk.asSlice((p - chunkFirst) * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
    }
}
