package org.fsp.fs.core;

import java.io.IOException;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.journal.Transaction;

/**
 * The operations on a file's attributes: stat, lstat, fstatat and fstat; chmod, chown and utimens (and their handle
 * forms, with UTIME_NOW and UTIME_OMIT); access; and the extended attributes (kept by {@link ExtendedAttributes}; here
 * the path, the transaction and the live check); on the mounted file system ({@link FsCore}, which owns the caches,
 * the tables and the journal, and answers for this class behind its {@link org.fsp.api.fs.FileSystemService} facade).
 *
 * <p>A typical change runs inside {@link FsCore#perform} and one journal transaction ({@link FsCore#run}): resolve the
 * inode, lock it, check that the caller owns it (or is root) and that it is still live, change the field, store the
 * inode, tell the change listeners. Stat takes no lock: attributes are volatile.
 */
final class Attributes {

    private final FsCore fs;

    Attributes(FsCore fs) {
        this.fs = fs;
    }

    FileAttributes stat(Credentials who, String path) throws FsException {
        return statAt(who, null, path, true);
    }

    private FileAttributes statAt(Credentials who, Inode base, String path, boolean follow) throws FsException {
        return fs.call(() -> {
            return fs.paths.resolve(who, base, path, follow).attributes();
        });
    }

    FileAttributes lstat(Credentials who, String path) throws FsException {
        return statAt(who, null, path, false);
    }

    FileAttributes fstatat(Credentials who, long dirHandle, String path, int flags) throws FsException {
        if ((flags & ~FileSystemService.AT_SYMLINK_NOFOLLOW) != 0) {
            throw new FsException(Errno.EINVAL, "fstatat flags " + flags);
        }
        return statAt(who, fs.baseOf(dirHandle), path, (flags & FileSystemService.AT_SYMLINK_NOFOLLOW) == 0);
    }

    FileAttributes fstat(Credentials who, long handle) throws FsException {
        return fs.call(() -> {
            return fs.handle(handle).inode.attributes();
        });
    }

    void chmod(Credentials who, String path, int mode) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> chmodInode(tx, who, fs.paths.resolve(who, path, true), mode, Errno.ENOENT, path));
        });
    }

    void fchmod(Credentials who, long handle, int mode) throws FsException {
        fs.perform(() -> {
            Inode i = fs.handle(handle).inode;
            fs.run(tx -> chmodInode(tx, who, i, mode, Errno.EBADF, "handle " + handle));
        });
    }

    private Void chmodInode(Transaction tx, Credentials who, Inode i, int mode, Errno gone, String path)
            throws IOException {
        if (!Access.isOwnerOrRoot(who, i)) {
            throw new FsException(Errno.EPERM, path);
        }
        FsCore.lockLive(i, gone, path);
        try {
            int m = mode & FileMode.PERMISSION_MASK;
            if (!who.isRoot() && !who.inGroup(i.gid)) {
                m &= ~FileMode.S_ISGID;
            }
            i.mode = (i.mode & FileMode.S_IFMT) | m;
            changedAttributes(tx, i);
        } finally {
            i.lock.unlock();
        }
        return null;
    }

    /** After a change of mode or owner: ctime now, the inode journaled, the change listeners told. Under i.lock. */
    private void changedAttributes(Transaction tx, Inode i) throws IOException {
        i.ctime = fs.now();
        fs.table.store(tx, i, false);
        fs.changed(i);
    }

    void chown(Credentials who, String path, int uid, int gid) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> chownInode(tx, who, fs.paths.resolve(who, path, true), uid, gid, Errno.ENOENT, path));
        });
    }

    /** chown of the last component itself, a symlink included (lchown(2)). */
    void lchown(Credentials who, String path, int uid, int gid) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> chownInode(tx, who, fs.paths.resolve(who, path, false), uid, gid, Errno.ENOENT, path));
        });
    }

    void fchown(Credentials who, long handle, int uid, int gid) throws FsException {
        fs.perform(() -> {
            Inode i = fs.handle(handle).inode;
            fs.run(tx -> chownInode(tx, who, i, uid, gid, Errno.EBADF, "handle " + handle));
        });
    }

    private Void chownInode(Transaction tx, Credentials who, Inode i, int uid, int gid, Errno gone, String path)
            throws IOException {
        FsCore.lockLive(i, gone, path);
        try {
            if (!who.isRoot()) {
                if (uid != FileSystemService.ID_UNCHANGED && !(who.uid() == i.uid && uid == i.uid)) {
                    throw new FsException(Errno.EPERM, path);
                }
                if (gid != FileSystemService.ID_UNCHANGED
                        && !(who.uid() == i.uid && (who.inGroup(gid) || gid == i.gid))) {
                    throw new FsException(Errno.EPERM, path);
                }
            }
            if (uid != FileSystemService.ID_UNCHANGED) {
                i.uid = uid;
            }
            if (gid != FileSystemService.ID_UNCHANGED) {
                i.gid = gid;
            }
            if (!i.isDirectory() && (uid != FileSystemService.ID_UNCHANGED || gid != FileSystemService.ID_UNCHANGED)) {
                int m = i.mode & ~FileMode.S_ISUID;
                if ((m & 0010) != 0) {
                    m &= ~FileMode.S_ISGID;
                }
                i.mode = m;
            }
            changedAttributes(tx, i);
        } finally {
            i.lock.unlock();
        }
        return null;
    }

    void utimens(Credentials who, String path, long atimeNanos, long mtimeNanos) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> utimensInode(
                    tx, who, fs.paths.resolve(who, path, true), atimeNanos, mtimeNanos, Errno.ENOENT, path));
        });
    }

    /** utimens of the last component itself, a symlink included (utimensat with AT_SYMLINK_NOFOLLOW). */
    void lutimens(Credentials who, String path, long atimeNanos, long mtimeNanos) throws FsException {
        fs.perform(() -> {
            fs.run(tx -> utimensInode(
                    tx, who, fs.paths.resolve(who, path, false), atimeNanos, mtimeNanos, Errno.ENOENT, path));
        });
    }

    void futimens(Credentials who, long handle, long atimeNanos, long mtimeNanos) throws FsException {
        fs.perform(() -> {
            Inode i = fs.handle(handle).inode;
            fs.run(tx -> utimensInode(tx, who, i, atimeNanos, mtimeNanos, Errno.EBADF, "handle " + handle));
        });
    }

    private Void utimensInode(
            Transaction tx, Credentials who, Inode i, long atimeNanos, long mtimeNanos, Errno gone, String path)
            throws IOException {
        if (atimeNanos == FileSystemService.UTIME_OMIT && mtimeNanos == FileSystemService.UTIME_OMIT) {
            return null;
        }
        boolean bothNow = (atimeNanos == FileSystemService.UTIME_NOW || atimeNanos == FileSystemService.UTIME_OMIT)
                && (mtimeNanos == FileSystemService.UTIME_NOW || mtimeNanos == FileSystemService.UTIME_OMIT);
        if (!Access.isOwnerOrRoot(who, i)) {
            if (!bothNow) {
                throw new FsException(Errno.EPERM, path);
            }
            Access.check(who, i, Access.WRITE, path);
        }
        FsCore.lockLive(i, gone, path);
        try {
            long now = fs.now();
            if (atimeNanos != FileSystemService.UTIME_OMIT) {
                i.atime = atimeNanos == FileSystemService.UTIME_NOW ? now : atimeNanos;
            }
            if (mtimeNanos != FileSystemService.UTIME_OMIT) {
                i.mtime = mtimeNanos == FileSystemService.UTIME_NOW ? now : mtimeNanos;
            }
            i.ctime = now;
            fs.table.store(tx, i, false);
            fs.changed(i);
        } finally {
            i.lock.unlock();
        }
        return null;
    }

    void access(Credentials who, String path, int mode) throws FsException {
        if ((mode & ~(FileSystemService.R_OK | FileSystemService.W_OK | FileSystemService.X_OK)) != 0) {
            throw new FsException(Errno.EINVAL, "access mode " + mode);
        }
        fs.enter();
        try {
            Inode i;
            try {
                i = fs.paths.resolve(who, path, true);
            } catch (FsException e) {
                throw e;
            } catch (IOException e) {
                throw fs.ioError(e);
            }
            if ((mode & FileSystemService.W_OK) != 0 && fs.failed) {
                throw new FsException(Errno.EROFS, path);
            }
            Access.check(who, i, mode, path);
        } finally {
            fs.exit();
        }
    }

    // extended attributes (ExtendedAttributes keeps them; here the path, the transaction and the live check)

    byte[] getxattr(Credentials who, String path, String name, boolean follow) throws FsException {
        return fs.call(() -> {
            return fs.xattrs.get(who, fs.paths.resolve(who, path, follow), name, path);
        });
    }

    List<String> listxattr(Credentials who, String path, boolean follow) throws FsException {
        return fs.call(() -> {
            return fs.xattrs.list(who, fs.paths.resolve(who, path, follow));
        });
    }

    void setxattr(Credentials who, String path, String name, byte[] value, int flags, boolean follow)
            throws FsException {
        changeXattr(who, path, name, value == null ? new byte[0] : value, flags, follow);
    }

    void removexattr(Credentials who, String path, String name, boolean follow) throws FsException {
        changeXattr(who, path, name, null, 0, follow);
    }

    private void changeXattr(Credentials who, String path, String name, byte[] value, int flags, boolean follow)
            throws FsException {
        fs.perform(() -> {
            fs.run(tx -> {
                Inode i = fs.paths.resolve(who, path, follow);
                FsCore.lockLive(i, Errno.ENOENT, path);
                try {
                    fs.xattrs.change(tx, who, i, name, value, flags, path);
                    fs.changed(i);
                } finally {
                    i.lock.unlock();
                }
                return null;
            });
        });
    }
}
