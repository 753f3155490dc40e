package org.fsp.fs.core;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.fsp.fs.core.tools.FileBlockDevice;
import org.fsp.fs.core.tools.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dress rehearsals run before the real thing, on a scratch image, of the two ways a new fs-core takes over:
 *
 * <ul>
 *   <li>{@link #run} a live upgrade's hand-over, by a version standing by: format, mount, write and fsync, quiesce
 *       into a hand-off, mount again from it, read, close, unmount;
 *   <li>{@link #runCrashRecovery} the take-over after a crash, by a standby fspd ({@link StandbyRehearsal}): mount,
 *       change the namespace and data and fsync (with a file unlinked while open), copy the image as the crash would
 *       leave it, then mount the copy, which replays the journal and keeps the orphan, and use it.
 * </ul>
 *
 * <p>Why: the new version's classes live in a class loader of their own (a standby JVM's, for a crash), so none of
 * their code has run when the pause begins; the first run of a method pays for resolving its constant pool, linking
 * its call sites and allocating its caches, which made a mount from a hand-off on the RAM device cost 6-40 ms. After a
 * rehearsal the same mount only does its work. The scratch images are sparse temporary files, deleted afterwards;
 * nothing touches the real device.
 */
final class HandOverRehearsal {

    private static final Logger LOG = LoggerFactory.getLogger(HandOverRehearsal.class);
    private static final long SCRATCH_BYTES = 16L << 20;
    private static final FsCore.Options SCRATCH_OPTIONS = new FsCore.Options(4L << 20, 0, 0);

    private HandOverRehearsal() {}

    /** Runs {@code rounds} hand-over rehearsals; returns how long they took, ns. Failures are logged, never thrown. */
    static long run(int rounds) {
        long start = System.nanoTime();
        Path image = null;
        try {
            image = scratchImage();
            for (int i = 0; i < rounds && !Thread.currentThread().isInterrupted(); i++) {
                rehearseOnce(image, i == 0);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("hand-over rehearsal failed (the real hand-over is not affected): {}", e.toString());
        } finally {
            delete(image);
        }
        return System.nanoTime() - start;
    }

    /**
     * Runs {@code rounds} rehearsals of a mount after a crash; returns how many transactions the last replay found
     * (0 would mean the rehearsal missed the replay). Failures are logged, never thrown (then -1).
     */
    static int runCrashRecovery(int rounds) {
        Path image = null;
        Path crashed = null;
        int replayed = -1;
        try {
            image = scratchImage();
            crashed = Files.createTempFile("fsp-fs-rehearsal-crashed-", ".img");
            for (int i = 0; i < rounds && !Thread.currentThread().isInterrupted(); i++) {
                replayed = rehearseCrashOnce(image, crashed, i == 0);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("crash-recovery rehearsal failed (a real take-over is not affected): {}", e.toString());
            replayed = -1;
        } finally {
            delete(image);
            delete(crashed);
        }
        return replayed;
    }

    private static Path scratchImage() throws IOException {
        Path image = Files.createTempFile("fsp-fs-rehearsal-", ".img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(SCRATCH_BYTES);
        }
        return image;
    }

    private static void delete(Path image) {
        if (image != null) {
            try {
                Files.deleteIfExists(image);
            } catch (IOException e) {
                LOG.debug("scratch image {} not deleted: {}", image, e.toString());
            }
        }
    }

    /** One crash and recovery; returns the transactions the mount of the crashed copy replayed. */
    private static int rehearseCrashOnce(Path image, Path crashed, boolean format) throws IOException {
        Credentials who = Credentials.ROOT;
        FileBlockDevice device = new FileBlockDevice(image, false);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(4096, 4096);
            DirectBlockScheduler scheduler = new DirectBlockScheduler(device);
            if (format) {
                BlockIo io = new BlockIo(scheduler);
                Formatter.format(io, io.blockCount(), 0);
            }
            FsCore fs = FsCore.mount(scheduler, SCRATCH_OPTIONS);
            fs.mkdir(who, "/d", 0755);
            long h = fs.open(who, "/d/a", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
            fs.pwrite(who, h, 0, data);
            fs.rename(who, "/d/a", "/d/b");
            long orphan = fs.open(who, "/d/orphan", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
            fs.unlink(who, "/d/orphan");
            fs.fsync(who, h);
            // The image as a kill -9 here leaves it: committed transactions in the journal, no checkpoint, not clean.
            Files.copy(image, crashed, StandardCopyOption.REPLACE_EXISTING);
            fs.close(who, orphan);
            fs.close(who, h);
            fs.unlink(who, "/d/b");
            fs.rmdir(who, "/d");
            fs.unmount();
        } finally {
            device.close();
        }
        FileBlockDevice copy = new FileBlockDevice(crashed, false);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(4096, 4096);
            FsCore after = FsCore.mount(new DirectBlockScheduler(copy), SCRATCH_OPTIONS);
            int replayed = ((Number) after.status().get("recovery.replayed")).intValue();
            long h = after.open(who, "/d/b", OpenFlags.O_RDWR, 0);
            after.pread(who, h, 0, data);
            after.close(who, h);
            after.stat(who, "/d");
            after.unmount();
            return replayed;
        } finally {
            copy.close();
        }
    }

    private static void rehearseOnce(Path image, boolean format) throws IOException {
        FileBlockDevice device = new FileBlockDevice(image, false);
        try (Arena arena = Arena.ofConfined()) {
            DirectBlockScheduler scheduler = new DirectBlockScheduler(device);
            if (format) {
                BlockIo io = new BlockIo(scheduler);
                Formatter.format(io, io.blockCount(), 0);
            }
            MemorySegment data = arena.allocate(4096, 4096);
            Credentials who = Credentials.ROOT;
            FsCore fs = FsCore.mount(scheduler, SCRATCH_OPTIONS);
            long h = fs.open(who, "/rehearsal", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
            fs.pwrite(who, h, 0, data);
            fs.fsync(who, h);
            fs.stat(who, "/rehearsal");
            FileSystemHandoff handoff = fs.quiesce(Map.of());
            FsCore again =
                    FsCore.mount(scheduler, SCRATCH_OPTIONS, () -> System.currentTimeMillis() * 1_000_000L, handoff);
            again.pread(who, h, 0, data);
            again.close(who, h);
            again.unmount();
        } finally {
            device.close();
        }
    }
}
