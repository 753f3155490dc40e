package org.fsp.fs.core;

import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.inode.Inode;

/**
 * POSIX permission checks from credentials, as Linux's generic_permission does them: owner, then group (primary or
 * supplementary), then other; root may read and write anything, search any directory, and execute a file only if
 * some execute bit is set. Sticky directories restrict deletion to the file's owner, the directory's owner or root.
 */
final class Access {

    static final int READ = 4;
    static final int WRITE = 2;
    static final int EXEC = 1;

    private Access() {}

    /** True if {@code who} may access the inode as {@code mask} (READ | WRITE | EXEC bits). */
    static boolean allowed(Credentials who, Inode i, int mask) {
        int mode = i.mode;
        if (who.isRoot()) {
            if ((mask & EXEC) != 0 && !FileMode.isDirectory(mode) && (mode & 0111) == 0) {
                return false;
            }
            return true;
        }
        int bits;
        if (who.uid() == i.uid) {
            bits = (mode >>> 6) & 7;
        } else if (who.inGroup(i.gid)) {
            bits = (mode >>> 3) & 7;
        } else {
            bits = mode & 7;
        }
        return (mask & ~bits) == 0;
    }

    /** Throws EACCES unless {@link #allowed}. */
    static void check(Credentials who, Inode i, int mask, String subject) throws FsException {
        if (!allowed(who, i, mask)) {
            throw new FsException(Errno.EACCES, subject);
        }
    }

    /** May {@code who} remove or rename {@code victim} out of the sticky directory {@code dir}? */
    static boolean stickyAllows(Credentials who, Inode dir, Inode victim) {
        if ((dir.mode & FileMode.S_ISVTX) == 0 || who.isRoot()) {
            return true;
        }
        return who.uid() == victim.uid || who.uid() == dir.uid;
    }

    static boolean isOwnerOrRoot(Credentials who, Inode i) {
        return who.isRoot() || who.uid() == i.uid;
    }
}
