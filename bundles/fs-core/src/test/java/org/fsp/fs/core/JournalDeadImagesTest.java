package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.testing.RecordingBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint writes home only the committed images that are still alive: a block freed by a durable transaction
 * (here the journaled data of a file deleted before the checkpoint) is dropped, and the image mounts clean.
 */
class JournalDeadImagesTest {

    private static final Credentials ROOT = Credentials.ROOT;

    @TempDir
    Path shadowDir;

    @Test
    void shouldNotWriteHomeTheJournaledDataOfAFileDeletedBeforeTheCheckpoint() throws Exception {
        RecordingBlockDeviceTestDouble d = new RecordingBlockDeviceTestDouble(4096);
        TestFs.format(d);
        // With the shadow, a commit that must only outlive the process journals the new blocks of a file.
        FsCore fs = FsCore.mount(new DirectBlockScheduler(d), TestFs.options().withJournalShadow(shadowDir));
        long journalStart = fs.geometry.journalStart();
        long journalEnd = journalStart + fs.journal.length();
        byte[] gone = randomBlocks(4, 1);
        byte[] kept = randomBlocks(4, 2);
        d.startRecording();
        TestFs.writeFile(fs, ROOT, "/gone", gone);
        TestFs.writeFile(fs, ROOT, "/kept", kept);
        fs.mkdir(ROOT, "/d", 0755);
        fs.commitChanges();
        assertTrue(fs.journal.dataBlocksJournaled() >= 8, "both files' blocks travel in the journal");
        long dropped = fs.journal.deadImagesDropped();
        fs.unlink(ROOT, "/gone");
        fs.sync();
        fs.journal.checkpointNow();

        assertEquals(4, fs.journal.deadImagesDropped() - dropped, "the deleted file's four blocks");
        assertEquals(0, homeWritesOf(d, gone, journalStart, journalEnd), "none of the deleted data went home");
        // The test can fail: the live file's blocks do go home.
        assertEquals(4, homeWritesOf(d, kept, journalStart, journalEnd), "the live file's blocks went home");
        fs.unmount();

        assertEquals(List.of(), TestFs.fsck(d));
        FsCore again = TestFs.mount(d);
        assertArrayEquals(kept, TestFs.readFile(again, ROOT, "/kept"));
        assertEquals(Errno.ENOENT, errno(() -> again.stat(ROOT, "/gone")));
        again.unmount();
    }

    private static byte[] randomBlocks(int blocks, long seed) {
        byte[] data = new byte[blocks * 4096];
        new Random(seed).nextBytes(data);
        return data;
    }

    /** Recorded writes outside the journal whose contents are one of {@code data}'s blocks. */
    private static int homeWritesOf(RecordingBlockDeviceTestDouble d, byte[] data, long journalStart, long journalEnd) {
        int n = 0;
        for (int i = 0; i < d.events(); i++) {
            RecordingBlockDeviceTestDouble.Event e = d.event(i);
            if (e.isFlush() || (e.block() >= journalStart && e.block() < journalEnd)) {
                continue;
            }
            for (int k = 0; k < data.length / 4096; k++) {
                if (Arrays.equals(e.data(), 0, 4096, data, k * 4096, (k + 1) * 4096)) {
                    n++;
                }
            }
        }
        return n;
    }

    private static Errno errno(FsCall call) {
        try {
            call.run();
            throw new AssertionError("expected an error");
        } catch (FsException e) {
            return e.errno();
        }
    }

    @FunctionalInterface
    private interface FsCall {
        void run() throws FsException;
    }
}
