package org.fsp.fs.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.ChangeListener;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.fs.SessionRecords;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.api.sched.ManagedBlocking;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.cache.WriteBack;
import org.fsp.fs.core.dir.Directory;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.inode.InodeTable;
import org.fsp.fs.core.inode.NoSpaceException;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.journal.JournalShadow;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file system: {@link FileSystemService} over a {@link BlockScheduler}, built from one class per layer (xv6
 * style): {@link BufferCache} (blocks in memory), {@link Journal} (transactions, group commit, recovery),
 * {@link Allocator} (bitmaps), {@link InodeTable} (inodes and extents), {@link Directory} (entries and their
 * index), {@link PathResolver} (paths to inodes). This class is the facade: one call wrapper ({@link #call}) around
 * the operations, which live in {@link Namespace} (names), {@link FileData} (data), {@link Attributes} (stat, modes,
 * owners, times, xattrs), {@link OpenFiles} (open and close) and {@link ExactlyOnce} (session records); the mount
 * sequence is {@link Mounting}'s and files unlinked while open at a crash are {@link Orphans}'. What stays here is
 * the mount's state, the helpers those parts share (inode creation, allocation, sizes, change notices), hand-off and
 * unmount, and fsp:status.
 *
 * <p>A typical sequence is: {@code FsCore fs = FsCore.mount(scheduler, options)} (refuses a corrupt image with a
 * {@link CorruptMetadataException} that says what is wrong, replays the journal after a crash), many threads call the
 * operations, {@link #unmount()} writes everything home and marks the image clean.
 *
 * <p>For a live upgrade the sequence ends differently: {@link #quiesce} stops taking calls, waits for those in
 * progress, writes everything home and checkpoints the journal, and returns the open handles as a
 * {@link FileSystemHandoff} (the image stays marked in use: files unlinked while open still hold their inodes); the
 * next version calls {@link #mount(BlockScheduler, Options, LongSupplier, FileSystemHandoff)} with it and carries on
 * with the same handle numbers, without replaying the journal or scanning for orphans.
 *
 * <p>Every modifying operation runs inside one journal transaction ({@link #run}); locks are taken after joining it,
 * parents before children, and never across a commit. Reads and stat take no lock: attributes are volatile and
 * directory indexes are concurrent maps.
 *
 * <p>Its length (about 1,500 lines): about 350 are the {@link FileSystemService} and {@link SessionRecords}
 * operations, each a one-line delegation to the part that implements it, kept here so that the service has one class
 * to read; the rest is the state of a mount and what every part uses of it (transactions, inode creation and
 * destruction, allocation, sizes, change notices), hand-off, unmount and the flusher. Splitting that further would
 * hand the parts a second object with the same fields.
 */
public final class FsCore implements FileSystemService, SessionRecords {

    static final Logger LOG = LoggerFactory.getLogger(FsCore.class);

    /**
     * Mount options.
     *
     * @param cacheBytes buffer cache bound in bytes ({@link BufferCache#defaultCapacityBytes()} follows the machine)
     * @param readAheadBlocks blocks read ahead when reads are sequential (0 disables)
     * @param flushIntervalMillis background commit period; 0 disables the flusher and the write-back thread (writers
     *     over the dirty limit then write back themselves)
     * @param linkProtection Linux's protected_symlinks / protected_hardlinks / protected_regular rules
     * @param journalShadowDir where the journal's copy that outlives this process lives ({@link JournalShadow}),
     *     e.g. {@code /dev/shm}; null for none (commits that must survive this process then wait for the device)
     */
    public record Options(
            long cacheBytes,
            int readAheadBlocks,
            long flushIntervalMillis,
            LinkProtection linkProtection,
            Path journalShadowDir) {

        /** Options with the link protection distributions ship and no journal shadow. */
        public Options(long cacheBytes, int readAheadBlocks, long flushIntervalMillis) {
            this(cacheBytes, readAheadBlocks, flushIntervalMillis, LinkProtection.DISTRIBUTION_DEFAULTS, null);
        }

        public Options(long cacheBytes, int readAheadBlocks, long flushIntervalMillis, LinkProtection linkProtection) {
            this(cacheBytes, readAheadBlocks, flushIntervalMillis, linkProtection, null);
        }

        /**
         * A cache of a quarter of the machine's memory (allocated as it fills), 32 blocks read-ahead, a commit every
         * 5 seconds, link protection on.
         */
        public static Options defaults() {
            return new Options(BufferCache.defaultCapacityBytes(), 32, 5000);
        }

        public Options withLinkProtection(LinkProtection p) {
            return new Options(cacheBytes, readAheadBlocks, flushIntervalMillis, p, journalShadowDir);
        }

        public Options withJournalShadow(Path dir) {
            return new Options(cacheBytes, readAheadBlocks, flushIntervalMillis, linkProtection, dir);
        }
    }

    /** Largest link count of one inode, as ext4's. */
    static final int LINK_MAX = 65000;
    /** Largest file: logical block numbers are 32 bits on disk. */
    static final long MAX_FILE_SIZE = 0xFFFF_FFFFL * Layout.BLOCK_SIZE;
    /** Blocks one write transaction may allocate; larger writes take several. */
    static final int WRITE_CHUNK_BLOCKS = 256;
    /** relatime: an access time older than this is refreshed by a read, ns. */
    static final long RELATIME_NANOS = 24L * 3600 * 1_000_000_000L;
    /** An fsync with at most this many dirty data blocks journals them instead of ordering them. */
    static final int JOURNALED_DATA_MAX = 16;
    /** Shortest time between two checkpoints forced by allocations that ran short of space. */
    private static final long RECLAIM_INTERVAL_NANOS = 20_000_000L;

    final BlockIo io;
    final Geometry geometry;
    final BufferCache cache;
    /** Background write-back of dirty data and the dirty limit writers wait on. */
    final WriteBack writeBack;

    final Allocator alloc;
    final InodeTable table;
    final Journal journal;
    /** The journal's copy that outlives this process, or null; removed by a clean unmount. */
    private final JournalShadow shadow;

    final Options options;
    private final LongSupplier clock;
    final PathResolver paths;
    /** The operations on names, on this mount. */
    private final Namespace namespace = new Namespace(this);
    /** The operations on data, on this mount. */
    private final FileData fileData = new FileData(this);
    /** The operations on attributes and extended attributes, on this mount. */
    private final Attributes attributes = new Attributes(this);
    /** Opening and closing files, on this mount. */
    private final OpenFiles openFiles = new OpenFiles(this);
    /** The exactly-once records and re-opened handles of clients across a restart, on this mount. */
    final ExactlyOnce exactlyOnce = new ExactlyOnce(this);
    /** Files unlinked while open when the file system stopped, kept for their clients after a crash. */
    private final Orphans orphans = new Orphans(this);

    final ExtendedAttributes xattrs;
    /**
     * Told of every change once it is made ({@link #addChangeListener}); empty unless a front end caches. An array
     * replaced under {@link #listenersLock} whenever it changes, so that {@link #changed}, which runs on every write,
     * walks it with no iterator.
     */
    private volatile ChangeListener[] listeners = new ChangeListener[0];

    private final Object listenersLock = new Object();

    final ReentrantLock renameLock = new ReentrantLock();
    /** Serialises {@link #reclaimFreedBlocks}; guards the field after it. */
    private final ReentrantLock reclaimLock = new ReentrantLock();

    private long lastReclaimNanos = System.nanoTime() - RECLAIM_INTERVAL_NANOS;
    final ConcurrentHashMap<Long, OpenFile> handles = new ConcurrentHashMap<>();
    final RangeLocks locks = new RangeLocks();
    final AtomicLong nextHandle = new AtomicLong(1);
    private final Arena sbArena = Arena.ofShared();
    private final MemorySegment sbBuffer = sbArena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
    private final long mkfsTime;
    private final long mountCount;
    /** Data blocks only root may allocate (from the superblock; mkfs -m). */
    private final long reservedBlocks;

    private final Thread flusher;
    /** Set to stop the flusher (with an unpark); see {@link #flushLoop}. */
    private volatile boolean flusherStop;

    volatile boolean failed;
    /** Why the file system stopped writing (the first error), for fsp:status; null while it writes. */
    private volatile String failure;

    volatile boolean unmounted;
    private final Journal.Recovery recovery;
    private final int orphansFreed;
    /** Threads inside a {@link FileSystemService} call; {@link #quiesce} waits for it to reach zero. */
    private final AtomicInteger activeCalls = new AtomicInteger();
    /** Set by {@link #quiesce}: calls that arrive later fail with EIO. */
    private volatile boolean quiescing;
    /** Handles taken over from the previous version, or -1 after a plain mount. */
    private final int handlesAdopted;
    /** Told of creations, data changes and freed inodes ({@link FileObserver#NONE} in the plain file system). */
    final FileObserver observer;

    /** The exactly-once records (null on an image without a session table: minor version below 2). */
    final SessionTable sessions;

    private final long sessionTableStart;
    private final long sessionTableBlocks;
    /** The recorded call the current thread runs ({@link #recording}), or null. */
    static final ThreadLocal<Recording> RECORDING = new ThreadLocal<>();

    /** A call being recorded: its identity, and what the transaction that holds its change learnt. */
    static final class Recording {
        final long high;
        final long low;
        final int key;
        final long seq;
        /** Where the last write chunk of the call ended, bytes; -1 before one. */
        long writeEnd = -1;
        /** The transaction the record joined, 0 before it did. */
        long txSeq;
        /** What the record says, null before it was written. */
        Outcome outcome;

        Recording(long high, long low, int key, long seq) {
            this.high = high;
            this.low = low;
            this.key = key;
            this.seq = seq;
        }
    }

    /**
     * What the current thread's last recorded call left for {@link #lastRecording} and {@link #commitRecording}: its
     * {@link Outcome} (fs-api's type) at {@link #LAST_OUTCOME} and the sequence of the transaction that holds it (a
     * {@code Long}) at {@link #LAST_TX_SEQ}; no entry when that call recorded nothing. Only JDK and fs-api types: the
     * value of a thread-local stays in every thread that set it (the lane workers' threads, which outlive this
     * bundle when it is replaced), and a value of a class of this bundle would keep its class loader alive there.
     */
    static final ThreadLocal<Object[]> LAST_RECORDING = new ThreadLocal<>();

    static final int LAST_OUTCOME = 0;
    static final int LAST_TX_SEQ = 1;

    /** An open file: the inode, the open flags and the position. */
    static final class OpenFile {
        final Inode inode;
        final int flags;
        long position;
        long nextSequentialBlock = -1;
        /** Logical block up to which (exclusive) the current sequential run has been read ahead; 0 if none. */
        long readAheadEnd;

        OpenFile(Inode inode, int flags) {
            this.inode = inode;
            this.flags = flags;
        }
    }

    /** A modifying operation run inside a transaction. */
    @FunctionalInterface
    interface Op<T> {
        T apply(Transaction tx) throws IOException;
    }

    FsCore(
            BlockIo io,
            Geometry g,
            long journalSeq,
            long mkfsTime,
            long mountCount,
            long reservedBlocks,
            Options options,
            LongSupplier clock,
            Journal.Recovery recovery,
            boolean wasClean,
            FileSystemHandoff adopt,
            FileObserver observer,
            JournalShadow shadow,
            Journal.Recovered resumed)
            throws IOException {
        this.io = io;
        this.shadow = shadow;
        this.observer = observer;
        this.geometry = g;
        this.options = options;
        this.clock = clock;
        this.mkfsTime = mkfsTime;
        this.mountCount = mountCount;
        this.reservedBlocks = reservedBlocks;
        this.recovery = recovery;
        this.cache = new BufferCache(io, options.cacheBytes());
        this.writeBack = WriteBack.forCapacity(cache, e -> stopWriting("background write-back", e));
        this.alloc = new Allocator(cache, g);
        this.table = new InodeTable(cache, g, alloc);
        this.journal = resumed == null
                ? new Journal(io, cache, g, journalSeq, this::writeSuperblockSeq, alloc::releaseFreed, shadow)
                : Journal.resume(io, cache, g, resumed, this::writeSuperblockSeq, alloc::releaseFreed, shadow);
        this.paths = new PathResolver(cache, alloc, table, options.linkProtection());
        this.xattrs = new ExtendedAttributes(cache, alloc, table, g, clock, reservedBlocks);
        io.read(0, sbBuffer, BlockRequest.Priority.METADATA);
        this.sessionTableStart = SuperblockDescriptor.sessionTableStart(sbBuffer);
        this.sessionTableBlocks = SuperblockDescriptor.sessionTableBlocks(sbBuffer);
        SessionTable loaded = null;
        try {
            // What the mount reads, all in flight at once rather than one device round trip each: the bitmaps (inode
            // and block bitmaps lie next to each other), the root inode and, after a hand-off, the open files' inodes.
            cache.prefetch(g.inodeBitmapStart(), (int) (g.inodeBitmapBlocks() + g.blockBitmapBlocks()));
            cache.prefetch(g.inodeBlock(Geometry.ROOT_INO), 1);
            if (adopt != null) {
                adopt.openFiles().stream()
                        .mapToLong(f -> g.inodeBlock(f.ino()))
                        .distinct()
                        .forEach(block -> cache.prefetch(block, 1));
            }
            alloc.load();
            if (!table.get(Geometry.ROOT_INO).isDirectory()) {
                throw new CorruptMetadataException("root inode is not a directory");
            }
            if (sessionTableBlocks > 0) {
                loaded = SessionTable.load(cache, sessionTableStart, (int) sessionTableBlocks);
            }
        } catch (IOException | RuntimeException e) {
            cache.close();
            sbArena.close();
            throw e;
        }
        this.sessions = loaded;
        if (adopt == null && resumed != null) {
            // The journal still starts at the sequence the superblock has; one flush covers the superblock's new
            // mount count and the recovered transactions.
            writeSuperblock(resumed.contents().baseSeq(), false, false);
            try {
                journal.flushRecovered();
            } catch (IOException e) {
                cache.close();
                sbArena.close();
                throw e;
            }
        }
        if (adopt == null) {
            if (resumed == null) {
                writeSuperblock(journalSeq, false);
            }
            this.orphansFreed = wasClean ? 0 : orphans.afterCrash();
            this.handlesAdopted = -1;
        } else {
            // The previous version left the superblock marked in use with this journal sequence, so nothing is
            // written. No orphan scan: the unlinked inodes still allocated are exactly the open files taken over.
            this.orphansFreed = 0;
            try {
                for (FileSystemHandoff.OpenFile f : adopt.openFiles()) {
                    Inode i = table.get(f.ino());
                    i.lock.lock();
                    try {
                        i.openCount++;
                    } finally {
                        i.lock.unlock();
                    }
                    OpenFile of = new OpenFile(i, f.flags());
                    of.position = f.position();
                    handles.put(f.handle(), of);
                }
            } catch (IOException | RuntimeException e) {
                cache.close();
                sbArena.close();
                throw e;
            }
            nextHandle.set(adopt.nextHandle());
            this.handlesAdopted = adopt.openFiles().size();
        }
        journal.startBackground("fsp-journal");
        if (options.flushIntervalMillis() > 0) {
            writeBack.start("fsp-fs-writeback");
            flusher = Thread.ofPlatform().daemon().name("fsp-fs-flusher").start(this::flushLoop);
        } else {
            flusher = null;
        }
        orphans.startGraceTimer();
    }

    /**
     * Mounts the file system on the scheduler's device: checks the superblock (refusing a corrupt one with a message
     * that says what is wrong, before anything is written), replays the journal, loads the bitmaps, marks the image
     * in use and, after an unclean shutdown, frees inodes that were unlinked while open.
     */
    public static FsCore mount(BlockScheduler scheduler, Options options) throws IOException {
        return mount(scheduler, options, FsCore::wallClockNanos);
    }

    /** The default clock: ns since the epoch. */
    static long wallClockNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** {@link #mount(BlockScheduler, Options)} with an injected clock (ns since the epoch). */
    public static FsCore mount(BlockScheduler scheduler, Options options, LongSupplier clock) throws IOException {
        return mount(scheduler, options, clock, null);
    }

    /**
     * Mounts, taking over from the previous version of the file system when {@code handoff} (its
     * {@link #quiesce} result) is of this device: the image is then known consistent (checkpointed), so mounting reads
     * the superblock, the bitmaps and the root inode, and restores the open handles with their numbers, flags and
     * positions. A hand-off of another device (see {@link #isHandoffFor}) or null mounts as
     * {@link #mount(BlockScheduler, Options)} does.
     */
    public static FsCore mount(BlockScheduler scheduler, Options options, LongSupplier clock, FileSystemHandoff handoff)
            throws IOException {
        return mount(scheduler, options, clock, handoff, FileObserver.NONE);
    }

    /**
     * {@link #mount(BlockScheduler, Options, LongSupplier, FileSystemHandoff)} telling {@code observer} who creates,
     * writes and frees each inode from now on (also an orphan freed during this mount).
     */
    public static FsCore mount(
            BlockScheduler scheduler,
            Options options,
            LongSupplier clock,
            FileSystemHandoff handoff,
            FileObserver observer)
            throws IOException {
        return Mounting.mount(scheduler, options, clock, handoff, observer);
    }

    /** What identifies an image for a hand-off: its format time (ns) and geometry. */
    static String deviceIdentity(Geometry g, long mkfsTime) {
        return "mkfs " + mkfsTime + ", " + g.totalBlocks() + " blocks, " + (g.inodeCount() - 1) + " inodes, journal "
                + g.journalStart() + "+" + g.journalBlocks();
    }

    /** This file system's identity in a hand-off. */
    public String deviceIdentity() {
        return deviceIdentity(geometry, mkfsTime);
    }

    /** True if {@code handoff} was left by a file system on this image. */
    public boolean isHandoffFor(FileSystemHandoff handoff) {
        return handoff.deviceIdentity().equals(deviceIdentity());
    }

    /** Handles taken over from the previous version at mount, or -1 after a plain mount. */
    public int handlesAdopted() {
        return handlesAdopted;
    }

    /**
     * Stops for a hand-off to the next version: later calls fail with EIO (the IPC layer above holds its requests
     * meanwhile), calls in progress finish, the flusher stops, every dirty block is written home and the journal is
     * committed and checkpointed, so the device alone is consistent; the superblock stays marked in use because files
     * unlinked while open keep their inodes. Releases the cache and returns the open handles.
     *
     * @param extensions features' data to pass on (see {@link FileSystemHandoff#extensions()})
     * @throws IOException if the file system has failed or the device fails now: nothing is handed over, and the
     *     caller should {@link #unmount()}, which leaves a failed device as it is
     */
    public FileSystemHandoff quiesce(Map<String, byte[]> extensions) throws IOException {
        return quiesce(() -> extensions);
    }

    /**
     * {@link #quiesce(Map)} with features' data taken from {@code extensions} once the last call in progress has
     * finished, so that it includes every change those calls made.
     */
    public FileSystemHandoff quiesce(Supplier<Map<String, byte[]>> extensions) throws IOException {
        long quiescedAt = System.nanoTime();
        // Dekker with enter(): it increments activeCalls, then reads quiescing; here the reverse order.
        quiescing = true;
        for (int spins = 0; activeCalls.get() > 0; spins++) {
            if (spins < 1000) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        orphans.stopGraceTimer();
        stopFlusher();
        writeBack.close();
        journal.stopBackground();
        if (failed || unmounted) {
            throw new IOException(
                    "file system " + (failed ? "stopped after an error" : "is unmounted") + ": nothing to hand over");
        }
        try {
            // After a checkpoint() with nothing changed since (the live-upgrade path), the device is already the whole
            // state: skipping the checkpoint saves its three device flushes inside the clients' pause.
            if (cache.dirtyBuffers() > 0 || !journal.isEmpty()) {
                cache.writeBackAll();
                // Commits what runs and writes every journaled block home; the superblock then records an empty
                // journal.
                journal.checkpointNow();
            }
        } catch (IOException e) {
            stopWriting("quiesce for a hand-off", e);
            throw e;
        }
        List<FileSystemHandoff.OpenFile> open = new ArrayList<>();
        for (Map.Entry<Long, OpenFile> e : handles.entrySet()) {
            OpenFile f = e.getValue();
            open.add(new FileSystemHandoff.OpenFile(e.getKey(), f.inode.ino, f.flags, f.position));
        }
        open.sort((a, b) -> Long.compare(a.handle(), b.handle()));
        FileSystemHandoff handoff =
                new FileSystemHandoff(deviceIdentity(), open, nextHandle.get(), extensions.get(), quiescedAt);
        unmounted = true;
        handles.clear();
        cache.close();
        sbArena.close();
        return handoff;
    }

    /**
     * Writes every dirty block home and checkpoints the journal while calls go on, so that a {@link #quiesce} soon
     * after finds little or nothing left to write: the live-upgrade path calls it before it stops passing calls in,
     * which moves the checkpoint's device flushes out of the clients' pause.
     */
    public void checkpoint() throws FsException {
        perform(() -> {
            if (failed) {
                throw new FsException(Errno.EROFS, "file system stopped writing after an error");
            }
            cache.writeBackAll();
            journal.checkpointNow();
        });
    }

    private void stopFlusher() {
        if (flusher != null) {
            flusherStop = true;
            LockSupport.unpark(flusher);
            boolean interrupted = false;
            while (flusher.isAlive()) {
                try {
                    flusher.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Counts a {@link FileSystemService} call in, refusing it once {@link #quiesce} has begun. */
    void enter() throws FsException {
        activeCalls.incrementAndGet();
        if (quiescing) {
            activeCalls.decrementAndGet();
            throw new FsException(Errno.EIO, "file system is being handed over to its next version");
        }
    }

    void exit() {
        activeCalls.decrementAndGet();
    }

    /** A {@link FileSystemService} call's body, inside {@link #call}. */
    @FunctionalInterface
    interface Body<T> {
        T run() throws FsException, IOException;
    }

    /** A call's body with no result, inside {@link #perform}. */
    @FunctionalInterface
    interface VoidBody {
        void run() throws FsException, IOException;
    }

    /**
     * The one wrapper of every {@link FileSystemService} call: counts it in (refused with EIO once a hand-over has
     * begun), turns an I/O failure of the device into the errno the caller gets (and marks the file system failed),
     * and counts it out.
     */
    <T> T call(Body<T> body) throws FsException {
        enter();
        try {
            return body.run();
        } catch (FsException e) {
            throw e;
        } catch (IOException e) {
            throw ioError(e);
        } finally {
            exit();
        }
    }

    /** {@link #call} for a body with no result. */
    void perform(VoidBody body) throws FsException {
        call(() -> {
            body.run();
            return null;
        });
    }

    /**
     * Closes the handles still open, writes everything home, marks the image clean and stops; further calls fail
     * with EIO.
     */
    public void unmount() throws IOException {
        if (unmounted) {
            return;
        }
        // Handles still open are closed: files unlinked while open are freed now, so a clean image has no orphans.
        for (long h : List.copyOf(handles.keySet())) {
            if (!failed) {
                close(Credentials.ROOT, h);
            }
        }
        handles.clear();
        orphans.interruptGraceTimer();
        if (!failed) {
            orphans.freeKept();
        }
        unmounted = true;
        stopFlusher();
        writeBack.close();
        journal.stopBackground();
        if (!failed) {
            cache.writeBackAll();
            journal.checkpointNow();
            writeSuperblock(journal.runningSeq(), true);
            if (shadow != null) {
                // The device now holds everything.
                shadow.delete();
            }
        } else if (shadow != null) {
            // Kept: the next mount restores from it what the device may lack.
            shadow.close();
        }
        cache.close();
        sbArena.close();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Superblock and housekeeping

    private void writeSuperblock(long journalSeq, boolean clean) {
        writeSuperblock(journalSeq, clean, true);
    }

    /** Writes the superblock; with {@code flush} it is durable on return, else the next flush covers it. */
    private synchronized void writeSuperblock(long journalSeq, boolean clean, boolean flush) {
        SuperblockDescriptor.write(
                sbBuffer,
                geometry,
                journalSeq,
                clean,
                mkfsTime,
                mountCount,
                reservedBlocks,
                sessionTableStart,
                sessionTableBlocks);
        try {
            io.await(io.write(0, sbBuffer, BlockRequest.Priority.JOURNAL));
            if (flush) {
                io.flush();
            }
        } catch (IOException e) {
            stopWriting("superblock write", e);
            throw new IllegalStateException("cannot write the superblock", e);
        }
    }

    private void writeSuperblockSeq(long journalSeq) {
        writeSuperblock(journalSeq, false);
    }

    /**
     * The flusher's loop. It is stopped by {@link #flusherStop} and an unpark, never by an interrupt: an interrupt
     * that lands while it waits for I/O would read as an I/O error and stop the file system writing.
     */
    private void flushLoop() {
        long interval = TimeUnit.MILLISECONDS.toNanos(options.flushIntervalMillis());
        while (!flusherStop) {
            long wakeAt = System.nanoTime() + interval;
            for (long left = interval; left > 0 && !flusherStop; left = wakeAt - System.nanoTime()) {
                LockSupport.parkNanos(this, left);
            }
            if (flusherStop) {
                return;
            }
            try {
                cache.writeBackAll();
                journal.commitUpTo(journal.runningSeq());
            } catch (IOException e) {
                stopWriting("background flush", e);
                return;
            }
        }
    }

    long now() {
        return clock.getAsLong();
    }

    /** Runs a modifying operation in a transaction, retrying once after a checkpoint if space was short. */
    <T> T run(Op<T> op) throws FsException {
        checkWritable();
        for (int attempt = 0; ; attempt++) {
            try (Journal.Handle h = journal.begin()) {
                T result = op.apply(h.tx());
                Recording r = RECORDING.get();
                if (r != null) {
                    exactlyOnce.record(h.tx(), r, result);
                }
                return result;
            } catch (NoSpaceException e) {
                if (attempt > 0 || !reclaimFreedBlocks()) {
                    throw e;
                }
            } catch (FsException e) {
                throw e;
            } catch (IOException e) {
                throw ioError(e);
            }
        }
    }

    /**
     * Makes blocks freed since the last checkpoint reusable by checkpointing now, for an allocation that ran short.
     * Returns false if nothing was waiting. Forced checkpoints are at least {@link #RECLAIM_INTERVAL_NANOS} apart: on
     * a full device a client alternating unlink and write would otherwise force one per request; within the interval
     * the caller waits for the next one (back-pressure on whoever keeps the device full), and callers that waited
     * behind another's checkpoint that freed everything retry without one of their own.
     */
    boolean reclaimFreedBlocks() throws FsException {
        if (alloc.pendingFreeBlocks() == 0) {
            return false;
        }
        // The wait (for the lock, the interval and the checkpoint's I/O) is a blocking one: a polling worker lends
        // its other lanes to a stand-in meanwhile, so only this caller waits.
        ManagedBlocking.begin();
        reclaimLock.lock();
        try {
            for (long wait; (wait = lastReclaimNanos + RECLAIM_INTERVAL_NANOS - System.nanoTime()) > 0; ) {
                LockSupport.parkNanos(wait);
            }
            if (alloc.pendingFreeBlocks() == 0) {
                return true;
            }
            journal.checkpointNow();
            lastReclaimNanos = System.nanoTime();
            return true;
        } catch (IOException e) {
            throw ioError(e);
        } finally {
            reclaimLock.unlock();
            ManagedBlocking.end();
        }
    }

    void checkWritable() throws FsException {
        if (failed) {
            throw new FsException(Errno.EROFS, "file system stopped writing after an error");
        }
        if (unmounted) {
            throw new FsException(Errno.EIO, "file system is unmounted");
        }
    }

    /**
     * Turns a device error or detected corruption into EIO. Either way the file system stops writing (as Linux's
     * errors=remount-ro): later changes fail with EROFS and unmount leaves the device as it is.
     */
    FsException ioError(IOException e) {
        stopWriting("request", e);
        return new FsException(Errno.EIO, e.getMessage());
    }

    /** Stops writing for good after {@code e} (the first reason is kept for fsp:status and logged with its trace). */
    void stopWriting(String during, IOException e) {
        if (!failed) {
            failure = during + ": " + e.getMessage() + (e.getCause() != null ? " (" + e.getCause() + ")" : "");
            failed = true;
            LOG.error("file system stops writing after an error in a {}", during, e);
        }
    }

    /** Why the file system stopped writing (later changes fail with EROFS), or null while it writes. */
    public String failure() {
        return failure;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Path helpers

    Inode inode(long ino) throws IOException {
        return table.get(ino);
    }

    static boolean isDotName(String name) {
        return name.isEmpty() || name.equals(".") || name.equals("..");
    }

    /** Locks a directory found by path and checks it still exists. */
    void lockLiveDir(Inode dir, String path) throws FsException {
        dir.lock.lock();
        if (dir.freed || dir.nlink == 0) {
            dir.lock.unlock();
            throw new FsException(Errno.ENOENT, path);
        }
    }

    /**
     * Locks an inode found by path or through a handle and checks it is still live: a close or unlink on another lane
     * may have freed it since, and a freed inode must never be stored again (its number may be someone else's now).
     * Fails with {@code gone} (ENOENT for a path, EBADF for a handle).
     */
    static void lockLive(Inode i, Errno gone, String subject) throws FsException {
        i.lock.lock();
        if (i.freed) {
            i.lock.unlock();
            throw new FsException(gone, subject);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Inode helpers

    /** Frees an inode's blocks and the inode itself. Caller holds its lock, inside {@code tx}. */
    void destroy(Transaction tx, Inode i) throws IOException {
        for (long[] run : i.extents.truncate(0)) {
            for (long b = run[0]; b < run[0] + run[1]; b++) {
                cache.forget(b);
            }
            alloc.freeBlocks(tx, run[0], run[1]);
        }
        i.dirtyData.clear();
        for (long b : i.chain) {
            cache.forget(b);
            alloc.freeBlocks(tx, b, 1);
        }
        i.chain = new long[0];
        xattrs.release(tx, i);
        i.blocks = 0;
        i.size = 0;
        table.free(tx, i);
        observer.freed(i.ino);
    }

    /** Drops a link's worth of life: frees the inode if no links and no open handles remain. Lock held. */
    void maybeDestroy(Transaction tx, Inode i) throws IOException {
        if (i.nlink == 0 && i.openCount == 0 && !i.freed) {
            destroy(tx, i);
        }
    }

    void touchDir(Transaction tx, Inode dir, long now) throws IOException {
        dir.mtime = now;
        dir.ctime = now;
        table.store(tx, dir, false);
        changed(dir);
    }

    /** Linux's file_remove_privs: a write or truncate by a non-root caller clears set-user-ID and set-group-ID. */
    static boolean killPrivs(Credentials who, Inode i) {
        if (who.isRoot()) {
            return false;
        }
        int mode = i.mode;
        int kill = mode & FileMode.S_ISUID;
        if ((mode & FileMode.S_ISGID) != 0 && (mode & 0010) != 0) {
            kill |= FileMode.S_ISGID;
        }
        if (kill == 0) {
            return false;
        }
        i.mode = mode & ~kill;
        return true;
    }

    /** Creates an inode in {@code dir} and links it as {@code name}. Caller holds the dir lock. */
    Inode createIn(Transaction tx, Credentials who, Inode dir, String name, int mode) throws IOException {
        return createIn(tx, who, dir, name, mode, 0);
    }

    /** {@link #createIn} of a device node with device number {@code rdev}, set before the name is visible. */
    Inode createIn(Transaction tx, Credentials who, Inode dir, String name, int mode, int rdev) throws IOException {
        int gid = who.gid();
        if ((dir.mode & FileMode.S_ISGID) != 0) {
            gid = dir.gid;
            if (FileMode.isDirectory(mode)) {
                mode |= FileMode.S_ISGID;
            } else if ((mode & FileMode.S_ISGID) != 0 && !who.isRoot() && !who.inGroup(gid)) {
                mode &= ~FileMode.S_ISGID;
            }
        }
        long now = now();
        Inode n = table.create(tx, dir.ino, mode, who.uid(), gid, now, FileMode.isDirectory(mode) ? dir.ino : 0);
        if (n == null) {
            throw new NoSpaceException();
        }
        if (FileMode.isDirectory(mode) || rdev != 0) {
            n.lock.lock();
            try {
                if (FileMode.isDirectory(mode)) {
                    n.nlink = 2;
                    n.dir = null;
                } else {
                    n.rdev = rdev;
                }
                table.store(tx, n, false);
            } finally {
                n.lock.unlock();
            }
        }
        try {
            paths.dir(dir).add(tx, name, n.ino, mode);
        } catch (NoSpaceException e) {
            n.lock.lock();
            try {
                table.free(tx, n);
            } finally {
                n.lock.unlock();
            }
            throw e;
        }
        if (FileMode.isDirectory(mode)) {
            dir.nlink++;
        }
        touchDir(tx, dir, now);
        observer.created(who, n.ino);
        created(dir, name, n.ino);
        return n;
    }

    /**
     * Records a change to a data buffer: written back in place later, or, while the block has a journaled image
     * waiting for a checkpoint, journaled again (an in-place write could be overwritten by that older image).
     * Caller holds the inode lock.
     */
    void dataChanged(Transaction tx, Inode i, Buffer b, long pblk) {
        if (journal.mustJournal(b)) {
            tx.dirty(b);
        } else {
            // Listed when it turns dirty (a buffer stays listed while dirty): no boxed block number per write.
            if (cache.markDirty(b)) {
                i.dirtyData.add(pblk);
            }
        }
    }

    /** Allocates a zeroed data block for {@code lblk}; caller holds the inode lock. */
    long allocData(Transaction tx, Credentials who, Inode i, long lblk, int want) throws IOException {
        if (!who.isRoot()) {
            // Blocks waiting for a checkpoint count as free: run() reclaims them when the bitmap runs short.
            long free = alloc.freeBlocks() + alloc.pendingFreeBlocks() - reservedBlocks;
            if (free <= 0) {
                throw new NoSpaceException();
            }
            want = (int) Math.min(want, free);
        }
        long[] run = alloc.allocBlocks(tx, i.extents.goalFor(lblk), want);
        if (run == null) {
            throw new NoSpaceException();
        }
        i.extents.insert(lblk, run[1], run[0]);
        i.blocks += run[1];
        for (long b = run[0]; b < run[0] + run[1]; b++) {
            tx.ordered(b);
        }
        return run[1];
    }

    /** Changes the size of a regular file; caller holds the lock. Shrinking frees blocks and zeroes the tail. */
    void setSize(Transaction tx, Inode i, long size) throws IOException {
        long old = i.size;
        if (size < old) {
            long keepBlocks = (size + Layout.BLOCK_SIZE - 1) / Layout.BLOCK_SIZE;
            for (long[] run : i.extents.truncate(keepBlocks)) {
                for (long b = run[0]; b < run[0] + run[1]; b++) {
                    cache.forget(b);
                    i.dirtyData.remove(b);
                }
                alloc.freeBlocks(tx, run[0], run[1]);
                i.blocks -= run[1];
            }
            int tail = (int) (size % Layout.BLOCK_SIZE);
            long pblk = tail == 0 ? 0 : i.extents.map(size / Layout.BLOCK_SIZE);
            if (pblk != 0) {
                Buffer b = cache.get(pblk, true);
                try {
                    b.data().asSlice(tail).fill((byte) 0);
                    dataChanged(tx, i, b, pblk);
                } finally {
                    cache.release(b);
                }
            }
        }
        i.size = size;
        i.dataSeq = tx.seq();
    }

    OpenFile handle(long h) throws FsException {
        OpenFile f = handles.get(h);
        if (f == null) {
            throw new FsException(Errno.EBADF, "handle " + h);
        }
        return f;
    }

    /**
     * relatime, Linux's default: a read updates the access time only if it is not newer than the last modification
     * or change, or is a day old, so that reading a file costs a journal write at most once after each change.
     */
    void touchAtime(Inode i) {
        long now = now();
        long atime = i.atime;
        if (atime > i.mtime && atime > i.ctime && now - atime < RELATIME_NANOS) {
            return;
        }
        if (failed || unmounted) {
            return;
        }
        try {
            run(tx -> {
                i.lock.lock();
                try {
                    if (!i.freed && i.atime == atime) {
                        i.atime = now;
                        table.store(tx, i, false);
                    }
                } finally {
                    i.lock.unlock();
                }
                return null;
            });
        } catch (FsException e) {
            // The access time is advisory: a read that succeeded does not fail because its atime could not be kept.
            FsCore.LOG.debug("access time of inode {} not updated: {}", i.ino, e.getMessage());
        }
    }

    /**
     * The directory a handle is open on, as the base of an *at call: EBADF for no such handle, ENOTDIR for a file.
     * Enters and leaves on its own: the call it serves enters again.
     */
    Inode baseOf(long dirHandle) throws FsException {
        return call(() -> {
            Inode d = handle(dirHandle).inode;
            if (!d.isDirectory()) {
                throw new FsException(Errno.ENOTDIR, "handle " + dirHandle);
            }
            return d;
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // Opening and closing (OpenFiles)

    @Override
    public long open(Credentials who, String path, int flags, int mode) throws FsException {
        return openFiles.open(who, path, flags, mode);
    }

    @Override
    public long openat(Credentials who, long dirHandle, String path, int flags, int mode) throws FsException {
        return openFiles.openat(who, dirHandle, path, flags, mode);
    }

    @Override
    public void close(Credentials who, long handle) throws FsException {
        openFiles.close(who, handle);
    }

    // ---------------------------------------------------------------------------------------------------------
    // The operations on a file's data (FileData)

    @Override
    public long lseek(Credentials who, long handle, long offset, int whence) throws FsException {
        return fileData.lseek(who, handle, offset, whence);
    }

    @Override
    public void fallocate(Credentials who, long handle, int mode, long offset, long length) throws FsException {
        fileData.fallocate(who, handle, mode, offset, length);
    }

    @Override
    public int read(Credentials who, long handle, MemorySegment dst) throws FsException {
        return fileData.read(who, handle, dst);
    }

    @Override
    public int pread(Credentials who, long handle, long offset, MemorySegment dst) throws FsException {
        return fileData.pread(who, handle, offset, dst);
    }

    @Override
    public int write(Credentials who, long handle, MemorySegment src) throws FsException {
        return fileData.write(who, handle, src);
    }

    @Override
    public int pwrite(Credentials who, long handle, long offset, MemorySegment src) throws FsException {
        return fileData.pwrite(who, handle, offset, src);
    }

    @Override
    public void truncate(Credentials who, String path, long size) throws FsException {
        fileData.truncate(who, path, size);
    }

    @Override
    public void ftruncate(Credentials who, long handle, long size) throws FsException {
        fileData.ftruncate(who, handle, size);
    }

    @Override
    public void fsync(Credentials who, long handle) throws FsException {
        fileData.fsync(who, handle);
    }

    @Override
    public void fdatasync(Credentials who, long handle) throws FsException {
        fileData.fdatasync(who, handle);
    }

    @Override
    public void sync() throws FsException {
        fileData.sync();
    }

    // The operations on names (Namespace)

    @Override
    public void mkdir(Credentials who, String path, int mode) throws FsException {
        namespace.mkdir(who, path, mode);
    }

    @Override
    public void rmdir(Credentials who, String path) throws FsException {
        namespace.rmdir(who, path);
    }

    @Override
    public void unlinkat(Credentials who, long dirHandle, String path, int flags) throws FsException {
        namespace.unlinkat(who, dirHandle, path, flags);
    }

    @Override
    public List<DirEntry> readdir(Credentials who, String path, long cookie, int max) throws FsException {
        return namespace.readdir(who, path, cookie, max);
    }

    @Override
    public List<DirEntry> readdir(Credentials who, long dirHandle, long cookie, int max) throws FsException {
        return namespace.readdir(who, dirHandle, cookie, max);
    }

    @Override
    public void unlink(Credentials who, String path) throws FsException {
        namespace.unlink(who, path);
    }

    @Override
    public void link(Credentials who, String existing, String newPath) throws FsException {
        namespace.link(who, existing, newPath);
    }

    @Override
    public void symlink(Credentials who, String target, String linkPath) throws FsException {
        namespace.symlink(who, target, linkPath);
    }

    @Override
    public void mknod(Credentials who, String path, int mode, int rdev) throws FsException {
        namespace.mknod(who, path, mode, rdev);
    }

    @Override
    public String readlink(Credentials who, String path) throws FsException {
        return namespace.readlink(who, path);
    }

    @Override
    public void rename(Credentials who, String from, String to) throws FsException {
        namespace.rename(who, from, to);
    }

    @Override
    public void rename(Credentials who, String from, String to, int flags) throws FsException {
        namespace.rename(who, from, to, flags);
    }

    @Override
    public void renameat(Credentials who, long fromDir, String from, long toDir, String to, int flags)
            throws FsException {
        namespace.renameat(who, fromDir, from, toDir, to, flags);
    }

    // ---------------------------------------------------------------------------------------------------------
    // change listeners

    @Override
    public void addChangeListener(ChangeListener listener) {
        synchronized (listenersLock) {
            if (!List.of(listeners).contains(listener)) {
                ChangeListener[] more = Arrays.copyOf(listeners, listeners.length + 1);
                more[listeners.length] = listener;
                listeners = more;
            }
        }
    }

    @Override
    public void removeChangeListener(ChangeListener listener) {
        synchronized (listenersLock) {
            listeners = Arrays.stream(listeners).filter(l -> l != listener).toArray(ChangeListener[]::new);
        }
    }

    /** Listeners are told on the changing operation's thread, before it returns. */
    @Override
    public boolean publishesChanges() {
        return true;
    }

    /** Tells the listeners that {@code i}'s data or attributes changed; one volatile read when there are none. */
    void changed(Inode i) {
        for (ChangeListener l : listeners) {
            try {
                l.changed(i.ino);
            } catch (RuntimeException e) {
                LOG.warn("change listener {} failed", l, e);
            }
        }
    }

    /** Tells the listeners that entry {@code name} of {@code dir} now names inode {@code ino}. */
    void created(Inode dir, String name, long ino) {
        if (listeners.length > 0) {
            tell(l -> l.created(dir.ino, name, ino));
        }
    }

    /** Tells the listeners that entry {@code name} of {@code dir}, which named inode {@code ino}, is gone. */
    void removed(Inode dir, String name, long ino) {
        if (listeners.length > 0) {
            tell(l -> l.removed(dir.ino, name, ino));
        }
    }

    void renamed(PathResolver.Parent from, PathResolver.Parent to, boolean exchange) throws IOException {
        if (listeners.length == 0) {
            return;
        }
        Inode moved = paths.child(to.dir(), to.name());
        boolean directory = moved != null && moved.isDirectory();
        long movedIno = moved == null ? 0 : moved.ino;
        Inode swapped = exchange ? paths.child(from.dir(), from.name()) : null;
        long exchangedIno = swapped == null ? 0 : swapped.ino;
        tell(l -> l.renamed(
                from.dir().ino, from.name(), to.dir().ino, to.name(), directory, exchange, movedIno, exchangedIno));
    }

    /** Gives {@code notice} to every listener; one that throws is logged and does not stop the others. */
    private void tell(Consumer<ChangeListener> notice) {
        for (ChangeListener l : listeners) {
            try {
                notice.accept(l);
            } catch (RuntimeException e) {
                LOG.warn("change listener {} failed", l, e);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The operations on a file's attributes (Attributes)

    @Override
    public FileAttributes stat(Credentials who, String path) throws FsException {
        return attributes.stat(who, path);
    }

    @Override
    public FileAttributes lstat(Credentials who, String path) throws FsException {
        return attributes.lstat(who, path);
    }

    @Override
    public FileAttributes fstatat(Credentials who, long dirHandle, String path, int flags) throws FsException {
        return attributes.fstatat(who, dirHandle, path, flags);
    }

    @Override
    public FileAttributes fstat(Credentials who, long handle) throws FsException {
        return attributes.fstat(who, handle);
    }

    @Override
    public void chmod(Credentials who, String path, int mode) throws FsException {
        attributes.chmod(who, path, mode);
    }

    @Override
    public void fchmod(Credentials who, long handle, int mode) throws FsException {
        attributes.fchmod(who, handle, mode);
    }

    @Override
    public void chown(Credentials who, String path, int uid, int gid) throws FsException {
        attributes.chown(who, path, uid, gid);
    }

    @Override
    public void lchown(Credentials who, String path, int uid, int gid) throws FsException {
        attributes.lchown(who, path, uid, gid);
    }

    @Override
    public void lutimens(Credentials who, String path, long atimeNanos, long mtimeNanos) throws FsException {
        attributes.lutimens(who, path, atimeNanos, mtimeNanos);
    }

    @Override
    public void fchown(Credentials who, long handle, int uid, int gid) throws FsException {
        attributes.fchown(who, handle, uid, gid);
    }

    @Override
    public void utimens(Credentials who, String path, long atimeNanos, long mtimeNanos) throws FsException {
        attributes.utimens(who, path, atimeNanos, mtimeNanos);
    }

    @Override
    public void futimens(Credentials who, long handle, long atimeNanos, long mtimeNanos) throws FsException {
        attributes.futimens(who, handle, atimeNanos, mtimeNanos);
    }

    @Override
    public void access(Credentials who, String path, int mode) throws FsException {
        attributes.access(who, path, mode);
    }

    @Override
    public byte[] getxattr(Credentials who, String path, String name, boolean follow) throws FsException {
        return attributes.getxattr(who, path, name, follow);
    }

    @Override
    public List<String> listxattr(Credentials who, String path, boolean follow) throws FsException {
        return attributes.listxattr(who, path, follow);
    }

    @Override
    public void setxattr(Credentials who, String path, String name, byte[] value, int flags, boolean follow)
            throws FsException {
        attributes.setxattr(who, path, name, value, flags, follow);
    }

    @Override
    public void removexattr(Credentials who, String path, String name, boolean follow) throws FsException {
        attributes.removexattr(who, path, name, follow);
    }

    // ---------------------------------------------------------------------------------------------------------
    // byte-range locks and statfs

    @Override
    public void setlk(Credentials who, long handle, int type, long start, long length) throws FsException {
        perform(() -> {
            OpenFile f = lockable(handle, type);
            locks.set(f.inode.ino, handle, type, start, length);
        });
    }

    /** The open file of {@code handle}, which must be open for reading to take a read lock, for writing a write lock. */
    private OpenFile lockable(long handle, int type) throws FsException {
        OpenFile f = handle(handle);
        if (type == F_RDLCK && !OpenFlags.canRead(f.flags) || type == F_WRLCK && !OpenFlags.canWrite(f.flags)) {
            throw new FsException(Errno.EBADF, "handle " + handle + " is not open for that lock");
        }
        return f;
    }

    /** The key of a lock owner that is not a handle: handles are positive, owners are kept negative. */
    private static long ownerKey(long owner) {
        return Long.MIN_VALUE | owner;
    }

    @Override
    public void setlk(Credentials who, long handle, long owner, int type, long start, long length) throws FsException {
        perform(() -> {
            OpenFile f = lockable(handle, type);
            locks.set(f.inode.ino, ownerKey(owner), handle, type, start, length);
        });
    }

    @Override
    public long[] getlk(Credentials who, long handle, long owner, int type, long start, long length)
            throws FsException {
        return call(() -> {
            OpenFile f = handle(handle);
            if ((type != F_RDLCK && type != F_WRLCK) || start < 0 || length < 0) {
                throw new FsException(Errno.EINVAL, "getlk type " + type + " range " + start + "+" + length);
            }
            return locks.conflicting(f.inode.ino, ownerKey(owner), type, start, length);
        });
    }

    @Override
    public void releaseLocks(Credentials who, long handle, long owner) throws FsException {
        perform(() -> {
            locks.releaseAll(handle(handle).inode.ino, ownerKey(owner));
        });
    }

    @Override
    public FsStats statfs(Credentials who) throws FsException {
        return call(() -> {
            // Blocks freed but waiting for a checkpoint are free to the user (as ext4 counts blocks freed by a
            // running transaction): allocation reclaims them with a checkpoint when it needs them.
            long free = alloc.freeBlocks() + alloc.pendingFreeBlocks();
            return new FsStats(
                    Layout.BLOCK_SIZE,
                    geometry.totalBlocks(),
                    free,
                    geometry.inodeCount() - 1,
                    alloc.freeInodes(),
                    NAME_MAX,
                    Math.max(0, free - reservedBlocks));
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // The exactly-once records and re-opened handles (ExactlyOnce)

    @Override
    public boolean recordsKept() {
        return exactlyOnce.recordsKept();
    }

    @Override
    public boolean claim(long tokenHigh, long tokenLow, int uid) {
        return exactlyOnce.claim(tokenHigh, tokenLow, uid);
    }

    @Override
    public Outcome recorded(long tokenHigh, long tokenLow, int key, long seq) {
        return exactlyOnce.recorded(tokenHigh, tokenLow, key, seq);
    }

    @Override
    public <T> T recording(long tokenHigh, long tokenLow, int key, long seq, RecordedCall<T> call) throws FsException {
        return exactlyOnce.recording(tokenHigh, tokenLow, key, seq, call);
    }

    @Override
    public Outcome lastRecording() {
        return exactlyOnce.lastRecording();
    }

    @Override
    public void commitRecording() throws FsException {
        exactlyOnce.commitRecording();
    }

    @Override
    public void commitChanges() throws FsException {
        exactlyOnce.commitChanges();
    }

    @Override
    public void forget(long tokenHigh, long tokenLow) {
        exactlyOnce.forget(tokenHigh, tokenLow);
    }

    @Override
    public void reopenToken(long tokenHigh, long tokenLow, long handle, MemorySegment at) throws FsException {
        exactlyOnce.reopenToken(tokenHigh, tokenLow, handle, at);
    }

    @Override
    public long reopen(Credentials who, long tokenHigh, long tokenLow, MemorySegment token, int flags, long position)
            throws FsException {
        return exactlyOnce.reopen(who, tokenHigh, tokenLow, token, flags, position);
    }

    @Override
    public long reopenRecorded(Credentials who, Outcome opened) throws FsException {
        return exactlyOnce.reopenRecorded(who, opened);
    }

    @Override
    public int generation(long ino) throws FsException {
        return exactlyOnce.generation(ino);
    }

    @Override
    public long position(long handle) throws FsException {
        return exactlyOnce.position(handle);
    }

    // ---------------------------------------------------------------------------------------------------------
    // status

    public Geometry geometry() {
        return geometry;
    }

    /** What the status section and the shell show: blocks and inodes, cache, journal. */
    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        String why = failure;
        if (why != null) {
            m.put("state", "READ-ONLY after an error: " + why);
        }
        long free = alloc.freeBlocks();
        m.put("blocks.total", geometry.totalBlocks());
        m.put("blocks.used", geometry.totalBlocks() - free);
        m.put("blocks.free", free);
        m.put("blocks.pendingFree", alloc.pendingFreeBlocks());
        m.put("inodes.total", geometry.inodeCount() - 1);
        m.put("inodes.used", geometry.inodeCount() - 1 - alloc.freeInodes());
        m.put("inodes.free", alloc.freeInodes());
        long hits = cache.hits();
        long misses = cache.misses();
        m.put("cache.blocks", cache.capacity());
        m.put("cache.hitRate", hits + misses == 0 ? 1.0 : (double) hits / (hits + misses));
        m.put("cache.dirty", cache.dirtyBuffers());
        m.put("cache.dirtyBackground", writeBack.backgroundDirty());
        m.put("cache.dirtyLimit", writeBack.dirtyLimit());
        m.put("cache.writeBackRounds", writeBack.backgroundRounds());
        m.put("cache.throttledWrites", writeBack.throttledWrites());
        m.put("cache.overflow", cache.overflowBuffers());
        m.put("journal.blocks", journal.length());
        m.put("journal.head", journal.head());
        m.put("journal.committedSeq", journal.committedSeq());
        m.put("journal.commits", journal.commits());
        m.put("journal.checkpoints", journal.checkpoints());
        m.put("journal.backgroundCheckpoints", journal.backgroundCheckpoints());
        m.put("journal.deadImagesDropped", journal.deadImagesDropped());
        m.put("journal.groupedWaits", journal.groupedWaits());
        m.put("recovery.replayed", recovery.replayed());
        m.put("recovery.orphansFreed", orphansFreed);
        m.put("recovery.orphansKept", orphans.keptCount());
        if (sessions != null) {
            m.put("sessions.records", sessions.inUse());
            m.put("sessions.capacity", sessions.capacity());
            m.put("sessions.awaited", sessions.awaited());
        }
        m.put("openFiles", handles.size());
        if (handlesAdopted >= 0) {
            m.put("handoff.handlesAdopted", handlesAdopted);
        }
        return m;
    }
}
