package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.ipc.fuse.FuseAbi.Dirent;
import org.fsp.ipc.fuse.FuseAbi.DirentPlus;
import org.fsp.ipc.fuse.FuseAbi.OutHeader;
import org.fsp.ipc.fuse.FuseReply.Entry;
import org.fsp.ipc.fuse.FuseRequest.Readdir;

/**
 * READDIR and READDIRPLUS pages, written in place after the reply header. Offsets: 1 after ".", 2 after "..", and
 * fs-core's cookie + 2 after each of its entries (its cookies start at 1), so a READDIR that continues at offset
 * {@code o} resumes fs-core at cookie {@code o - 2}. An entry that does not fit ends the page; READDIRPLUS counts a
 * lookup only for entries sent.
 */
final class DirectoryPages {

    /** Directory entries asked of fs-core per READDIR page. */
    private static final int READDIR_BATCH = 128;

    private static final byte[] DOT = {'.'};
    private static final byte[] DOTDOT = {'.', '.'};

    private final NodePaths paths;

    DirectoryPages(NodePaths paths) {
        this.paths = paths;
    }

    /** One page of the directory {@code d} names, written into {@code out}. */
    FuseReply readdir(FileSystemService fs, Credentials who, Readdir d, MemorySegment out) throws FsException {
        String dir = paths.pathOrNull(fs, d.header().nodeId());
        if (dir == null) {
            return new FuseReply.InPlace(0);
        }
        long limit = Math.min(d.size(), out.byteSize() - OutHeader.SIZE);
        MemorySegment body = out.asSlice(OutHeader.SIZE, limit);
        int used = 0;
        long offset = d.offset();
        if (offset < 2) {
            FileAttributes self = fs.lstat(who, dir);
            if (offset == 0) {
                int n = putDirent(body, used, d.plus(), self.ino(), 1, FileMode.S_IFDIR, DOT);
                if (n < 0) {
                    return new FuseReply.InPlace(used);
                }
                used += n;
            }
            long parentIno =
                    dir.equals("/") ? self.ino() : fs.lstat(who, parentOf(dir)).ino();
            int n = putDirent(body, used, d.plus(), parentIno, 2, FileMode.S_IFDIR, DOTDOT);
            if (n < 0) {
                return new FuseReply.InPlace(used);
            }
            used += n;
            offset = 2;
        }
        long cookie = offset - 2;
        int direntAt = d.plus() ? DirentPlus.DIRENT : 0;
        while (true) {
            List<DirEntry> page = fs.readdir(who, dir, cookie, READDIR_BATCH);
            if (page.isEmpty()) {
                return new FuseReply.InPlace(used);
            }
            for (DirEntry e : page) {
                byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
                int size = d.plus() ? DirentPlus.size(name.length) : Dirent.size(name.length);
                if (used + size > limit) {
                    return new FuseReply.InPlace(used);
                }
                if (d.plus()) {
                    String p = NodeTable.child(dir, e.name());
                    FileAttributes a;
                    try {
                        a = fs.lstat(who, p);
                    } catch (FsException gone) {
                        cookie = e.cookie();
                        continue;
                    }
                    FuseReply.putEntry(body, used, paths.entry(fs, p, a));
                }
                used += putDirentAt(body, used + direntAt, e.ino(), e.cookie() + 2, e.mode(), name) + direntAt;
                cookie = e.cookie();
            }
        }
    }

    /** A "." or ".." entry; in READDIRPLUS with node id 0, which the kernel takes as "no attributes". */
    private static int putDirent(MemorySegment body, int at, boolean plus, long ino, long off, int mode, byte[] name) {
        int size = plus ? DirentPlus.size(name.length) : Dirent.size(name.length);
        if (at + size > body.byteSize()) {
            return -1;
        }
        if (plus) {
            FuseReply.putEntry(body, at, new Entry(0, null, 0, 0));
            return DirentPlus.DIRENT + putDirentAt(body, at + DirentPlus.DIRENT, ino, off, mode, name);
        }
        return putDirentAt(body, at, ino, off, mode, name);
    }

    /** Writes one {@code fuse_dirent}, zero-padded to 8 bytes; returns its size. */
    private static int putDirentAt(MemorySegment body, long at, long ino, long off, int mode, byte[] name) {
        int size = Dirent.size(name.length);
        body.set(JAVA_LONG, at + Dirent.INO, ino);
        body.set(JAVA_LONG, at + Dirent.OFF, off);
        body.set(JAVA_INT, at + Dirent.NAMELEN, name.length);
        body.set(JAVA_INT, at + Dirent.TYPE, (mode & FileMode.S_IFMT) >>> 12);
        MemorySegment.copy(name, 0, body, JAVA_BYTE, at + Dirent.NAME, name.length);
        body.asSlice(at + Dirent.NAME + name.length, size - Dirent.NAME - name.length)
                .fill((byte) 0);
        return size;
    }

    private static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }
}
