package org.fsp.fs.core.journal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A copy of the journal area in memory that outlives this process: a file on tmpfs ({@code /dev/shm} by default),
 * mapped shared. Every commit lays its blocks here as well as on the device, so a commit that only has to survive a
 * crash of this process (a recoverable client's namespace change) is answered after a memory copy, while its device
 * write completes in the background and the flush waits for the next sync. The next mount of the image, in whatever
 * process, reads the journal through the copy and writes it onto the device's journal area. It does not survive a reboot,
 * which is what a power loss allows: what was not flushed may be lost.
 *
 * <p>Layout: a 4 KiB header (the image's identity, the sequence of the transaction at journal position 0 and the
 * number of valid blocks), then one block per journal block. Positions {@code [0, head)} mirror what the journal holds
 * since the last checkpoint; {@link #reset} after each checkpoint starts a new epoch. A copy is used only if its
 * identity and epoch match the superblock's, and only if this user owns it and nobody else may write it: it is
 * written onto the device, so it is trusted like the device.
 *
 * <p>Not thread-safe: the journal calls it under its commit lock, the mount before the journal exists.
 *
 * <p>A typical sequence is: {@code shadow = JournalShadow.open(dir, mkfsTime, g)}; at mount
 * {@code shadow.front(sbJournalSeq)} is read as the journal's front and {@code shadow.adopt(sbJournalSeq, journal)}; per commit {@code shadow.append(head, blocks)}; per checkpoint
 * {@code shadow.reset(nextSeq)}; at unmount {@code shadow.delete()}.
 */
public final class JournalShadow implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(JournalShadow.class);

    private static final long MAGIC = 0x46535053_48444f57L; // "FSPSHDOW"
    private static final long HEADER_BYTES = Layout.BLOCK_SIZE;
    private static final long MAGIC_OFFSET = 0;
    private static final long MKFS_TIME_OFFSET = 8;
    private static final long TOTAL_BLOCKS_OFFSET = 16;
    private static final long JOURNAL_START_OFFSET = 24;
    private static final long JOURNAL_BLOCKS_OFFSET = 32;
    private static final long BASE_SEQ_OFFSET = 40;
    private static final long HEAD_OFFSET = 48;

    private final Path file;
    private final Arena arena;
    private final MemorySegment header;
    private final MemorySegment body;
    private final long mkfsTime;
    private final Geometry geometry;

    private JournalShadow(Path file, Arena arena, MemorySegment mapped, long mkfsTime, Geometry g) {
        this.file = file;
        this.arena = arena;
        this.header = mapped.asSlice(0, HEADER_BYTES);
        this.body = mapped.asSlice(HEADER_BYTES);
        this.mkfsTime = mkfsTime;
        this.geometry = g;
    }

    /** The shadow file of the image formatted at {@code mkfsTime} with geometry {@code g}, in {@code dir}. */
    public static Path fileFor(Path dir, long mkfsTime, Geometry g) {
        return dir.resolve("fsp-journal-" + Long.toHexString(mkfsTime) + "-" + g.totalBlocks());
    }

    /**
     * Opens (creating if absent, mode 0600) the shadow of the image formatted at {@code mkfsTime}; null, with a
     * warning, if {@code dir} cannot hold one or the existing file is not this user's alone (then commits that must
     * survive this process wait for the device).
     */
    public static JournalShadow open(Path dir, long mkfsTime, Geometry g) {
        Path file = fileFor(dir, mkfsTime, g);
        long size = HEADER_BYTES + g.journalBlocks() * Layout.BLOCK_SIZE;
        Arena arena = Arena.ofShared();
        try {
            if (Files.notExists(file, LinkOption.NOFOLLOW_LINKS)) {
                Files.createFile(
                        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
            String refusal = untrusted(file);
            if (refusal != null) {
                LOG.warn("journal shadow {} not used: {}", file, refusal);
                arena.close();
                return null;
            }
            MemorySegment mapped;
            try (FileChannel ch = FileChannel.open(
                    file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
            return new JournalShadow(file, arena, mapped, mkfsTime, g);
        } catch (IOException | UnsupportedOperationException e) {
            arena.close();
            LOG.warn("journal shadow {} not used: {}", file, e.toString());
            return null;
        }
    }

    /** Why a file found in a shared directory must not be written onto the device, or null if it may. */
    private static String untrusted(Path file) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return "not a regular file";
        }
        String owner = Files.getOwner(file, LinkOption.NOFOLLOW_LINKS).getName();
        String me = System.getProperty("user.name");
        if (!owner.equals(me)) {
            return "owned by " + owner + ", not " + me;
        }
        Set<PosixFilePermission> p = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        if (!Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)
                .containsAll(p)) {
            return "mode " + PosixFilePermissions.toString(p) + " lets others in";
        }
        return null;
    }

    public Path file() {
        return file;
    }

    /**
     * Before recovery: what the shadow holds of the epoch that starts with {@code journalSeq}, journal position 0
     * first: the transactions a crashed process answered, some perhaps not yet written to the device's journal.
     * Empty if the shadow is empty or of another image or epoch. The slice stays valid until the next {@link #adopt},
     * {@link #reset} or {@link #close}.
     */
    public MemorySegment front(long journalSeq) {
        long head = header.get(Layout.LONG, HEAD_OFFSET);
        if (!holdsEpoch(journalSeq) || head <= 0) {
            return MemorySegment.NULL;
        }
        if (head > geometry.journalBlocks()) {
            LOG.warn("journal shadow {} ignored: {} blocks for a journal of {}", file, head, geometry.journalBlocks());
            return MemorySegment.NULL;
        }
        return body.asSlice(0, head * Layout.BLOCK_SIZE);
    }

    private boolean holdsEpoch(long baseSeq) {
        return header.get(Layout.LONG, MAGIC_OFFSET) == MAGIC
                && header.get(Layout.LONG, MKFS_TIME_OFFSET) == mkfsTime
                && header.get(Layout.LONG, TOTAL_BLOCKS_OFFSET) == geometry.totalBlocks()
                && header.get(Layout.LONG, JOURNAL_START_OFFSET) == geometry.journalStart()
                && header.get(Layout.LONG, JOURNAL_BLOCKS_OFFSET) == geometry.journalBlocks()
                && header.get(Layout.LONG, BASE_SEQ_OFFSET) == baseSeq;
    }

    /**
     * After recovery that keeps the journal (the recovered transactions stay in it until the next checkpoint): the
     * shadow holds exactly {@code blocks}, the journal from position 0, in the epoch {@code baseSeq}. A torn tail the
     * crashed process left is dropped, and blocks only the device had are copied in, so that a later restore never
     * writes anything else over them. A shadow of another epoch is emptied first, so a crash in the middle leaves
     * nothing to restore; within the same epoch the blocks below the old head are the same bytes.
     */
    public void adopt(long baseSeq, MemorySegment blocks) {
        if (!holdsEpoch(baseSeq)) {
            reset(baseSeq);
        }
        long end = blocks.byteSize() / Layout.BLOCK_SIZE;
        if (header.get(Layout.LONG, HEAD_OFFSET) > end) {
            header.set(Layout.LONG, HEAD_OFFSET, end);
            VarHandle.releaseFence();
        }
        MemorySegment.copy(blocks, 0, body, 0, blocks.byteSize());
        VarHandle.releaseFence();
        header.set(Layout.LONG, HEAD_OFFSET, end);
    }

    /**
     * Starts an epoch: the journal is empty and its next transaction, at position 0, is {@code baseSeq}. The head is
     * cleared before the epoch changes, so a crash between the two leaves nothing to restore.
     */
    public void reset(long baseSeq) {
        header.set(Layout.LONG, HEAD_OFFSET, 0);
        VarHandle.releaseFence();
        header.set(Layout.LONG, MAGIC_OFFSET, MAGIC);
        header.set(Layout.LONG, MKFS_TIME_OFFSET, mkfsTime);
        header.set(Layout.LONG, TOTAL_BLOCKS_OFFSET, geometry.totalBlocks());
        header.set(Layout.LONG, JOURNAL_START_OFFSET, geometry.journalStart());
        header.set(Layout.LONG, JOURNAL_BLOCKS_OFFSET, geometry.journalBlocks());
        header.set(Layout.LONG, BASE_SEQ_OFFSET, baseSeq);
    }

    /**
     * Lays {@code blocks} down at journal position {@code at} (blocks from the journal's start). The head moves only
     * after the copy, so a crash in the middle leaves the transaction out (and its commit block's CRC would refuse
     * it anyway).
     */
    public void append(long at, MemorySegment blocks) {
        MemorySegment.copy(blocks, 0, body, at * Layout.BLOCK_SIZE, blocks.byteSize());
        VarHandle.releaseFence();
        long end = at + blocks.byteSize() / Layout.BLOCK_SIZE;
        if (end > header.get(Layout.LONG, HEAD_OFFSET)) {
            header.set(Layout.LONG, HEAD_OFFSET, end);
        }
    }

    /** Unmaps it; the file stays for the next mount. */
    @Override
    public void close() {
        arena.close();
    }

    /** Unmaps and removes it: after a clean unmount the device holds everything. */
    public void delete() {
        close();
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("journal shadow {} could not be removed: {}", file, e.toString());
        }
    }
}
