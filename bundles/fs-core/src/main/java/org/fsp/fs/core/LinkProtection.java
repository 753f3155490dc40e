package org.fsp.fs.core;

import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.inode.Inode;

/**
 * Linux's link-protection rules ({@code fs.protected_symlinks}, {@code fs.protected_hardlinks},
 * {@code fs.protected_regular}), which close the time-of-check/time-of-use traps of shared sticky directories such as
 * {@code /tmp}: a privileged writer following another user's symlink there, a hard link to a file one may not write
 * kept to exploit it later, an O_CREAT open landing on a file another user planted. They apply to root too; that is
 * their point.
 *
 * <p>A typical sequence is: path resolution calls {@link #checkFollow} before following a symlink, link calls
 * {@link #checkHardlink}, open with O_CREAT that finds an existing file calls {@link #checkCreateExisting}.
 *
 * @param symlinks fs.protected_symlinks: a symlink in a sticky world-writable directory is followed only by its owner,
 *     or if the directory's owner owns it (EACCES otherwise)
 * @param hardlinks fs.protected_hardlinks: a hard link to a file is made only by its owner or by whoever may read and
 *     write it, and never to a set-uid file or an executable set-gid file (EPERM otherwise); root is exempt
 * @param regular fs.protected_regular: 0 off; 1 an O_CREAT open of an existing regular file in a sticky
 *     world-writable directory fails with EACCES unless the caller or the directory's owner owns the file; 2 also in
 *     sticky group-writable directories
 */
public record LinkProtection(boolean symlinks, boolean hardlinks, int regular) {

    /** What distributions ship (systemd's 50-default.conf): all on, protected_regular = 1. */
    public static final LinkProtection DISTRIBUTION_DEFAULTS = new LinkProtection(true, true, 1);
    /** All off: the kernel's built-in defaults, before a distribution's sysctl files run. */
    public static final LinkProtection OFF = new LinkProtection(false, false, 0);

    public LinkProtection {
        if (regular < 0 || regular > 2) {
            throw new IllegalArgumentException("protected_regular is 0, 1 or 2, not " + regular);
        }
    }

    /** Before {@code who} follows {@code link}, found in {@code dir}. */
    void checkFollow(Credentials who, Inode dir, Inode link, String path) throws FsException {
        if (!symlinks || who.uid() == link.uid) {
            return;
        }
        if (!isSticky(dir) || (dir.mode & 0002) == 0 || dir.uid == link.uid) {
            return;
        }
        throw new FsException(
                Errno.EACCES, path + ": symlink owned by another user in a sticky world-writable directory");
    }

    /** Before {@code who} makes a hard link to {@code src}. */
    void checkHardlink(Credentials who, Inode src, String path) throws FsException {
        if (!hardlinks || who.isRoot() || who.uid() == src.uid) {
            return;
        }
        int mode = src.mode;
        boolean safeType = FileMode.isRegular(mode)
                && (mode & FileMode.S_ISUID) == 0
                && !((mode & FileMode.S_ISGID) != 0 && (mode & 0010) != 0);
        if (safeType && Access.allowed(who, src, Access.READ | Access.WRITE)) {
            return;
        }
        throw new FsException(Errno.EPERM, path + ": hard link to a file the caller does not own or may not write");
    }

    /** Before an O_CREAT open by {@code who} proceeds on {@code existing}, found in {@code dir}. */
    void checkCreateExisting(Credentials who, Inode dir, Inode existing, String path) throws FsException {
        if (regular == 0 || !FileMode.isRegular(existing.mode) || !isSticky(dir)) {
            return;
        }
        boolean worldWritable = (dir.mode & 0002) != 0;
        boolean groupWritable = (dir.mode & 0020) != 0;
        if (!(worldWritable || regular == 2 && groupWritable)) {
            return;
        }
        if (existing.uid == who.uid() || existing.uid == dir.uid) {
            return;
        }
        throw new FsException(Errno.EACCES, path + ": O_CREAT on another user's file in a sticky shared directory");
    }

    private static boolean isSticky(Inode dir) {
        return (dir.mode & FileMode.S_ISVTX) != 0;
    }
}
