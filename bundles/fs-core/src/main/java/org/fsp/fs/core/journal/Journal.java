package org.fsp.fs.core.journal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;
import java.util.zip.CRC32;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.sched.ManagedBlocking;
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
 * <p>Guarantees: a transaction survives any crash (a power loss too) once {@link #commitUpTo} returns for its
 * sequence, and a crash of this process once {@link #writeUpTo} returns: its blocks and commit block are then written,
 * though not yet flushed from the device's volatile cache, and the device outlives the process. After a crash,
 * {@link #recover} replays every committed transaction and none that is torn (the commit block's CRC covers the body,
 * so a power loss that keeps the commit block of an unflushed transaction but not its body shows as torn, and replay
 * stops there: what survives is always a prefix). Data blocks newly allocated in a transaction reach the medium before
 * its commit block (ordered data), flushed or not. An image is written home only once its transaction is flushed
 * (write-ahead), and a checkpoint first flushes what is only written; blocks freed by a transaction are reused only
 * after its checkpoint ({@code onCheckpoint}), so an unflushed free never exposes a block's new contents.
 *
 * <p>Concurrency: operations hold the gate's read side from {@link #begin} to {@link Handle#close}, so many run at
 * once; a commit takes the write side only long enough to copy the buffers (no device I/O under it), then writes
 * while new operations fill the next transaction. Commits and checkpoints are serialised by one lock.
 *
 * <p>Background threads ({@link #startBackground}): commits run in rounds. A caller that finds no round in flight
 * runs one itself (nobody to group with); everyone who asks while a round is in flight parks, announced as a blocking
 * wait at once ({@link ManagedBlocking}) so a polling worker lends its other lanes, and the commit thread's next round
 * carries all of them (group commit across clients, one write and one flush for all). A checkpoint thread writes committed images home
 * once the journal is half full, without the commit lock, so commits go on meanwhile; only its last step (images
 * committed during it, the superblock's new sequence) holds commits back. Without the threads (tools, before
 * {@link #startBackground}, after {@link #stopBackground}) callers commit and checkpoint themselves.
 *
 * <p>Lock order: gate before any inode or directory lock; commit lock before the checkpoint lock; never
 * {@link #commitUpTo} while holding the gate or those locks.
 *
 * <p>A typical sequence is: {@code try (Handle h = journal.begin()) { ...change buffers, h.tx().dirty(b)... }};
 * then, for fsync, {@code journal.commitUpTo(h.tx().seq())}.
 *
 * <p>Its length (about 1,050 lines): the transaction gate, the commit rounds and the checkpoint share one set of
 * sequence numbers, locks and the journal's ring of blocks, and their interplay (a checkpoint's last step under the
 * commit lock, rounds parked across a checkpoint, the shadow's epochs) is easier to check in one place. Reading
 * the journal at mount is {@link JournalReader}'s, the shadow {@link JournalShadow}'s.
 */
public final class Journal {

    private static final VarHandle COMMITTED_SEQ;

    static {
        try {
            COMMITTED_SEQ = MethodHandles.lookup().findVarHandle(Journal.class, "committedSeq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

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
    /**
     * Held while images are written home: by the checkpoint thread's first phase alone (without commitLock), and by
     * every checkpoint under commitLock, so that an older image written home in the background never lands after a
     * newer one a full checkpoint wrote.
     */
    private final ReentrantLock checkpointLock = new ReentrantLock();

    private final Map<Long, Image> images = new ConcurrentHashMap<>();
    /**
     * Blocks with an image that a committed transaction freed, and that transaction's sequence: once it is flushed
     * the image is dead (a data block of a deleted file, a removed directory's block), and a checkpoint drops it
     * instead of writing it home, as jbd2's revoke records let replay skip such blocks. Filled at commit, emptied by
     * the checkpoint that empties the journal.
     */
    private final Map<Long, Long> freedAt = new ConcurrentHashMap<>();

    /** The copy of the journal that outlives this process, or null. Written under commitLock. */
    private final JournalShadow shadow;
    /**
     * Journal writes of transactions already counted as written (the shadow holds them) whose device writes may not
     * have completed: a flush covers them only once they have.
     */
    private final Queue<BlockRequest> journalWritesInFlight = new ConcurrentLinkedQueue<>();

    /** Journal blocks at a device block, held back until their transaction's ordered data is on the medium. */
    private record Deferred(long block, MemorySegment blocks) {}

    /** Transactions with ordered data that only the shadow has yet, in commit order. */
    private final Queue<Deferred> journalDeferred = new ConcurrentLinkedQueue<>();
    /** Passes of the background checkpoint's first phase, each writing home what commits added during the last. */
    private static final int CATCH_UP_PASSES = 3;
    /** Recovered journal blocks are written to the device in pieces of this many blocks, a large device request. */
    private static final int RESTORE_CHUNK_BLOCKS = 256;

    /** Serialises {@link #flushThrough}. */
    private final Object flushLock = new Object();

    /** The commit thread, or null while callers commit themselves. */
    private volatile Thread committer;
    /** The checkpoint thread, or null while checkpoints run inside commits. */
    private volatile Thread checkpointer;

    private volatile boolean backgroundStop;
    /** See {@link #deadImagesDropped()}. */
    private final AtomicLong deadImagesDropped = new AtomicLong();
    /**
     * What the checkpoint thread's first phase has written home (or found dead) so far, and the checkpoint generation
     * it works on; guarded by checkpointLock. A commit that finds the journal full before that checkpoint's last step
     * checkpoints itself, and skips these instead of writing every image again.
     */
    private Map<Long, Image> homeInBackground = Map.of();

    private long homeInBackgroundGeneration = -1;
    /** See {@link #dataBlocksJournaled()}; written under the gate's write side. */
    private volatile long dataBlocksJournaled;
    /**
     * Commit rounds: a round that begins (freezes the running transaction) after a caller's operations ended makes
     * them durable. {@code roundsBegun} counts rounds that have begun, {@code roundsWanted} the highest round a
     * caller waits for, {@code roundsDone} rounds whose writes have completed.
     */
    private final AtomicLong roundsWanted = new AtomicLong();
    /**
     * Rounds whose callers also want the flush ({@link #commitUpTo}); a round flushes when this is past
     * {@code lastFlushedRound}, so a caller that asks just after a round began rides on the next one.
     */
    private final AtomicLong flushRoundsWanted = new AtomicLong();

    private volatile long lastFlushedRound;

    private volatile long roundsBegun;
    /** Set while a caller runs a round itself (nothing was in flight); others then wait for the commit thread. */
    private final AtomicBoolean leading = new AtomicBoolean();

    private volatile long roundsDone;
    /** Threads parked in {@link #awaitRound}; the commit thread unparks them after each round. */
    private final Queue<Thread> waiting = new ConcurrentLinkedQueue<>();
    /** Set when a background commit or checkpoint failed: every later commit fails with it. */
    private volatile IOException backgroundFailure;

    private volatile boolean checkpointWanted;
    /** Counts checkpoints that emptied the journal; the background one checks that none came between its phases. */
    private volatile long checkpointGeneration;

    private volatile Transaction running;
    /** The newest transaction that survives any crash: written and flushed. Only raised, by {@link #markFlushed}. */
    private volatile long committedSeq;
    /** The newest transaction whose blocks are written (it survives a crash of this process); >= committedSeq. */
    private volatile long writtenSeq;
    /**
     * Guarded by commitLock: memory mirroring the journal area, from which each commit slices the blocks it writes
     * (descriptors, images, commit block) at its journal position. The images then stay in it as the committed state
     * of their home blocks until the checkpoint; after one, commits reuse it from the start, so a commit takes no
     * fresh memory (page faults and zeroing per block). It grows to the highest journal position used; a replaced mirror lives on as long as images slice it.
     */
    private MemorySegment mirror = MemorySegment.NULL;

    /** Next free journal block, relative to the journal's start; guarded by commitLock. */
    private volatile long head;

    private volatile long commits;
    private volatile long checkpoints;
    private volatile long backgroundCheckpoints;
    private final AtomicLong groupedWaits = new AtomicLong();

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
        this(io, cache, g, firstSeq, superblockSeqWriter, onCheckpoint, null);
    }

    /**
     * @param shadow where commits are laid down as well, so that {@link #writeUpTo} is a memory copy and the device
     *     write completes in the background; null to wait for the device write instead
     */
    public Journal(
            BlockIo io,
            BufferCache cache,
            Geometry g,
            long firstSeq,
            LongConsumer superblockSeqWriter,
            LongConsumer onCheckpoint,
            JournalShadow shadow) {
        this(io, cache, g, firstSeq, superblockSeqWriter, onCheckpoint, shadow, null);
    }

    private Journal(
            BlockIo io,
            BufferCache cache,
            Geometry g,
            long firstSeq,
            LongConsumer superblockSeqWriter,
            LongConsumer onCheckpoint,
            JournalShadow shadow,
            Recovered recovered) {
        this.shadow = shadow;
        this.io = io;
        this.cache = cache;
        this.start = g.journalStart();
        this.length = g.journalBlocks();
        this.superblockSeqWriter = superblockSeqWriter;
        this.onCheckpoint = onCheckpoint;
        this.running = new Transaction(firstSeq);
        this.writtenSeq = firstSeq - 1;
        if (recovered == null) {
            if (shadow != null) {
                shadow.reset(firstSeq);
            }
            this.committedSeq = firstSeq - 1;
        } else {
            Contents c = recovered.contents();
            // Nothing recovered is known to be flushed until flushRecovered: the device's copy of the journal may
            // still be in its volatile cache, or only in the shadow.
            this.committedSeq = c.baseSeq() - 1;
            this.head = c.end();
            for (Map.Entry<Long, MemorySegment> e : c.images().entrySet()) {
                images.put(e.getKey(), new Image(firstSeq - 1, e.getValue()));
            }
            if (shadow != null) {
                shadow.adopt(c.baseSeq(), recovered.journal());
            }
            long restore = recovered.notOnDevice();
            for (long at = 0; at < restore; at += RESTORE_CHUNK_BLOCKS) {
                long n = Math.min(RESTORE_CHUNK_BLOCKS, restore - at);
                journalWritesInFlight.add(io.write(
                        start + at,
                        recovered.journal().asSlice(at * Layout.BLOCK_SIZE, n * Layout.BLOCK_SIZE),
                        BlockRequest.Priority.JOURNAL));
            }
        }
        cache.setOverlay(this::copyImage);
    }

    /**
     * What a mount after a crash recovered, for a journal that keeps it ({@link #resume}).
     *
     * @param contents the committed transactions read
     * @param journal the journal's blocks from position 0 to {@code contents.end()}
     * @param notOnDevice how many of them, from position 0, must be written to the device's journal area (those the
     *     shadow had, perhaps newer than the device's)
     */
    public record Recovered(Contents contents, MemorySegment journal, long notOnDevice) {}

    /**
     * A journal that keeps what a mount after a crash recovered: the committed transactions stay in the journal as
     * if this process had committed them (their images overlay the cache and go home at the next checkpoint) instead
     * of being written home and flushed before the mount serves. The blocks the device may lack are written to its
     * journal area at once; {@link #flushRecovered} makes them durable. The superblock keeps
     * {@code recovered.contents().baseSeq()} until that checkpoint.
     */
    public static Journal resume(
            BlockIo io,
            BufferCache cache,
            Geometry g,
            Recovered recovered,
            LongConsumer superblockSeqWriter,
            LongConsumer onCheckpoint,
            JournalShadow shadow) {
        return new Journal(
                io, cache, g, recovered.contents().nextSeq(), superblockSeqWriter, onCheckpoint, shadow, recovered);
    }

    /**
     * After {@link #resume}: makes the recovered transactions survive any crash (their journal writes complete and
     * one flush covers them), before the mount serves. Until then the blocks their frees released must not be
     * reused, and a power loss could leave a prefix of them.
     */
    public void flushRecovered() throws IOException {
        flushWritten();
    }

    /**
     * Joins the running transaction. Commits first if the running transaction has grown past a quarter of the
     * journal, so one transaction always fits. Must not be called while holding inode or directory locks.
     */
    public Handle begin() throws IOException {
        if (running.size() > length / 4) {
            writeUpTo(running.seq());
        }
        gate.readLock().lock();
        return new Handle(running);
    }

    /** The running transaction's sequence number. */
    public long runningSeq() {
        return running.seq();
    }

    /** The newest transaction that survives any crash. */
    public long committedSeq() {
        return committedSeq;
    }

    /** The newest transaction that survives a crash of this process (written, perhaps not flushed yet). */
    public long writtenSeq() {
        return writtenSeq;
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

    /** Checkpoints whose home writes ran on the checkpoint thread while commits went on. */
    public long backgroundCheckpoints() {
        return backgroundCheckpoints;
    }

    /** Ordered data blocks that commits into the shadow journaled instead of writing them first. */
    public long dataBlocksJournaled() {
        return dataBlocksJournaled;
    }

    /** Committed images a checkpoint did not write home because a durable transaction had freed their block. */
    public long deadImagesDropped() {
        return deadImagesDropped.get();
    }

    /** Commit waits that found a round in flight and rode on the commit thread's next one with the others. */
    public long groupedWaits() {
        return groupedWaits.get();
    }

    /**
     * Returns once transaction {@code seq} and all before it are durable. Callers arriving while another commit is
     * in flight wait for it and are then usually covered by it or by the next one (group commit).
     */
    public void commitUpTo(long seq) throws IOException {
        reach(seq, true);
    }

    /**
     * Returns once transaction {@code seq} and all before it are written to the journal, commit block included, but
     * perhaps not flushed: they then survive a crash of this process (the device, or the kernel holding an image
     * file's pages, outlives it), and a power loss only once a later flush (fsync, the flusher's period, a
     * checkpoint) covers them. For answers that must outlive the process, not the machine: a recoverable client's
     * namespace change. Group commit as {@link #commitUpTo}.
     */
    public void writeUpTo(long seq) throws IOException {
        reach(seq, false);
    }

    /** {@link #commitUpTo} with {@code flush}, else {@link #writeUpTo}. */
    private void reach(long seq, boolean flush) throws IOException {
        if ((flush ? committedSeq : writtenSeq) >= seq) {
            return;
        }
        if (!awaitCommitThread(seq, flush)) {
            synchronized (commitLock) {
                while ((flush ? committedSeq : writtenSeq) < seq) {
                    if (!commit(flush)) {
                        return;
                    }
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
        if (!awaitCommitThread(target, true)) {
            synchronized (commitLock) {
                while (committedSeq < target) {
                    if (!commit(true)) {
                        return;
                    }
                }
            }
        }
    }

    /**
     * Makes everything done so far durable through a commit round and waits for it; false if there is no commit
     * thread (the caller then commits the old way). With no round in flight and nobody waiting the caller runs the
     * round itself, as there is nobody to group with and the commit thread would cost two thread hand-offs; whoever
     * arrives while a round is in flight parks and rides on the commit thread's next round with everyone else who
     * arrives meanwhile. Either wait is announced as blocking before it starts: it lasts at least a device write and
     * flush, so a polling worker lends its other lanes to a stand-in at once instead of after the scheduler's 200 us
     * threshold (or not at all, behind the commit lock's monitor), and those lanes' requests go on meanwhile.
     * {@code flush}: the caller needs the flush as well as the writes.
     */
    private boolean awaitCommitThread(long seq, boolean flush) throws IOException {
        Thread c = committer;
        if (c == null || Thread.currentThread() == c || Thread.currentThread() == checkpointer) {
            return false;
        }
        IOException failed = backgroundFailure;
        if (failed != null) {
            throw new IOException("journal commit failed: " + failed.getMessage(), failed);
        }
        if (roundsBegun == roundsDone && waiting.isEmpty() && leading.compareAndSet(false, true)) {
            // A round that only copies into the shadow is too short to announce; device waits inside it are
            // announced by the block scheduler.
            boolean blocking = flush || shadow == null;
            if (blocking) {
                ManagedBlocking.begin();
            }
            try {
                commitRound(flush);
            } finally {
                leading.set(false);
                if (blocking) {
                    ManagedBlocking.end();
                }
            }
            return true;
        }
        // Read after this caller's operations ended: a round that begins later covers them.
        long round = roundsBegun + 1;
        roundsWanted.accumulateAndGet(round, Math::max);
        if (flush) {
            flushRoundsWanted.accumulateAndGet(round, Math::max);
        }
        groupedWaits.incrementAndGet();
        Thread me = Thread.currentThread();
        boolean interrupted = false;
        ManagedBlocking.begin();
        waiting.add(me);
        LockSupport.unpark(c);
        try {
            while (!(flush ? committedSeq >= seq : writtenSeq >= seq)
                    && !(roundsDone >= round && (!flush || lastFlushedRound >= round))) {
                IOException failure = backgroundFailure;
                if (failure != null) {
                    throw new IOException("journal commit failed: " + failure.getMessage(), failure);
                }
                if (committer == null) {
                    // Stopped under us (unmount, hand-off): the stopping thread commits what is left.
                    return false;
                }
                LockSupport.park(this);
                // An interrupt is kept for the caller, not an error: the commit completes anyway.
                interrupted |= Thread.interrupted();
            }
            return true;
        } finally {
            waiting.remove(me);
            ManagedBlocking.end();
            if (interrupted) {
                me.interrupt();
            }
        }
    }

    /**
     * One commit round: commits what runs, flushing if {@code flush} or a waiter asked for it, then wakes the waiters.
     * Rounds are serialised by the commit lock.
     */
    private void commitRound(boolean flush) throws IOException {
        synchronized (commitLock) {
            long round = roundsBegun + 1;
            // Before the freeze: callers that read roundsBegun from here on wait for the next round.
            roundsBegun = round;
            boolean flushing = flush || flushRoundsWanted.get() > lastFlushedRound;
            commit(flushing);
            if (flushing) {
                lastFlushedRound = round;
            }
            roundsDone = round;
        }
        waiting.forEach(LockSupport::unpark);
    }

    /**
     * Starts the commit and checkpoint threads (named after {@code name}). Until then, and after
     * {@link #stopBackground}, callers commit and checkpoint themselves.
     */
    public synchronized void startBackground(String name) {
        if (committer != null) {
            return;
        }
        backgroundStop = false;
        checkpointer = Thread.ofPlatform().daemon().name(name + "-checkpoint").start(this::checkpointLoop);
        committer = Thread.ofPlatform().daemon().name(name + "-commit").start(this::commitLoop);
    }

    /**
     * Stops the background threads after the work they have begun, waking every waiter (who then commits itself).
     * They are stopped by a flag and an unpark, never by an interrupt, which would read as an I/O error.
     */
    public synchronized void stopBackground() {
        Thread c = committer;
        Thread k = checkpointer;
        if (c == null) {
            return;
        }
        backgroundStop = true;
        boolean interrupted = false;
        for (Thread t : new Thread[] {c, k}) {
            LockSupport.unpark(t);
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        committer = null;
        checkpointer = null;
        waiting.forEach(LockSupport::unpark);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void commitLoop() {
        while (!backgroundStop) {
            if (roundsWanted.get() <= roundsDone && flushRoundsWanted.get() <= lastFlushedRound) {
                LockSupport.park(this);
                continue;
            }
            try {
                commitRound(false);
            } catch (IOException | RuntimeException e) {
                backgroundFailure = e instanceof IOException io ? io : new IOException(e.toString(), e);
                waiting.forEach(LockSupport::unpark);
                return;
            }
        }
    }

    private void checkpointLoop() {
        while (!backgroundStop) {
            if (!checkpointWanted) {
                LockSupport.park(this);
                continue;
            }
            checkpointWanted = false;
            try {
                backgroundCheckpoint();
            } catch (IOException | RuntimeException e) {
                backgroundFailure = e instanceof IOException io ? io : new IOException(e.toString(), e);
                waiting.forEach(LockSupport::unpark);
                return;
            }
        }
    }

    /**
     * The checkpoint thread's checkpoint: first, without the commit lock, every image committed so far is written
     * home and flushed while commits go on; then, under the commit lock, only the images committed meanwhile are
     * written before the superblock records an empty journal. An image is written home only once its commit is
     * durable (write-ahead).
     */
    private void backgroundCheckpoint() throws IOException {
        Map<Long, Image> written = new HashMap<>();
        long generation;
        checkpointLock.lock();
        try {
            generation = checkpointGeneration;
            homeInBackground = written;
            homeInBackgroundGeneration = generation;
            // Catch-up passes: commits go on meanwhile, so each pass writes home what the ones before it missed, and
            // the last step under the commit lock (which holds every commit back) is left with little or nothing.
            for (int pass = 0; pass < CATCH_UP_PASSES; pass++) {
                flushWritten();
                long durable = committedSeq;
                List<BlockRequest> requests = new ArrayList<>();
                for (Map.Entry<Long, Image> e : images.entrySet()) {
                    Image img = e.getValue();
                    if (img.seq() <= durable && written.get(e.getKey()) != img) {
                        // A dead image counts as home: the last step must neither write it nor count it again.
                        written.put(e.getKey(), img);
                        if (deadBy(e.getKey(), durable)) {
                            deadImagesDropped.incrementAndGet();
                        } else {
                            requests.add(io.write(e.getKey(), img.data(), BlockRequest.Priority.METADATA));
                        }
                    }
                }
                if (requests.isEmpty()) {
                    break;
                }
                io.awaitAll(requests);
                io.flush();
            }
            if (written.isEmpty()) {
                return;
            }
        } finally {
            checkpointLock.unlock();
        }
        synchronized (commitLock) {
            if (checkpointGeneration != generation) {
                // Another checkpoint emptied the journal in between: what was written home is older than what it
                // wrote, and nothing is left to finish here.
                return;
            }
            checkpoint(written);
            backgroundCheckpoints++;
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

    /**
     * A commit that only has to outlive this process (into the shadow, no flush) journals the dirty blocks of its
     * ordered data with the metadata that points at them, instead of writing them home before the shadow gets the
     * transaction: the answer then waits for a memory copy, not for a device write. Replay (from the shadow after a
     * crash of this process, from the device after a power loss, where the commit block's CRC covers these blocks
     * too) writes them together with that metadata, so no crash leaves a file pointing at a block without its data;
     * they go home at the checkpoint. Blocks being written home right now stay ordered, and so do all of them when
     * the transaction would grow past a quarter of the journal (the bound {@link #begin} keeps). Caller holds the
     * gate's write side, so no operation is changing these buffers.
     */
    private void journalOrderedData(Transaction tx) {
        if (tx.size() + tx.orderedData.size() > length / 4) {
            return;
        }
        for (Long block : tx.orderedData) {
            Buffer b = cache.takeDirtyIdle(block);
            if (b != null) {
                try {
                    tx.dirty(b);
                    tx.orderedData.remove(block);
                    dataBlocksJournaled++;
                } finally {
                    cache.release(b);
                }
            }
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
            commit(true);
            checkpoint(Map.of());
        }
    }

    /** Caller holds commitLock: {@code blocks} blocks of the mirror from journal position {@code at}. */
    private MemorySegment mirrorSlice(long at, long blocks) {
        long end = (at + blocks) * Layout.BLOCK_SIZE;
        if (mirror.byteSize() < end) {
            long size = Math.min(length * Layout.BLOCK_SIZE, Math.max(end, 2 * mirror.byteSize()));
            mirror = Arena.ofAuto().allocate(size, Layout.BLOCK_SIZE);
        }
        return mirror.asSlice(at * Layout.BLOCK_SIZE, blocks * Layout.BLOCK_SIZE);
    }

    /**
     * The cache's overlay: copies the newest committed image of {@code block} into {@code dst}; false if the journal
     * holds none (the home block is then current). A seqlock on the checkpoint generation: an image's mirror blocks
     * are reused only by commits after a checkpoint, so a copy made while the generation stayed the same is whole;
     * otherwise the lookup runs again and, the image now being home, usually finds none.
     */
    private boolean copyImage(long block, MemorySegment dst) {
        while (true) {
            long generation = checkpointGeneration;
            Image img = images.get(block);
            if (img == null) {
                return false;
            }
            MemorySegment.copy(img.data(), 0, dst, 0, Layout.BLOCK_SIZE);
            // The copy's loads complete before the generation is read again (as StampedLock.validate).
            VarHandle.acquireFence();
            if (checkpointGeneration == generation) {
                return true;
            }
        }
    }

    /**
     * Commits the running transaction; with {@code flush} it and every transaction written before it are flushed
     * (they survive any crash), else they are written (they survive a crash of this process). Caller holds
     * commitLock.
     *
     * @return false if there was nothing to commit
     */
    private boolean commit(boolean flush) throws IOException {
        Transaction tx;
        List<Long> dataOnly = null;
        List<Long> homes = new ArrayList<>();
        List<MemorySegment> copies = new ArrayList<>();
        // Every block this commit writes, in journal order: its blocks of the mirror.
        MemorySegment slab = null;
        // Step 1: freeze. With the gate's write side held no operation is between begin() and close(), so every
        // buffer of the transaction is in a consistent state; copy them and open the next transaction.
        while (true) {
            gate.writeLock().lock();
            try {
                tx = running;
                if (!flush && shadow != null && !tx.orderedData.isEmpty()) {
                    journalOrderedData(tx);
                }
                int n = tx.size();
                if (n == 0) {
                    dataOnly = List.copyOf(tx.orderedData);
                    tx.orderedData.clear();
                    break;
                }
                if (head + JournalDescriptor.blocksFor(n) <= length) {
                    slab = mirrorSlice(head, JournalDescriptor.blocksFor(n));
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
                    noteFreed(tx);
                    running = new Transaction(tx.seq() + 1);
                    break;
                }
                if (head == 0) {
                    throw new IOException("transaction of " + n + " blocks does not fit the journal of " + length);
                }
            } finally {
                gate.writeLock().unlock();
            }
            checkpoint(Map.of());
        }
        if (dataOnly != null) {
            // Nothing to journal: only data that an fsync asked for, written and flushed, and transactions written
            // earlier without their flush.
            if (!dataOnly.isEmpty()) {
                long written = writtenSeq;
                cache.writeBack(dataOnly);
                flushThrough(written);
            } else if (flush) {
                flushWritten();
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
        if (hasData && !flush && shadow != null) {
            // Step 4c: ordered data, only to outlive this process. The data is written (above), so a transaction
            // restored from the shadow points at blocks that hold it; the device's journal gets the transaction only
            // at the next flush, after the data is on the medium (flushThrough), so a power loss can never keep a
            // commit block whose data it lost.
            shadow.append(head, slab);
            journalDeferred.add(new Deferred(start + head, slab));
        } else if (hasData) {
            // Step 4a: data and journal body on the medium first, then the commit block; the shadow gets the
            // transaction only once its data is on the medium, as the device's journal does.
            io.await(io.write(start + head, slab.asSlice(0, body * Layout.BLOCK_SIZE), BlockRequest.Priority.JOURNAL));
            io.flush();
            if (shadow != null) {
                shadow.append(head, slab);
            }
            io.await(io.write(start + head + body, commitBlock, BlockRequest.Priority.JOURNAL));
            flush = true;
        } else if (shadow != null) {
            // Step 4b with a shadow: the copy in memory that outlives this process is the write that counts for it;
            // the device's write goes on in the background and a flush waits for it.
            shadow.append(head, slab);
            journalWritesInFlight.add(io.write(start + head, slab, BlockRequest.Priority.JOURNAL));
        } else {
            // Step 4b: metadata only: the commit block's CRC covers the body, so one flush orders nothing else.
            io.await(io.write(start + head, slab, BlockRequest.Priority.JOURNAL));
        }
        long pos = head + body + 1;
        HaltPoints.reach("commit-before-flush");
        if (flush) {
            // The journal must reach the medium as a prefix: transactions written before this one, first.
            flushThrough(seq);
        }
        HaltPoints.reach("commit-after-flush");
        // DURABILITY POINTS: the commit block is written (or in the shadow), so transaction seq survives a crash of
        // this process; once flushThrough has returned, it survives any crash.
        head = pos;
        writtenSeq = seq;
        commits++;
        if (head > length / 2) {
            Thread k = checkpointer;
            if (k == null) {
                checkpoint(Map.of());
            } else if (!checkpointWanted) {
                // The checkpoint thread writes the images home while the next commits go on; a commit that finds
                // the journal full before it is done checkpoints itself above.
                checkpointWanted = true;
                LockSupport.unpark(k);
            }
        }
        return true;
    }

    /** Caller holds the gate's write side: remembers which blocks with an image {@code tx} frees. */
    private void noteFreed(Transaction tx) {
        for (long[] run : tx.freed) {
            long start = run[0];
            long end = run[0] + run[1];
            if (run[1] <= images.size()) {
                for (long b = start; b < end; b++) {
                    if (images.containsKey(b)) {
                        freedAt.put(b, tx.seq());
                    }
                }
            } else {
                for (Long b : images.keySet()) {
                    if (b >= start && b < end) {
                        freedAt.put(b, tx.seq());
                    }
                }
            }
        }
    }

    /** True if a transaction up to {@code durable} freed {@code block}: its image need not go home. */
    private boolean deadBy(long block, long durable) {
        Long seq = freedAt.get(block);
        return seq != null && seq <= durable;
    }

    /** Flushes transactions that are written but not flushed, if any. Safe without commitLock. */
    private void flushWritten() throws IOException {
        long written = writtenSeq;
        if (written > committedSeq) {
            flushThrough(written);
        }
    }

    /**
     * Makes every transaction up to {@code seq}, all of them written or in the shadow, survive any crash: their
     * device writes complete, the journal blocks deferred behind ordered data are written after a flush that puts that
     * data on the medium, and a flush covers it all. One caller at a time, so that none declares flushed a write
     * another is still waiting for. Safe without commitLock.
     */
    private void flushThrough(long seq) throws IOException {
        synchronized (flushLock) {
            for (BlockRequest r; (r = journalWritesInFlight.poll()) != null; ) {
                io.await(r);
            }
            if (!journalDeferred.isEmpty()) {
                io.flush();
                List<BlockRequest> writes = new ArrayList<>();
                for (Deferred d; (d = journalDeferred.poll()) != null; ) {
                    writes.add(io.write(d.block(), d.blocks(), BlockRequest.Priority.JOURNAL));
                }
                io.awaitAll(writes);
            }
            io.flush();
            markFlushed(seq);
        }
    }

    /** Raises committedSeq to {@code seq}; the commit thread and the checkpoint thread both raise it. */
    private void markFlushed(long seq) {
        long c;
        while ((c = committedSeq) < seq && !COMMITTED_SEQ.compareAndSet(this, c, seq)) {
            Thread.onSpinWait();
        }
    }

    /**
     * Writes every committed image home, then records in the superblock that the journal is empty. Caller holds
     * commitLock. Images in {@code alreadyHome} (the very image objects, written and flushed by the background
     * checkpoint's first phase) are not written again, nor, when it is empty, those that phase wrote in this
     * generation so far (a commit found the journal full before the checkpoint thread got to its last step), nor
     * images a durable transaction freed.
     */
    private void checkpoint(Map<Long, Image> alreadyHome) throws IOException {
        checkpointLock.lock();
        try {
            if (alreadyHome.isEmpty() && homeInBackgroundGeneration == checkpointGeneration) {
                // A commit that found the journal full: the checkpoint thread's first phase of this generation has
                // written (and flushed) these home already.
                alreadyHome = homeInBackground;
            }
            // Write-ahead: every image goes home below, so every transaction written so far must be flushed first.
            flushWritten();
            long upTo = committedSeq;
            List<Map.Entry<Long, Image>> entries = new ArrayList<>(images.entrySet());
            List<BlockRequest> requests = new ArrayList<>();
            long dead = 0;
            for (Map.Entry<Long, Image> e : entries) {
                if (alreadyHome.get(e.getKey()) == e.getValue()) {
                    continue;
                }
                if (deadBy(e.getKey(), upTo)) {
                    dead++;
                } else {
                    requests.add(io.write(e.getKey(), e.getValue().data(), BlockRequest.Priority.METADATA));
                }
            }
            io.awaitAll(requests);
            HaltPoints.reach("checkpoint");
            if (!requests.isEmpty() || alreadyHome.isEmpty()) {
                io.flush();
            }
            // Home blocks are durable; now the journal may be declared empty. The next transaction (running.seq)
            // will be written at the journal's first block.
            superblockSeqWriter.accept(running.seq());
            if (shadow != null) {
                shadow.reset(running.seq());
            }
            head = 0;
            for (Map.Entry<Long, Image> e : entries) {
                images.remove(e.getKey(), e.getValue());
            }
            freedAt.values().removeIf(seq -> seq <= upTo);
            deadImagesDropped.addAndGet(dead);
            homeInBackground = Map.of();
            checkpoints++;
            checkpointGeneration++;
            onCheckpoint.accept(upTo);
        } finally {
            checkpointLock.unlock();
        }
    }

    /** Result of {@link #recover}: the next sequence number and how many transactions were replayed. */
    public record Recovery(long nextSeq, int replayed, long blocksReplayed) {}

    /**
     * What the journal holds: the newest committed image of each home block, in order of first appearance, and the
     * sequence number after the last complete transaction; {@code baseSeq} is the sequence at journal position 0 and
     * {@code end} the journal position after the last complete transaction.
     */
    public record Contents(Map<Long, MemorySegment> images, long nextSeq, int transactions, long baseSeq, long end) {}

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
        return JournalReader.read(io, g, journalSeq, MemorySegment.NULL);
    }

    /**
     * As {@link #read}, with the journal's first blocks taken from {@code front} (the journal shadow's, newer than
     * the device's where the crashed process's device writes had not completed).
     */
    public static Contents read(BlockIo io, Geometry g, long journalSeq, MemorySegment front) throws IOException {
        return JournalReader.read(io, g, journalSeq, front);
    }
}
