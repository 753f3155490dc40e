package org.fsp.fs.core.journal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;
import java.util.zip.CRC32;
import org.fsp.api.block.BlockRequest;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.layout.Checksums;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.JournalDescriptor;
import org.fsp.fs.core.layout.Layout;

/**
 * The metadata redo journal (format in {@link JournalDescriptor}): operations change metadata in cached buffers
 * inside the running {@link Transaction}; a commit writes images of those buffers to the journal and then a commit
 * block; a checkpoint later writes the images to their home blocks and empties the journal.
 *
 * <p>Guarantees: a transaction is durable exactly when {@link #commitUpTo} returns for its sequence; after a crash,
 * {@link #recover} replays every committed transaction and none that is torn; data blocks newly allocated in a
 * transaction reach the device before its commit block (ordered data).
 *
 * <p>Concurrency: operations hold the gate's read side from {@link #begin} to {@link Handle#close}, so many run at
 * once; a commit takes the write side only long enough to copy the buffers (no device I/O under it), then writes
 * while new operations fill the next transaction. Commits and checkpoints are serialised by one lock: callers that
 * arrive while a commit is in flight wait, and the next commit carries all of them (group commit). Lock order:
 * gate before any inode or directory lock; never {@link #commitUpTo} while holding the gate or those locks.
 *
 * <p>A typical sequence is: {@code try (Handle h = journal.begin()) { ...change buffers, h.tx().dirty(b)... }};
 * then, for fsync, {@code journal.commitUpTo(h.tx().seq())}.
 */
public final class Journal {

    /** An operation's membership in the running transaction; closing it lets commits proceed. */
    public final class Handle implements AutoCloseable {
        private final Transaction tx;

        Handle(Transaction tx) {
            this.tx = tx;
        }

        public Transaction tx() {
            return tx;
        }

        @Override
        public void close() {
            gate.readLock().unlock();
        }
    }

    /** One committed image of a home block, kept until a checkpoint writes it home. */
    private record Image(long seq, MemorySegment data) {}

    private final BlockIo io;
    private final BufferCache cache;
    private final long start;
    private final long length;
    private final LongConsumer superblockSeqWriter;
    private final LongConsumer onCheckpoint;
    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private final Object commitLock = new Object();
    private final Map<Long, Image> images = new ConcurrentHashMap<>();

    private volatile Transaction running;
    private volatile long committedSeq;
    /** Next free journal block, relative to the journal's start; guarded by commitLock. */
    private volatile long head;

    private volatile long commits;
    private volatile long checkpoints;

    /**
     * @param firstSeq sequence number of the next transaction (the superblock's journalSeq after recovery)
     * @param superblockSeqWriter writes and flushes the superblock with a new journalSeq (the journal is then empty)
     * @param onCheckpoint told the newest sequence whose images are home: frees up to it may be reused
     */
    public Journal(
            BlockIo io,
            BufferCache cache,
            Geometry g,
            long firstSeq,
            LongConsumer superblockSeqWriter,
            LongConsumer onCheckpoint) {
        this.io = io;
        this.cache = cache;
        this.start = g.journalStart();
        this.length = g.journalBlocks();
        this.superblockSeqWriter = superblockSeqWriter;
        this.onCheckpoint = onCheckpoint;
        this.running = new Transaction(firstSeq);
        this.committedSeq = firstSeq - 1;
        cache.setOverlay(block -> {
            Image img = images.get(block);
            return img == null ? null : img.data();
        });
    }

    /**
     * Joins the running transaction. Commits first if the running transaction has grown past a quarter of the
     * journal, so one transaction always fits. Must not be called while holding inode or directory locks.
     */
    public Handle begin() throws IOException {
        if (running.size() > length / 4) {
            commitUpTo(running.seq());
        }
        gate.readLock().lock();
        return new Handle(running);
    }

    /** The running transaction's sequence number. */
    public long runningSeq() {
        return running.seq();
    }

    /** The newest durable transaction. */
    public long committedSeq() {
        return committedSeq;
    }

    /** Journal blocks in use since the last checkpoint. */
    public long head() {
        return head;
    }

    public long length() {
        return length;
    }

    public long commits() {
        return commits;
    }

    public long checkpoints() {
        return checkpoints;
    }

    /**
     * Returns once transaction {@code seq} and all before it are durable. Callers arriving while another commit is
     * in flight wait for it and are then usually covered by it or by the next one (group commit).
     */
    public void commitUpTo(long seq) throws IOException {
        if (committedSeq >= seq) {
            return;
        }
        synchronized (commitLock) {
            while (committedSeq < seq) {
                if (!commit()) {
                    return;
                }
            }
        }
    }

    /**
     * fsync's path: makes {@code dataBlocks} (dirty data of one file) part of the running transaction's ordered data
     * and returns once that transaction, and {@code seq}, are durable. The data then travels in the commit's first
     * batch instead of a round trip of its own.
     */
    public void commitWithData(Collection<Long> dataBlocks, long seq) throws IOException {
        long target;
        gate.readLock().lock();
        try {
            Transaction tx = running;
            tx.orderedData.addAll(dataBlocks);
            target = Math.max(seq, tx.seq());
        } finally {
            gate.readLock().unlock();
        }
        synchronized (commitLock) {
            while (committedSeq < target) {
                if (!commit()) {
                    return;
                }
            }
        }
    }

    /**
     * Moves a dirty data block of a small fsync into the transaction, so that it is journaled like metadata and the
     * commit needs one flush instead of two (data no longer has to be on the medium before the commit block). The
     * caller holds the file's lock; while the block has an image waiting for a checkpoint, later writes to it must
     * go through the journal too ({@link #mustJournal}), never in place.
     */
    public void journalData(Transaction tx, long block) {
        Buffer b = cache.takeDirty(block);
        if (b == null) {
            return;
        }
        try {
            tx.dirty(b);
            tx.orderedData.remove(block);
        } finally {
            cache.release(b);
        }
    }

    /** True if a change to data buffer {@code b} must join the transaction instead of being written in place. */
    public boolean mustJournal(Buffer b) {
        return b.txSeq() != 0 || images.containsKey(b.block());
    }

    /**
     * True if nothing was committed since the last checkpoint and the running transaction is empty: the home blocks
     * and the superblock's sequence are then the whole state, and a checkpoint would only repeat its flushes. Exact
     * only while no operation runs.
     */
    public boolean isEmpty() {
        Transaction tx = running;
        return images.isEmpty() && tx.size() == 0 && tx.orderedData.isEmpty();
    }

    /** Commits whatever is running and writes every committed image home, leaving the journal empty. */
    public void checkpointNow() throws IOException {
        synchronized (commitLock) {
            commit();
            checkpoint();
        }
    }

    /**
     * Commits the running transaction. Caller holds commitLock.
     *
     * @return false if there was nothing to commit
     */
    private boolean commit() throws IOException {
        Transaction tx;
        List<Long> dataOnly = null;
        List<Long> homes = new ArrayList<>();
        List<MemorySegment> copies = new ArrayList<>();
        // Every block this commit writes, in journal order, sliced from one allocation: its own automatic arena, so
        // the memory goes back when the last image of the commit has been checkpointed and dropped. (One arena for
        // the journal's lifetime kept every block of every commit allocated, about 10 KiB per block.)
        MemorySegment slab = null;
        // Step 1: freeze. With the gate's write side held no operation is between begin() and close(), so every
        // buffer of the transaction is in a consistent state; copy them and open the next transaction.
        while (true) {
            gate.writeLock().lock();
            try {
                tx = running;
                int n = tx.size();
                if (n == 0) {
                    dataOnly = List.copyOf(tx.orderedData);
                    tx.orderedData.clear();
                    break;
                }
                if (head + JournalDescriptor.blocksFor(n) <= length) {
                    slab = Arena.ofAuto()
                            .allocate(JournalDescriptor.blocksFor(n) * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
                    long at = JournalDescriptor.descriptorsFor(n) * (long) Layout.BLOCK_SIZE;
                    for (Buffer b : tx.buffers) {
                        MemorySegment copy = slab.asSlice(at, Layout.BLOCK_SIZE);
                        at += Layout.BLOCK_SIZE;
                        MemorySegment.copy(b.data(), 0, copy, 0, Layout.BLOCK_SIZE);
                        // The home block is taken now: once the buffer leaves the transaction it may be evicted
                        // and reused for another block.
                        long home = b.block();
                        homes.add(home);
                        copies.add(copy);
                        // The image is the newest committed-to-be state: reads after eviction must see it.
                        images.put(home, new Image(tx.seq(), copy));
                        b.leaveTx();
                    }
                    running = new Transaction(tx.seq() + 1);
                    break;
                }
                if (head == 0) {
                    throw new IOException("transaction of " + n + " blocks does not fit the journal of " + length);
                }
            } finally {
                gate.writeLock().unlock();
            }
            checkpoint();
        }
        if (dataOnly != null) {
            // Nothing to journal: only data that an fsync asked for, written and flushed.
            if (!dataOnly.isEmpty()) {
                cache.writeBack(dataOnly);
                io.flush();
            }
            return false;
        }
        int n = copies.size();
        int descriptors = JournalDescriptor.descriptorsFor(n);
        long seq = tx.seq();
        // Step 2: ordered data. Blocks newly allocated in this transaction go out with the journal blocks; the flush
        // below puts them on the medium before the commit block can be.
        cache.writeBack(tx.orderedData);
        boolean hasData = !tx.orderedData.isEmpty();
        // Step 3: descriptors and images, checksummed as they are laid down. The commit checksum is CRC32, not the
        // CRC32C metadata blocks seal themselves with: a running CRC over blocks that end in their own CRC of the same
        // polynomial returns to a constant after each of them, and so would not notice a missing or stale block.
        CRC32 crc = new CRC32();
        for (int d = 0; d < descriptors; d++) {
            MemorySegment desc = slab.asSlice((long) d * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            int from = d * JournalDescriptor.HOMES_PER_DESCRIPTOR;
            int count = Math.min(JournalDescriptor.HOMES_PER_DESCRIPTOR, n - from);
            JournalDescriptor.header(desc, JournalDescriptor.TYPE_DESCRIPTOR, seq, count, d + 1 < descriptors ? 1 : 0);
            for (int i = 0; i < count; i++) {
                desc.set(Layout.LONG, JournalDescriptor.HOMES_OFFSET + 8L * i, homes.get(from + i));
            }
            Checksums.sealTail(desc);
            crc.update(desc.asByteBuffer());
        }
        for (MemorySegment copy : copies) {
            crc.update(copy.asByteBuffer());
        }
        long body = descriptors + n;
        MemorySegment commitBlock = slab.asSlice(body * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        JournalDescriptor.header(commitBlock, JournalDescriptor.TYPE_COMMIT, seq, n, (int) crc.getValue());
        Checksums.sealTail(commitBlock);
        // The transaction's blocks lie next to each other in the slab and in the journal, so each step below is one
        // device write, not one per block for the scheduler to merge again through a bounce buffer.
        if (hasData) {
            // Step 4a: data and journal body on the medium first, then the commit block.
            io.await(io.write(start + head, slab.asSlice(0, body * Layout.BLOCK_SIZE), BlockRequest.Priority.JOURNAL));
            io.flush();
            io.await(io.write(start + head + body, commitBlock, BlockRequest.Priority.JOURNAL));
        } else {
            // Step 4b: metadata only: the commit block's CRC covers the body, so one flush orders nothing else.
            io.await(io.write(start + head, slab, BlockRequest.Priority.JOURNAL));
        }
        long pos = head + body + 1;
        HaltPoints.reach("commit-before-flush");
        io.flush();
        HaltPoints.reach("commit-after-flush");
        // DURABILITY POINT: the flush after the commit block has completed; transaction seq survives any crash.
        head = pos;
        committedSeq = seq;
        commits++;
        if (head > length / 2) {
            checkpoint();
        }
        return true;
    }

    /** Writes every committed image home, then records in the superblock that the journal is empty. */
    private void checkpoint() throws IOException {
        long upTo = committedSeq;
        List<Map.Entry<Long, Image>> entries = new ArrayList<>(images.entrySet());
        List<BlockRequest> requests = new ArrayList<>();
        for (Map.Entry<Long, Image> e : entries) {
            requests.add(io.write(e.getKey(), e.getValue().data(), BlockRequest.Priority.METADATA));
        }
        io.awaitAll(requests);
        HaltPoints.reach("checkpoint");
        io.flush();
        // Home blocks are durable; now the journal may be declared empty. The next transaction (running.seq) will be
        // written at the journal's first block.
        superblockSeqWriter.accept(running.seq());
        head = 0;
        for (Map.Entry<Long, Image> e : entries) {
            images.remove(e.getKey(), e.getValue());
        }
        checkpoints++;
        onCheckpoint.accept(upTo);
    }

    /** Result of {@link #recover}: the next sequence number and how many transactions were replayed. */
    public record Recovery(long nextSeq, int replayed, long blocksReplayed) {}

    /**
     * What the journal holds: the newest committed image of each home block, in order of first appearance, and the
     * sequence number after the last complete transaction.
     */
    public record Contents(Map<Long, MemorySegment> images, long nextSeq, int transactions) {}

    /**
     * Replays committed transactions from the journal to their home blocks and flushes. Reads the journal from its
     * first block expecting {@code journalSeq}; stops at the first transaction that is incomplete or torn.
     */
    public static Recovery recover(BlockIo io, Geometry g, long journalSeq) throws IOException {
        return replay(io, read(io, g, journalSeq));
    }

    /** Writes what {@link #read} found to the home blocks and flushes. */
    public static Recovery replay(BlockIo io, Contents c) throws IOException {
        List<BlockRequest> writes = new ArrayList<>();
        for (Map.Entry<Long, MemorySegment> e : c.images().entrySet()) {
            writes.add(io.write(e.getKey(), e.getValue(), BlockRequest.Priority.METADATA));
        }
        io.awaitAll(writes);
        if (!writes.isEmpty()) {
            io.flush();
        }
        return new Recovery(c.nextSeq(), c.transactions(), c.images().size());
    }

    /**
     * Reads the committed transactions without writing anything (fsck uses this to see the image as recovery
     * would leave it).
     */
    public static Contents read(BlockIo io, Geometry g, long journalSeq) throws IOException {
        Arena arena = Arena.ofAuto();
        long start = g.journalStart();
        long length = g.journalBlocks();
        long pos = 0;
        long seq = journalSeq;
        int replayed = 0;
        Map<Long, MemorySegment> out = new java.util.LinkedHashMap<>();
        MemorySegment block = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
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
                io.read(start + p++, block, BlockRequest.Priority.JOURNAL);
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
                io.read(start + p++, img, BlockRequest.Priority.JOURNAL);
                crc.update(img.asByteBuffer());
                data.add(img);
            }
            io.read(start + p++, block, BlockRequest.Priority.JOURNAL);
            if (!JournalDescriptor.is(block, JournalDescriptor.TYPE_COMMIT, seq)
                    || block.get(Layout.INT, JournalDescriptor.COUNT_OFFSET) != homes.size()
                    || block.get(Layout.INT, JournalDescriptor.AUX_OFFSET) != (int) crc.getValue()) {
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
        return new Contents(out, seq, replayed);
    }
}
