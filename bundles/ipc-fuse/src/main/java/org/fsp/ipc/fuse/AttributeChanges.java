package org.fsp.ipc.fuse;

import static org.fsp.ipc.fuse.FuseOpcodes.*;

import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.ipc.fuse.FuseRequest.Setattr;

/**
 * SETATTR: one request may change mode, owner, size and times at once; each is applied with the handle-based call
 * when the kernel names an open file (fchmod, fchown, ftruncate, futimens), else by path; a symlink's own owner and
 * times with lchown and lutimens (the kernel never asks to change a symlink's mode). The answer is the attributes
 * after every change.
 */
final class AttributeChanges {

    private final NodePaths paths;
    private final FileHandles handles;

    AttributeChanges(NodePaths paths, FileHandles handles) {
        this.paths = paths;
        this.handles = handles;
    }

    FuseReply setattr(FileSystemService fs, Credentials who, Setattr s) throws FsException {
        long node = s.header().nodeId();
        int valid = s.valid();
        boolean byHandle = (valid & FATTR_FH) != 0 && !FileHandles.directory(s.fh());
        long h = byHandle ? handles.handle(fs, s.fh()) : -1;
        String p = paths.pathOrNull(fs, node);
        boolean symlink = p != null
                && (valid & (FATTR_UID | FATTR_GID | FATTR_ATIME | FATTR_MTIME)) != 0
                && fs.lstat(who, p).isSymbolicLink();
        if ((valid & FATTR_MODE) != 0) {
            if (byHandle) {
                fs.fchmod(who, h, s.mode() & FileMode.PERMISSION_MASK);
            } else {
                fs.chmod(who, paths.path(fs, node), s.mode() & FileMode.PERMISSION_MASK);
            }
        }
        if ((valid & (FATTR_UID | FATTR_GID)) != 0) {
            int uid = (valid & FATTR_UID) != 0 ? s.uid() : FileSystemService.ID_UNCHANGED;
            int gid = (valid & FATTR_GID) != 0 ? s.gid() : FileSystemService.ID_UNCHANGED;
            if (symlink) {
                fs.lchown(who, p, uid, gid);
            } else if (byHandle) {
                fs.fchown(who, h, uid, gid);
            } else {
                fs.chown(who, paths.path(fs, node), uid, gid);
            }
        }
        if ((valid & FATTR_SIZE) != 0) {
            if (byHandle) {
                fs.ftruncate(who, h, s.size());
            } else {
                fs.truncate(who, paths.path(fs, node), s.size());
            }
        }
        if ((valid & (FATTR_ATIME | FATTR_MTIME)) != 0) {
            long atime = time(valid, FATTR_ATIME, FATTR_ATIME_NOW, s.atimeSeconds(), s.atimeNanos());
            long mtime = time(valid, FATTR_MTIME, FATTR_MTIME_NOW, s.mtimeSeconds(), s.mtimeNanos());
            if (symlink) {
                fs.lutimens(who, p, atime, mtime);
            } else if (byHandle) {
                fs.futimens(who, h, atime, mtime);
            } else {
                fs.utimens(who, paths.path(fs, node), atime, mtime);
            }
        }
        return paths.attributes(byHandle ? fs.fstat(who, h) : paths.attrsOf(fs, who, node));
    }

    /** A time as fs-core takes it: OMIT when the kernel did not set it, NOW when it asked for the current time. */
    private static long time(int valid, int setBit, int nowBit, long seconds, long nanos) {
        if ((valid & setBit) == 0) {
            return FileSystemService.UTIME_OMIT;
        }
        return (valid & nowBit) != 0 ? FileSystemService.UTIME_NOW : seconds * 1_000_000_000L + nanos;
    }
}
