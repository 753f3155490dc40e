package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.LosingWritesDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's shadow: a change that only has to survive a crash of this process is answered once it is in the
 * shadow, before its device write, and the next mount restores it; a flush is needed only for a power loss.
 */
class JournalShadowTest {

    private static final Credentials ROOT = Credentials.ROOT;

    @TempDir
    Path shadowDir;

    private FsCore mount(HeapBlockDeviceTestDouble d, Path shadow) throws Exception {
        return FsCore.mount(new DirectBlockScheduler(d), TestFs.options().withJournalShadow(shadow));
    }

    @Test
    void shouldRestoreAChangeWhoseDeviceWriteWasLostFromTheShadow() throws Exception {
        LosingWritesDeviceTestDouble d = new LosingWritesDeviceTestDouble(4096);
        TestFs.format(d);
        FsCore fs = mount(d, shadowDir);
        fs.mkdir(ROOT, "/kept", 0755);
        fs.sync();
        d.losing = true;
        int flushesBefore = d.flushes.get();
        fs.mkdir(ROOT, "/answered", 0755);
        fs.commitChanges();
        assertEquals(flushesBefore, d.flushes.get(), "a change that must only outlive the process needs no flush");

        // Without the shadow the next process would not find the change (the test can fail)...
        FsCore withoutShadow = TestFs.mount(d.afterCrash());
        assertEquals(Errno.ENOENT, errno(() -> withoutShadow.stat(ROOT, "/answered")));
        withoutShadow.unmount();
        // ...with it, it does, and the image is consistent.
        HeapBlockDeviceTestDouble next = d.afterCrash();
        FsCore recovered = mount(next, shadowDir);
        assertTrue(recovered.stat(ROOT, "/answered").isDirectory());
        assertTrue(recovered.stat(ROOT, "/kept").isDirectory());
        recovered.unmount();
        assertEquals(java.util.List.of(), TestFs.fsck(next));
        assertFalse(Files.exists(JournalShadowFiles.only(shadowDir)), "a clean unmount removes the shadow");
        fs.unmount();
    }

    @Test
    void shouldAnswerAChangeWithOrderedDataWithoutWritingTheDataAndRestoreItWithTheDataFromTheShadow()
            throws Exception {
        LosingWritesDeviceTestDouble d = new LosingWritesDeviceTestDouble(4096);
        TestFs.format(d);
        FsCore fs = mount(d, shadowDir);
        byte[] data = new byte[3 * 4096 + 100];
        new java.util.Random(7).nextBytes(data);
        // The file's new blocks are ordered data of the running transaction, which the mkdir's commit carries.
        TestFs.writeFile(fs, ROOT, "/data", data);
        // From here on nothing reaches the device: what the answer promises must be in the shadow, data included.
        d.losing = true;
        int before = d.flushes.get();
        long journaledBefore = fs.journal.dataBlocksJournaled();
        fs.mkdir(ROOT, "/after-data", 0755);
        fs.commitChanges();
        assertEquals(before, d.flushes.get(), "ordered data that must only outlive the process needs no flush");
        assertEquals(4, fs.journal.dataBlocksJournaled() - journaledBefore, "the file's blocks travel in the journal");

        // The device has neither the file nor the directory...
        FsCore withoutShadow = TestFs.mount(d.afterCrash());
        assertEquals(Errno.ENOENT, errno(() -> withoutShadow.stat(ROOT, "/after-data")));
        assertEquals(Errno.ENOENT, errno(() -> withoutShadow.stat(ROOT, "/data")));
        withoutShadow.unmount();
        // ...the shadow has both, and the file's data with them.
        HeapBlockDeviceTestDouble next = d.afterCrash();
        FsCore recovered = mount(next, shadowDir);
        assertTrue(recovered.stat(ROOT, "/after-data").isDirectory());
        org.junit.jupiter.api.Assertions.assertArrayEquals(data, TestFs.readFile(recovered, ROOT, "/data"));
        recovered.unmount();
        assertEquals(java.util.List.of(), TestFs.fsck(next));

        // Once the device stores writes again, a sync puts the transaction, data inside, on its journal.
        d.losing = false;
        fs.mkdir(ROOT, "/later", 0755);
        fs.sync();
        FsCore afterSync = TestFs.mount(d.afterCrash());
        assertTrue(afterSync.stat(ROOT, "/later").isDirectory());
        afterSync.unmount();
        fs.unmount();
        assertEquals(java.util.List.of(), TestFs.fsck(d));
    }

    @Test
    void shouldWriteOrderedDataTooLargeToJournalBeforeTheAnswerAndDeferTheDeviceJournal() throws Exception {
        LosingWritesDeviceTestDouble d = new LosingWritesDeviceTestDouble(4096);
        TestFs.format(d);
        FsCore fs = mount(d, shadowDir);
        // More blocks than a quarter of this image's journal: they are written home first, not journaled.
        byte[] data = new byte[(int) (fs.journal.length() / 4 + 8) * 4096];
        new java.util.Random(8).nextBytes(data);
        int before = d.flushes.get();
        long journaledBefore = fs.journal.dataBlocksJournaled();
        TestFs.writeFile(fs, ROOT, "/data", data);
        fs.mkdir(ROOT, "/after-data", 0755);
        fs.commitChanges();
        assertEquals(before, d.flushes.get(), "ordered data that must only outlive the process needs no flush");
        assertEquals(journaledBefore, fs.journal.dataBlocksJournaled(), "too many blocks to journal");

        // The device's journal does not have the transaction yet (it waits for a flush behind its data)...
        FsCore withoutShadow = TestFs.mount(d.afterCrash());
        assertEquals(Errno.ENOENT, errno(() -> withoutShadow.stat(ROOT, "/after-data")));
        withoutShadow.unmount();
        // ...the shadow does, and the data it points at was written before the answer.
        HeapBlockDeviceTestDouble next = d.afterCrash();
        FsCore recovered = mount(next, shadowDir);
        assertTrue(recovered.stat(ROOT, "/after-data").isDirectory());
        org.junit.jupiter.api.Assertions.assertArrayEquals(data, TestFs.readFile(recovered, ROOT, "/data"));
        recovered.unmount();
        assertEquals(java.util.List.of(), TestFs.fsck(next));

        // A sync puts the deferred transaction on the device's journal, behind a flush of its data.
        fs.sync();
        FsCore afterSync = TestFs.mount(d.afterCrash());
        assertTrue(afterSync.stat(ROOT, "/after-data").isDirectory());
        afterSync.unmount();
        fs.unmount();
    }

    @Test
    void shouldFlushOnlyWhenASyncAsksForIt() throws Exception {
        LosingWritesDeviceTestDouble d = new LosingWritesDeviceTestDouble(4096);
        TestFs.format(d);
        FsCore fs = mount(d, shadowDir);
        int before = d.flushes.get();
        for (int i = 0; i < 3; i++) {
            fs.mkdir(ROOT, "/d" + i, 0755);
            fs.commitChanges();
        }
        assertEquals(before, d.flushes.get(), "changes that must outlive the process, no flush");
        fs.sync();
        assertTrue(d.flushes.get() > before, "sync flushes what was only written");
        fs.unmount();
        assertEquals(java.util.List.of(), TestFs.fsck(d));
    }

    @Test
    void shouldRefuseAShadowOthersMayWrite() throws Exception {
        LosingWritesDeviceTestDouble d = new LosingWritesDeviceTestDouble(4096);
        TestFs.format(d);
        FsCore first = mount(d, shadowDir);
        d.losing = true;
        first.mkdir(ROOT, "/x", 0755);
        first.commitChanges();
        Path file = JournalShadowFiles.only(shadowDir);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
        // Anyone could have written it, so it is not written onto the device: the mount goes on without it.
        HeapBlockDeviceTestDouble next = d.afterCrash();
        FsCore second = mount(next, shadowDir);
        assertEquals(Errno.ENOENT, errno(() -> second.stat(ROOT, "/x")));
        second.unmount();
        assertEquals(java.util.List.of(), TestFs.fsck(next));
        d.losing = false;
        first.unmount();
    }

    private static Errno errno(ThrowingCall c) {
        FsException e = assertThrows(FsException.class, c::run);
        return e.errno();
    }

    @FunctionalInterface
    private interface ThrowingCall {
        void run() throws Exception;
    }

    /** The one shadow file a test's directory holds. */
    private static final class JournalShadowFiles {
        static Path only(Path dir) throws java.io.IOException {
            try (var s = Files.list(dir)) {
                return s.findFirst().orElse(dir.resolve("none"));
            }
        }
    }
}
