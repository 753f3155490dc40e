package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.fs.ChangeListener;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** FsCore tells its change listeners of new names, removals, renames (by directory inode and name) and inode changes. */
class ChangeListenerTest {

    private static final Credentials ROOT = Credentials.ROOT;

    /** Records every call as a line. */
    private static final class RecordingListenerTestDouble implements ChangeListener {
        final List<String> calls = new ArrayList<>();

        @Override
        public synchronized void created(long dirIno, String name) {
            calls.add("created " + dirIno + " " + name);
        }

        @Override
        public synchronized void removed(long dirIno, String name) {
            calls.add("removed " + dirIno + " " + name);
        }

        @Override
        public synchronized void renamed(
                long fromDirIno, String fromName, long toDirIno, String toName, boolean directory, boolean exchange) {
            calls.add("renamed " + fromDirIno + " " + fromName + " " + toDirIno + " " + toName + " " + directory + " "
                    + exchange);
        }

        @Override
        public synchronized void changed(long ino) {
            calls.add("changed " + ino);
        }
    }

    private FsCore fs;
    private final RecordingListenerTestDouble listener = new RecordingListenerTestDouble();
    private long d;
    private long e;

    @BeforeEach
    void mount() throws Exception {
        fs = TestFs.formatAndMount(new HeapBlockDeviceTestDouble(2048));
        fs.mkdir(ROOT, "/d", 0755);
        fs.mkdir(ROOT, "/e", 0755);
        TestFs.writeFile(fs, ROOT, "/d/f", TestFs.utf8("x"));
        d = fs.stat(ROOT, "/d").ino();
        e = fs.stat(ROOT, "/e").ino();
        fs.addChangeListener(listener);
    }

    @Test
    void shouldNameRenamesByDirectoryInodeEvenThroughASymlinkOrDotDot() throws Exception {
        fs.symlink(ROOT, "/d", "/link");
        listener.calls.clear();
        fs.rename(ROOT, "/link/f", "/e/../e/g");
        assertTrue(listener.calls.contains("renamed " + d + " f " + e + " g false false"), listener.calls.toString());
        fs.rename(ROOT, "/d", "/e/sub");
        assertTrue(listener.calls.contains("renamed 1 d " + e + " sub true false"), listener.calls.toString());
        TestFs.writeFile(fs, ROOT, "/x", TestFs.utf8("x"));
        fs.rename(ROOT, "/x", "/e/g", FileSystemService.RENAME_EXCHANGE);
        assertTrue(listener.calls.contains("renamed 1 x " + e + " g false true"), listener.calls.toString());
    }

    @Test
    void shouldTellEveryNewNameByItsDirectoryInode() throws Exception {
        listener.calls.clear();
        fs.close(ROOT, fs.open(ROOT, "/d/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644));
        fs.mkdir(ROOT, "/e/sub", 0755);
        fs.symlink(ROOT, "/d/new", "/e/sym");
        fs.link(ROOT, "/d/f", "/e/hard");
        assertTrue(listener.calls.contains("created " + d + " new"), listener.calls.toString());
        assertTrue(listener.calls.contains("created " + e + " sub"), listener.calls.toString());
        assertTrue(listener.calls.contains("created " + e + " sym"), listener.calls.toString());
        assertTrue(listener.calls.contains("created " + e + " hard"), listener.calls.toString());
        listener.calls.clear();
        fs.close(ROOT, fs.open(ROOT, "/d/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644));
        assertTrue(listener.calls.stream().noneMatch(c -> c.startsWith("created")), listener.calls.toString());
    }

    @Test
    void shouldTellRemovalsAndChanges() throws Exception {
        long f = fs.stat(ROOT, "/d/f").ino();
        long h = fs.open(ROOT, "/d/f", OpenFlags.O_RDWR, 0);
        listener.calls.clear();
        fs.pwrite(ROOT, h, 0, MemorySegment.ofArray(new byte[3]));
        fs.ftruncate(ROOT, h, 1);
        fs.chmod(ROOT, "/d/f", 0600);
        fs.setxattr(ROOT, "/d/f", "user.a", new byte[1], 0, true);
        assertEquals(List.of("changed " + f, "changed " + f, "changed " + f, "changed " + f), listener.calls);
        listener.calls.clear();
        fs.close(ROOT, h);
        fs.unlink(ROOT, "/d/f");
        assertEquals(List.of("changed " + d, "removed " + d + " f"), listener.calls);
        listener.calls.clear();
        fs.rmdir(ROOT, "/e");
        assertEquals(List.of("changed 1", "removed 1 e"), listener.calls);
    }

    @Test
    void shouldStopTellingARemovedListener() throws Exception {
        fs.removeChangeListener(listener);
        fs.unlink(ROOT, "/d/f");
        assertEquals(List.of(), listener.calls);
    }
}
