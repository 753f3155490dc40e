package org.fsp.fs.core;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * A dress rehearsal of a hand-over, run by a version standing by before the real one: format a small scratch image,
 * mount it, write and fsync, quiesce into a hand-off, mount again from it, read, close, unmount.
 *
 * <p>Why: the new version's classes live in a class loader of their own, so none of their code has run when the pause
 * begins; the first run of a method pays for resolving its constant pool, linking its call sites and allocating its
 * caches, which made a mount from a hand-off on the RAM device cost 6-40 ms. After a rehearsal the same mount only does
 * its work. The scratch image is a sparse temporary file, deleted afterwards; nothing touches the real device.
 */
final class HandOverRehearsal {

    private static final Logger LOG = LoggerFactory.getLogger(HandOverRehearsal.class);
    private static final long SCRATCH_BYTES = 16L << 20;
    private static final FsCore.Options SCRATCH_OPTIONS = new FsCore.Options(4L << 20, 0, 0);

    private HandOverRehearsal() {}

    /** Runs {@code rounds} rehearsals; returns how long they took, ns. Failures are logged, never thrown. */
    static long run(int rounds) {
        long start = System.nanoTime();
        Path image = null;
        try {
            image = Files.createTempFile("fsp-fs-rehearsal-", ".img");
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(SCRATCH_BYTES);
            }
            for (int i = 0; i < rounds && !Thread.currentThread().isInterrupted(); i++) {
                rehearseOnce(image, i == 0);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("hand-over rehearsal failed (the real hand-over is not affected): {}", e.toString());
        } finally {
            if (image != null) {
                try {
                    Files.deleteIfExists(image);
                } catch (IOException e) {
                    LOG.debug("scratch image {} not deleted: {}", image, e.toString());
                }
            }
        }
        return System.nanoTime() - start;
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
