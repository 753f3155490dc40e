package org.fsp.fs.core.provenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.fsp.fs.core.tools.FileBlockDevice;
import org.fsp.fs.core.tools.Formatter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Provenance on a real file system: recorded through fs-core's observer, queried as {@code fsp:provenance} prints it,
 * carried from one version with provenance to the next through the hand-off, and absent after a plain fs-core.
 */
class ProvenanceFeatureTest {

    private static final Credentials CLIENT = new Credentials(4321, 0, 0, new int[0]);
    private static final Credentials OTHER = new Credentials(8765, 0, 0, new int[0]);
    private static final FsCore.Options OPTIONS = new FsCore.Options(1L << 20, 0, 0);

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(1_700_000_000_000L);

    private ProvenanceFeature feature() {
        return new ProvenanceFeature(new ProvenanceTracker(clock::get, pid -> pid == 4321 ? "writer" : "other"));
    }

    private DirectBlockScheduler device() throws IOException {
        Path image = dir.resolve("fs.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(16L << 20);
        }
        DirectBlockScheduler s = new DirectBlockScheduler(new FileBlockDevice(image, false));
        Formatter.format(new BlockIo(s), (16L << 20) / 4096, 0);
        return s;
    }

    private static FsCore mount(DirectBlockScheduler s, ProvenanceFeature f, FileSystemHandoff handoff)
            throws IOException {
        FsCore fs = FsCore.mount(s, OPTIONS, System::nanoTime, handoff, f.observer());
        if (handoff != null) {
            f.adopt(handoff.extensions());
        }
        return fs;
    }

    @Test
    void shouldNameCreatorAndLastWriterAndCarryThemToTheNextVersion() throws Exception {
        DirectBlockScheduler s = device();
        ProvenanceFeature v2 = feature();
        FsCore fs = mount(s, v2, null);
        long h = fs.open(CLIENT, "/notes", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        fs.write(OTHER, h, MemorySegment.ofArray(new byte[10]));
        ProvenanceCommands shell = new ProvenanceCommands(fs, tracker(v2));

        String line = shell.provenance("/notes");
        assertTrue(line.startsWith("/notes: created by pid 4321 (writer) uid 0 at "), line);
        assertTrue(line.contains("; last written by pid 8765 (other) uid 0 at "), line);
        assertTrue(shell.provenance("/").contains("nothing recorded"), shell.provenance("/"));
        assertTrue(shell.provenance("/missing").contains("ENOENT"), shell.provenance("/missing"));
        Map<String, Object> status = new LinkedHashMap<>();
        v2.addStatus(status);
        assertTrue(String.valueOf(status.get("provenance")).startsWith("1 files tracked since "), status.toString());

        FileSystemHandoff handoff = fs.quiesce(v2::handOver);
        ProvenanceFeature next = feature();
        FsCore fs2 = mount(s, next, handoff);
        ProvenanceCommands shell2 = new ProvenanceCommands(fs2, tracker(next));
        assertEquals(line, shell2.provenance("/notes"), "the records crossed the hand-off");

        FileSystemHandoff toPlain = fs2.quiesce(Map.of());
        ProvenanceFeature afterDowngrade = feature();
        FsCore fs3 = mount(s, afterDowngrade, toPlain);
        ProvenanceCommands shell3 = new ProvenanceCommands(fs3, tracker(afterDowngrade));
        assertTrue(shell3.provenance("/notes").contains("nothing recorded"), "a version without provenance drops it");
        fs3.write(CLIENT, h, MemorySegment.ofArray(new byte[1]));
        assertTrue(
                shell3.provenance("/notes").contains("created before provenance tracking began"),
                shell3.provenance("/notes"));
        fs3.close(CLIENT, h);
        fs3.unmount();
    }

    private static ProvenanceTracker tracker(ProvenanceFeature f) {
        return (ProvenanceTracker) f.observer();
    }
}
