package org.fsp.fs.core;

import java.io.IOException;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.journal.Transaction;

/**
 * Opening and closing files: open and openat (O_CREAT with O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW and the
 * flags Linux accepts and ignores; a symlink met as the last component of an O_CREAT is followed and the open retried
 * there) and close (a file unlinked while open is freed with its last handle); on the mounted file system
 * ({@link FsCore}, which owns the handle table, the caches and the journal, and answers for this class behind its
 * {@link org.fsp.api.fs.FileSystemService} facade).
 *
 * <p>A typical open runs inside {@link FsCore#call} and, when it creates or truncates, one journal transaction
 * ({@link FsCore#run}): resolve the parent, lock it, check permissions and the link-protection rules, create or
 * truncate, count the inode open, and enter a new handle in the table.
 */
final class OpenFiles {

    private final FsCore fs;

    OpenFiles(FsCore fs) {
        this.fs = fs;
    }

    long open(Credentials who, String path, int flags, int mode) throws FsException {
        return openAt(who, null, path, flags, mode);
    }

    long openat(Credentials who, long dirHandle, String path, int flags, int mode) throws FsException {
        return openAt(who, fs.baseOf(dirHandle), path, flags, mode);
    }

    private long openAt(Credentials who, Inode base, String path, int flags, int mode) throws FsException {
        return fs.call(() -> {
            // O_CREAT | O_DIRECTORY is EINVAL as in Linux 6.4 and later (it used to create a regular file).
            if ((flags & ~OpenFlags.SUPPORTED) != 0
                    || (flags & OpenFlags.O_ACCMODE) == OpenFlags.O_ACCMODE
                    || (flags & (OpenFlags.O_CREAT | OpenFlags.O_DIRECTORY))
                            == (OpenFlags.O_CREAT | OpenFlags.O_DIRECTORY)) {
                throw new FsException(Errno.EINVAL, "open flags 0" + Integer.toOctalString(flags));
            }
            return fs.run(tx -> {
                String p = path;
                for (int links = 0; ; links++) {
                    Object r = openOnce(tx, who, base, p, flags, mode);
                    if (r instanceof Long h) {
                        return h;
                    }
                    if (links >= PathResolver.SYMLOOP_MAX) {
                        throw new FsException(Errno.ELOOP, path);
                    }
                    p = (String) r;
                }
            });
        });
    }

    /** One attempt: returns a handle, or the path to retry at when O_CREAT met a symlink as the last component. */
    private Object openOnce(Transaction tx, Credentials who, Inode base, String path, int flags, int mode)
            throws IOException {
        boolean creat = (flags & OpenFlags.O_CREAT) != 0;
        boolean nofollow = (flags & OpenFlags.O_NOFOLLOW) != 0;
        Inode target;
        boolean created = false;
        if (creat) {
            PathResolver.Parent p = fs.paths.resolveParent(who, base, path);
            if (FsCore.isDotName(p.name())) {
                throw new FsException(Errno.EISDIR, path);
            }
            fs.lockLiveDir(p.dir(), path);
            try {
                target = fs.paths.child(p.dir(), p.name());
                if (target == null) {
                    if (p.trailingSlash()) {
                        throw new FsException(Errno.EISDIR, path);
                    }
                    Access.check(who, p.dir(), Access.WRITE | Access.EXEC, path);
                    target = fs.createIn(
                            tx, who, p.dir(), p.name(), FileMode.S_IFREG | (mode & FileMode.PERMISSION_MASK));
                    created = true;
                } else {
                    if ((flags & OpenFlags.O_EXCL) != 0) {
                        throw new FsException(Errno.EEXIST, path);
                    }
                    if (target.isSymlink()) {
                        if (nofollow) {
                            throw new FsException(Errno.ELOOP, path);
                        }
                        fs.options.linkProtection().checkFollow(who, p.dir(), target, path);
                        String t = fs.paths.readTarget(target);
                        if (t.startsWith("/")) {
                            return t;
                        }
                        int slash = path.lastIndexOf('/', path.length() - 1 - (p.trailingSlash() ? 1 : 0));
                        if (slash < 0) {
                            // A bare name from a base directory: the target is relative to that base.
                            return t;
                        }
                        return path.substring(0, slash) + "/" + t;
                    }
                    if (target.isDirectory()) {
                        throw new FsException(Errno.EISDIR, path);
                    }
                    if (p.trailingSlash()) {
                        throw new FsException(Errno.ENOTDIR, path);
                    }
                    fs.options.linkProtection().checkCreateExisting(who, p.dir(), target, path);
                }
            } finally {
                p.dir().lock.unlock();
            }
        } else {
            target = fs.paths.resolve(who, base, path, !nofollow);
            if (nofollow && target.isSymlink()) {
                throw new FsException(Errno.ELOOP, path);
            }
        }
        if ((flags & OpenFlags.O_DIRECTORY) != 0 && !target.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        if (target.isSpecial()) {
            // A pipe or a device is the kernel's to serve (through the FUSE mount); a socket opens nowhere (Linux too).
            throw new FsException(
                    (target.mode & FileMode.S_IFMT) == FileMode.S_IFSOCK ? Errno.ENXIO : Errno.EOPNOTSUPP,
                    "open of a special file: " + path);
        }
        boolean write = OpenFlags.canWrite(flags);
        boolean trunc = (flags & OpenFlags.O_TRUNC) != 0;
        if (target.isDirectory() && (write || creat)) {
            throw new FsException(Errno.EISDIR, path);
        }
        if (!created) {
            int mask = (OpenFlags.canRead(flags) ? Access.READ : 0) | (write || trunc ? Access.WRITE : 0);
            Access.check(who, target, mask, path);
        }
        target.lock.lock();
        try {
            if (target.freed) {
                throw new FsException(Errno.ENOENT, path);
            }
            if (trunc && target.isRegular() && !created) {
                fs.setSize(tx, target, 0);
                long now = fs.now();
                target.mtime = now;
                target.ctime = now;
                FsCore.killPrivs(who, target);
                fs.table.store(tx, target, true);
                fs.observer.written(who, target.ino);
            }
            target.openCount++;
        } finally {
            target.lock.unlock();
        }
        long h = fs.nextHandle.getAndIncrement();
        fs.handles.put(h, new FsCore.OpenFile(target, flags));
        return h;
    }

    void close(Credentials who, long handle) throws FsException {
        fs.perform(() -> {
            FsCore.OpenFile f = fs.handles.remove(handle);
            if (f == null) {
                throw new FsException(Errno.EBADF, "handle " + handle);
            }
            fs.locks.releaseAll(f.inode.ino, handle);
            Inode i = f.inode;
            fs.run(tx -> {
                i.lock.lock();
                try {
                    i.openCount--;
                    fs.maybeDestroy(tx, i);
                } finally {
                    i.lock.unlock();
                }
                return null;
            });
        });
    }
}
