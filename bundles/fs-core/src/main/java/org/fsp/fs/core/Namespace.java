package org.fsp.fs.core;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.inode.NoSpaceException;
import org.fsp.fs.core.journal.HaltPoints;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;

/**
 * The operations on names: mkdir, rmdir, unlink, link, symlink, readlink, rename (with RENAME_NOREPLACE and
 * RENAME_EXCHANGE) and readdir, on the mounted file system ({@link FsCore}, which owns the caches, the tables and the
 * journal, and answers for this class behind its {@link org.fsp.api.fs.FileSystemService} facade).
 *
 * <p>A typical operation runs inside {@link FsCore#perform} (counted in for a hand-over, device errors mapped to
 * errno) and one journal transaction ({@link FsCore#run}); it resolves the parent, takes the directory's lock (parents
 * before children, a cross-directory rename under the rename lock, unrelated inodes by ascending number, never across a
 * commit), checks permissions and the sticky bit, changes entries and link counts, and tells the change listeners.
 *
 * <p>Its length (about 600 lines): rename (with RENAME_EXCHANGE) is about half of it, and every operation here takes
 * its locks in the order above and checks permissions, the sticky bit and link counts the same way; kept together, one
 * lock order and one set of Linux's errnos is seen to hold for all of them. Path walks are {@link PathResolver}'s,
 * permission rules {@link Access}'s, opening and creating files {@link OpenFiles}', and the directory indexes those of
 * {@code org.fsp.fs.core.dir}.
 */
final class Namespace {

    private final FsCore fs;

    Namespace(FsCore fs) {
        this.fs = fs;
    }

    void mkdir(Credentials who, String path, int mode) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> {
                PathResolver.Parent p = lockForNewName(who, path, true);
                try {
                    if (p.dir().nlink >= FsCore.LINK_MAX) {
                        throw new FsException(Errno.EMLINK, path);
                    }
                    fs.createIn(tx, who, p.dir(), p.name(), FileMode.S_IFDIR | (mode & 01777));
                } finally {
                    p.dir().lock.unlock();
                }
                return null;
            });
        });
    }

    /**
     * mknod(2): a FIFO, socket or device node (or an empty regular file) at {@code path}, checked in Linux's order:
     * the type (EPERM for a directory, EINVAL for no known type), then the name (EEXIST, ENOENT, EACCES), then the
     * privilege a device node needs (EPERM unless root).
     */
    void mknod(Credentials who, String path, int mode, int rdev) throws FsException {
        fs.perform(() -> {
            int type = mode & FileMode.S_IFMT;
            if (type == FileMode.S_IFDIR) {
                throw new FsException(Errno.EPERM, "mknod of a directory: " + path);
            }
            if (type != 0 && type != FileMode.S_IFREG && !FileMode.isSpecial(type)) {
                throw new FsException(Errno.EINVAL, "mknod of type 0" + Integer.toOctalString(type));
            }
            boolean device = type == FileMode.S_IFCHR || type == FileMode.S_IFBLK;
            fs.run(tx -> {
                PathResolver.Parent p = lockForNewName(who, path, false);
                try {
                    if (device && !who.isRoot()) {
                        throw new FsException(Errno.EPERM, "mknod of a device node: " + path);
                    }
                    int made = (type == 0 ? FileMode.S_IFREG : type) | (mode & FileMode.PERMISSION_MASK);
                    fs.createIn(tx, who, p.dir(), p.name(), made, device ? rdev : 0);
                } finally {
                    p.dir().lock.unlock();
                }
                return null;
            });
        });
    }

    /**
     * The parent of a name about to be made, with its directory locked (the caller unlocks it): EEXIST for "." or
     * ".." or a name that exists, ENOENT for a trailing slash unless {@code directory}, EACCES without write and
     * search permission on the directory.
     */
    private PathResolver.Parent lockForNewName(Credentials who, String path, boolean directory) throws IOException {
        PathResolver.Parent p = fs.paths.resolveParent(who, path);
        if (FsCore.isDotName(p.name())) {
            throw new FsException(Errno.EEXIST, path);
        }
        fs.lockLiveDir(p.dir(), path);
        try {
            if (fs.paths.child(p.dir(), p.name()) != null) {
                throw new FsException(Errno.EEXIST, path);
            }
            if (!directory && p.trailingSlash()) {
                throw new FsException(Errno.ENOENT, path);
            }
            Access.check(who, p.dir(), Access.WRITE | Access.EXEC, path);
            return p;
        } catch (IOException | RuntimeException e) {
            p.dir().lock.unlock();
            throw e;
        }
    }

    void rmdir(Credentials who, String path) throws FsException {
        rmdirAt(who, null, path);
    }

    void unlinkat(Credentials who, long dirHandle, String path, int flags) throws FsException {
        if ((flags & ~FileSystemService.AT_REMOVEDIR) != 0) {
            throw new FsException(Errno.EINVAL, "unlinkat flags " + flags);
        }
        Inode base = fs.baseOf(dirHandle);
        if ((flags & FileSystemService.AT_REMOVEDIR) != 0) {
            rmdirAt(who, base, path);
        } else {
            unlinkAt(who, base, path);
        }
    }

    private void rmdirAt(Credentials who, Inode base, String path) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> {
                PathResolver.Parent p = fs.paths.resolveParent(who, base, path);
                if (p.name().isEmpty()) {
                    throw new FsException(Errno.EBUSY, path);
                }
                if (p.name().equals(".")) {
                    throw new FsException(Errno.EINVAL, path);
                }
                if (p.name().equals("..")) {
                    throw new FsException(Errno.ENOTEMPTY, path);
                }
                fs.lockLiveDir(p.dir(), path);
                long removedIno;
                try {
                    Inode c = fs.paths.child(p.dir(), p.name());
                    if (c == null) {
                        throw new FsException(Errno.ENOENT, path);
                    }
                    removedIno = c.ino;
                    Access.check(who, p.dir(), Access.WRITE | Access.EXEC, path);
                    if (!Access.stickyAllows(who, p.dir(), c)) {
                        throw new FsException(Errno.EPERM, path);
                    }
                    if (!c.isDirectory()) {
                        throw new FsException(Errno.ENOTDIR, path);
                    }
                    c.lock.lock();
                    try {
                        if (!fs.paths.dir(c).isEmpty()) {
                            throw new FsException(Errno.ENOTEMPTY, path);
                        }
                        fs.paths.dir(p.dir()).remove(tx, p.name());
                        p.dir().nlink--;
                        long now = fs.now();
                        fs.touchDir(tx, p.dir(), now);
                        c.nlink = 0;
                        c.ctime = now;
                        if (c.openCount > 0) {
                            fs.table.store(tx, c, false);
                        }
                        fs.maybeDestroy(tx, c);
                    } finally {
                        c.lock.unlock();
                    }
                } finally {
                    p.dir().lock.unlock();
                }
                fs.removed(p.dir(), p.name(), removedIno);
                return null;
            });
        });
    }

    List<DirEntry> readdir(Credentials who, String path, long cookie, int max) throws FsException {
        return fs.call(() -> {
            if (max <= 0 || cookie < 0) {
                throw new FsException(Errno.EINVAL, "readdir max " + max + " cookie " + cookie);
            }
            try {
                return readdirOf(who, fs.paths.resolve(who, path, true), path, cookie, max, true);
            } catch (FsException e) {
                throw e;
            } catch (IOException e) {
                throw fs.ioError(e);
            }
        });
    }

    List<DirEntry> readdir(Credentials who, long dirHandle, long cookie, int max) throws FsException {
        return fs.call(() -> {
            if (max <= 0 || cookie < 0) {
                throw new FsException(Errno.EINVAL, "readdir max " + max + " cookie " + cookie);
            }
            Inode d = fs.handle(dirHandle).inode;
            try {
                return readdirOf(who, d, "handle " + dirHandle, cookie, max, false);
            } catch (FsException e) {
                throw e;
            } catch (IOException e) {
                throw fs.ioError(e);
            }
        });
    }

    /** One page of {@code d}; {@code checkRead}: a lookup by path (a handle was checked when it was opened). */
    private List<DirEntry> readdirOf(Credentials who, Inode d, String path, long cookie, int max, boolean checkRead)
            throws IOException {
        if (!d.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        if (checkRead) {
            Access.check(who, d, Access.READ, path);
        }
        if (d.freed || d.nlink == 0) {
            // Removed while open: Linux lists nothing, and its blocks may be gone.
            return List.of();
        }
        List<DirEntry> page = fs.paths.dir(d).readdir(cookie, max);
        fs.touchAtime(d);
        return page;
    }

    // ---------------------------------------------------------------------------------------------------------
    // unlink, link, symlink, rename

    void unlink(Credentials who, String path) throws FsException {
        unlinkAt(who, null, path);
    }

    private void unlinkAt(Credentials who, Inode base, String path) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> {
                PathResolver.Parent p = fs.paths.resolveParent(who, base, path);
                if (FsCore.isDotName(p.name())) {
                    throw new FsException(Errno.EISDIR, path);
                }
                fs.lockLiveDir(p.dir(), path);
                long removedIno;
                try {
                    Inode c = fs.paths.child(p.dir(), p.name());
                    if (c == null) {
                        throw new FsException(Errno.ENOENT, path);
                    }
                    removedIno = c.ino;
                    if (p.trailingSlash()) {
                        throw new FsException(c.isDirectory() ? Errno.EISDIR : Errno.ENOTDIR, path);
                    }
                    Access.check(who, p.dir(), Access.WRITE | Access.EXEC, path);
                    if (!Access.stickyAllows(who, p.dir(), c)) {
                        throw new FsException(Errno.EPERM, path);
                    }
                    if (c.isDirectory()) {
                        throw new FsException(Errno.EISDIR, path);
                    }
                    c.lock.lock();
                    try {
                        fs.paths.dir(p.dir()).remove(tx, p.name());
                        long now = fs.now();
                        fs.touchDir(tx, p.dir(), now);
                        c.nlink--;
                        c.ctime = now;
                        if (c.nlink > 0 || c.openCount > 0) {
                            fs.table.store(tx, c, false);
                            fs.changed(c);
                        }
                        fs.maybeDestroy(tx, c);
                    } finally {
                        c.lock.unlock();
                    }
                } finally {
                    p.dir().lock.unlock();
                }
                fs.removed(p.dir(), p.name(), removedIno);
                return null;
            });
        });
    }

    void link(Credentials who, String existing, String newPath) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> {
                Inode src = fs.paths.resolve(who, existing, false);
                PathResolver.Parent p = lockForNewName(who, newPath, false);
                try {
                    if (src.isDirectory()) {
                        throw new FsException(Errno.EPERM, existing);
                    }
                    fs.options.linkProtection().checkHardlink(who, src, existing);
                    src.lock.lock();
                    try {
                        if (src.nlink == 0 || src.freed) {
                            throw new FsException(Errno.ENOENT, existing);
                        }
                        if (src.nlink >= FsCore.LINK_MAX) {
                            throw new FsException(Errno.EMLINK, existing);
                        }
                        fs.paths.dir(p.dir()).add(tx, p.name(), src.ino, src.mode);
                        long now = fs.now();
                        src.nlink++;
                        src.ctime = now;
                        fs.table.store(tx, src, false);
                        fs.touchDir(tx, p.dir(), now);
                        fs.changed(src);
                        fs.created(p.dir(), p.name(), src.ino);
                    } finally {
                        src.lock.unlock();
                    }
                } finally {
                    p.dir().lock.unlock();
                }
                return null;
            });
        });
    }

    void symlink(Credentials who, String target, String linkPath) throws FsException {
        fs.perform(() -> {
            if (target == null || target.isEmpty()) {
                throw new FsException(Errno.ENOENT, "empty symlink target");
            }
            byte[] bytes = target.getBytes(StandardCharsets.UTF_8);
            if (bytes.length >= FileSystemService.PATH_MAX) {
                throw new FsException(Errno.ENAMETOOLONG, "symlink target");
            }
            fs.run(tx -> {
                PathResolver.Parent p = lockForNewName(who, linkPath, false);
                try {
                    Inode n = fs.createIn(tx, who, p.dir(), p.name(), FileMode.S_IFLNK | 0777);
                    n.lock.lock();
                    try {
                        try {
                            fs.allocData(tx, who, n, 0, 1);
                        } catch (NoSpaceException e) {
                            fs.paths.dir(p.dir()).remove(tx, p.name());
                            n.nlink = 0;
                            fs.destroy(tx, n);
                            throw e;
                        }
                        long pblk = n.extents.map(0);
                        Buffer b = fs.cache.get(pblk, false);
                        try {
                            b.data().fill((byte) 0);
                            MemorySegment.copy(bytes, 0, b.data(), Layout.BYTE, 0, bytes.length);
                            fs.dataChanged(tx, n, b, pblk);
                        } finally {
                            fs.cache.release(b);
                        }
                        n.size = bytes.length;
                        n.dataSeq = tx.seq();
                        fs.table.store(tx, n, true);
                    } finally {
                        n.lock.unlock();
                    }
                } finally {
                    p.dir().lock.unlock();
                }
                return null;
            });
        });
    }

    String readlink(Credentials who, String path) throws FsException {
        return fs.call(() -> {
            Inode i = fs.paths.resolve(who, path, false);
            if (!i.isSymlink()) {
                throw new FsException(Errno.EINVAL, path);
            }
            return fs.paths.readTarget(i);
        });
    }

    /** True if {@code ancestor} is {@code dir} or one of its ancestors. The rename lock is held. */
    /**
     * True if {@code ancestor} is {@code dir} or on its parent chain. Like Linux's is_subdir the walk has no depth
     * limit of its own (a client may build chains as deep as it likes); only a chain longer than the inode table,
     * which must loop, is corruption.
     */
    private boolean isAncestorOrSelf(Inode ancestor, Inode dir) throws IOException {
        Inode cur = dir;
        for (long steps = 0; steps < fs.geometry.inodeCount(); steps++) {
            if (cur.ino == ancestor.ino) {
                return true;
            }
            if (cur.ino == Geometry.ROOT_INO) {
                return false;
            }
            cur = fs.inode(cur.parent);
        }
        throw new CorruptMetadataException("directory parent chain from " + dir.ino + " loops");
    }

    void rename(Credentials who, String from, String to) throws FsException {
        rename(who, from, to, 0);
    }

    void rename(Credentials who, String from, String to, int flags) throws FsException {
        renameAt(who, null, from, null, to, flags);
    }

    void renameat(Credentials who, long fromDir, String from, long toDir, String to, int flags) throws FsException {
        renameAt(who, fs.baseOf(fromDir), from, fs.baseOf(toDir), to, flags);
    }

    private void renameAt(Credentials who, Inode fromBase, String from, Inode toBase, String to, int flags)
            throws FsException {
        // As renameat2: unknown bits, and NOREPLACE with EXCHANGE, are EINVAL before any lookup. Whiteouts (an
        // overlayfs device) are not supported: EINVAL, as on file systems without them.
        if ((flags & ~(FileSystemService.RENAME_NOREPLACE | FileSystemService.RENAME_EXCHANGE)) != 0
                || flags == (FileSystemService.RENAME_NOREPLACE | FileSystemService.RENAME_EXCHANGE)) {
            throw new FsException(Errno.EINVAL, "rename flags " + flags);
        }
        fs.enter();
        try {
            fs.run(tx -> {
                PathResolver.Parent pf = fs.paths.resolveParent(who, fromBase, from);
                PathResolver.Parent pt = fs.paths.resolveParent(who, toBase, to);
                if (FsCore.isDotName(pf.name()) || FsCore.isDotName(pt.name())) {
                    throw new FsException(Errno.EBUSY, from + " -> " + to);
                }
                boolean cross = pf.dir() != pt.dir();
                if (cross) {
                    fs.renameLock.lock();
                }
                try {
                    HaltPoints.reach("rename");
                    Void done = renameLocked(tx, who, pf, pt, cross, from, to, flags);
                    fs.renamed(pf, pt, (flags & FileSystemService.RENAME_EXCHANGE) != 0);
                    return done;
                } finally {
                    if (cross) {
                        fs.renameLock.unlock();
                    }
                }
            });
        } finally {
            fs.exit();
        }
    }

    private Void renameLocked(
            Transaction tx,
            Credentials who,
            PathResolver.Parent pf,
            PathResolver.Parent pt,
            boolean cross,
            String from,
            String to,
            int flags)
            throws IOException {
        Inode df = pf.dir();
        Inode dt = pt.dir();
        List<Inode> locked = new ArrayList<>();
        try {
            if (!cross) {
                fs.lockLiveDir(df, from);
                locked.add(df);
            } else {
                Inode first;
                Inode second;
                if (isAncestorOrSelf(df, dt)) {
                    first = df;
                    second = dt;
                } else if (isAncestorOrSelf(dt, df)) {
                    first = dt;
                    second = df;
                } else {
                    first = df.ino < dt.ino ? df : dt;
                    second = first == df ? dt : df;
                }
                fs.lockLiveDir(first, from);
                locked.add(first);
                fs.lockLiveDir(second, to);
                locked.add(second);
            }
            Inode src = fs.paths.child(df, pf.name());
            if (src == null) {
                throw new FsException(Errno.ENOENT, from);
            }
            if ((pf.trailingSlash() || pt.trailingSlash()) && !src.isDirectory()) {
                throw new FsException(Errno.ENOTDIR, from);
            }
            Inode dst = fs.paths.child(dt, pt.name());
            if ((flags & FileSystemService.RENAME_NOREPLACE) != 0 && dst != null) {
                throw new FsException(Errno.EEXIST, to);
            }
            if ((flags & FileSystemService.RENAME_EXCHANGE) != 0) {
                if (dst == null) {
                    throw new FsException(Errno.ENOENT, to);
                }
                exchangeLocked(tx, who, pf, pt, src, dst, cross, from, to, locked);
                return null;
            }
            if (cross && src.isDirectory() && isAncestorOrSelf(src, dt)) {
                throw new FsException(Errno.EINVAL, from + " -> " + to);
            }
            if (cross && dst != null && dst.isDirectory() && isAncestorOrSelf(dst, df)) {
                throw new FsException(Errno.ENOTEMPTY, to);
            }
            if (dst != null && dst.ino == src.ino) {
                return null;
            }
            Access.check(who, df, Access.WRITE | Access.EXEC, from);
            if (!Access.stickyAllows(who, df, src)) {
                throw new FsException(Errno.EPERM, from);
            }
            Access.check(who, dt, Access.WRITE | Access.EXEC, to);
            if (dst != null) {
                if (!Access.stickyAllows(who, dt, dst)) {
                    throw new FsException(Errno.EPERM, to);
                }
                if (src.isDirectory() && !dst.isDirectory()) {
                    throw new FsException(Errno.ENOTDIR, to);
                }
                if (!src.isDirectory() && dst.isDirectory()) {
                    throw new FsException(Errno.EISDIR, to);
                }
            }
            if (cross && src.isDirectory()) {
                Access.check(who, src, Access.WRITE, from);
            }
            Inode a = dst == null || src.ino < dst.ino ? src : dst;
            Inode b = a == src ? dst : src;
            a.lock.lock();
            locked.add(a);
            if (b != null) {
                b.lock.lock();
                locked.add(b);
            }
            if (src.freed || (dst != null && dst.freed)) {
                throw new FsException(Errno.ENOENT, from);
            }
            if (dst != null && dst.isDirectory() && !fs.paths.dir(dst).isEmpty()) {
                throw new FsException(Errno.ENOTEMPTY, to);
            }
            if (cross && src.isDirectory() && dst == null && dt.nlink >= FsCore.LINK_MAX) {
                throw new FsException(Errno.EMLINK, to);
            }
            long now = fs.now();
            if (dst != null) {
                fs.paths.dir(dt).replace(tx, pt.name(), src.ino, src.mode);
            } else {
                fs.paths.dir(dt).add(tx, pt.name(), src.ino, src.mode);
            }
            fs.paths.dir(df).remove(tx, pf.name());
            if (dst != null) {
                if (dst.isDirectory()) {
                    dst.nlink = 0;
                    dt.nlink--;
                } else {
                    dst.nlink--;
                }
                dst.ctime = now;
                if (dst.nlink > 0 || dst.openCount > 0) {
                    fs.table.store(tx, dst, false);
                }
                fs.maybeDestroy(tx, dst);
            }
            if (src.isDirectory() && cross) {
                src.parent = dt.ino;
                df.nlink--;
                dt.nlink++;
            }
            src.ctime = now;
            fs.table.store(tx, src, false);
            fs.touchDir(tx, df, now);
            if (cross) {
                fs.touchDir(tx, dt, now);
            }
            return null;
        } finally {
            for (int k = locked.size() - 1; k >= 0; k--) {
                locked.get(k).lock.unlock();
            }
        }
    }

    /**
     * RENAME_EXCHANGE with both directories locked: swaps the two entries, moving directories' parents and link
     * counts when they change directory. Neither may be an ancestor of the other's new directory (EINVAL).
     */
    private void exchangeLocked(
            Transaction tx,
            Credentials who,
            PathResolver.Parent pf,
            PathResolver.Parent pt,
            Inode src,
            Inode dst,
            boolean cross,
            String from,
            String to,
            List<Inode> locked)
            throws IOException {
        Inode df = pf.dir();
        Inode dt = pt.dir();
        if (src.ino == dst.ino) {
            return;
        }
        if (cross && src.isDirectory() && isAncestorOrSelf(src, dt)) {
            throw new FsException(Errno.EINVAL, from + " <-> " + to);
        }
        if (cross && dst.isDirectory() && isAncestorOrSelf(dst, df)) {
            throw new FsException(Errno.EINVAL, from + " <-> " + to);
        }
        Access.check(who, df, Access.WRITE | Access.EXEC, from);
        Access.check(who, dt, Access.WRITE | Access.EXEC, to);
        if (!Access.stickyAllows(who, df, src)) {
            throw new FsException(Errno.EPERM, from);
        }
        if (!Access.stickyAllows(who, dt, dst)) {
            throw new FsException(Errno.EPERM, to);
        }
        if (cross && src.isDirectory()) {
            Access.check(who, src, Access.WRITE, from);
        }
        if (cross && dst.isDirectory()) {
            Access.check(who, dst, Access.WRITE, to);
        }
        Inode a = src.ino < dst.ino ? src : dst;
        Inode b = a == src ? dst : src;
        a.lock.lock();
        locked.add(a);
        b.lock.lock();
        locked.add(b);
        if (src.freed || dst.freed) {
            throw new FsException(Errno.ENOENT, from);
        }
        if (cross && src.isDirectory() != dst.isDirectory()) {
            Inode gains = src.isDirectory() ? dt : df;
            if (gains.nlink >= FsCore.LINK_MAX) {
                throw new FsException(Errno.EMLINK, gains == dt ? to : from);
            }
        }
        long now = fs.now();
        fs.paths.dir(dt).replace(tx, pt.name(), src.ino, src.mode);
        fs.paths.dir(df).replace(tx, pf.name(), dst.ino, dst.mode);
        if (cross) {
            if (src.isDirectory()) {
                src.parent = dt.ino;
                df.nlink--;
                dt.nlink++;
            }
            if (dst.isDirectory()) {
                dst.parent = df.ino;
                dt.nlink--;
                df.nlink++;
            }
        }
        src.ctime = now;
        dst.ctime = now;
        fs.table.store(tx, src, false);
        fs.table.store(tx, dst, false);
        fs.touchDir(tx, df, now);
        if (cross) {
            fs.touchDir(tx, dt, now);
        }
    }
}
