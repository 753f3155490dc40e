package org.fsp.api.fs;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The file system as a service: POSIX operations by absolute path ({@code "/a/b"}) and by open-file handle, each
 * taking the caller's kernel-vouched {@link Credentials}. Implemented by fs-core; called by the IPC front end (on
 * behalf of clients), the shell and tests.
 *
 * <p>Every failure is an {@link FsException} carrying the errno Linux returns for the same call. Handles are opaque
 * numbers owned by the implementation; callers that serve untrusted clients keep their own per-client table and never
 * pass a client's number through unchecked. Implementations are safe for many concurrent callers.
 *
 * <p>Data moves through {@link MemorySegment}s so that the IPC layer can copy straight between a client's shared
 * segment and the buffer cache; heap callers use {@code MemorySegment.ofArray}.
 */
@ProviderType
public interface FileSystemService {

    /** Longest name of one path component, in bytes of UTF-8. */
    int NAME_MAX = 255;
    /** Longest path, in bytes of UTF-8, including the terminating NUL Linux counts. */
    int PATH_MAX = 4096;
    /** For {@link #utimens}: set this time to now. */
    long UTIME_NOW = -1;
    /** For {@link #utimens}: leave this time unchanged. */
    long UTIME_OMIT = -2;
    /** For {@link #chown}: leave the owner or the group unchanged. */
    int ID_UNCHANGED = -1;

    /** For {@link #rename(Credentials, String, String, int)}: fail with EEXIST if {@code to} exists (Linux's value). */
    int RENAME_NOREPLACE = 1;
    /** For {@link #rename(Credentials, String, String, int)}: swap the two names atomically; both must exist. */
    int RENAME_EXCHANGE = 2;

    /** For {@link #access}: the file exists. */
    int F_OK = 0;
    /** For {@link #access}: execute (search) permission. */
    int X_OK = 1;
    /** For {@link #access}: write permission. */
    int W_OK = 2;
    /** For {@link #access}: read permission. */
    int R_OK = 4;

    /** For {@link #setlk}: a shared (read) lock (Linux's F_RDLCK). */
    int F_RDLCK = 0;
    /** For {@link #setlk}: an exclusive (write) lock (Linux's F_WRLCK). */
    int F_WRLCK = 1;
    /** For {@link #setlk}: release (Linux's F_UNLCK). */
    int F_UNLCK = 2;

    /** For {@link #setxattr}: fail with EEXIST if the attribute exists (Linux's XATTR_CREATE). */
    int XATTR_CREATE = 1;
    /** For {@link #setxattr}: fail with ENODATA unless the attribute exists (Linux's XATTR_REPLACE). */
    int XATTR_REPLACE = 2;
    /** Longest extended attribute name, prefix included, in bytes of UTF-8 (Linux's XATTR_NAME_MAX). */
    int XATTR_NAME_MAX = 255;
    /** Largest extended attribute value the call accepts, bytes (Linux's XATTR_SIZE_MAX); E2BIG beyond. */
    int XATTR_SIZE_MAX = 65536;

    FileAttributes stat(Credentials who, String path) throws FsException;

    /** Like {@link #stat} but does not follow a final symlink. */
    FileAttributes lstat(Credentials who, String path) throws FsException;

    FileAttributes fstat(Credentials who, long handle) throws FsException;

    /**
     * Opens (and with {@link OpenFlags#O_CREAT} possibly creates) a file or, for reading, a directory.
     *
     * @param flags {@link OpenFlags} bits
     * @param mode permission bits for a created file, before the umask the caller applied
     * @return a handle for the other calls; release it with {@link #close}
     */
    long open(Credentials who, String path, int flags, int mode) throws FsException;

    /** Reads at the handle's position and advances it. Returns bytes read; 0 at end of file. */
    int read(Credentials who, long handle, MemorySegment dst) throws FsException;

    /** Reads at {@code offset} without moving the position. */
    int pread(Credentials who, long handle, long offset, MemorySegment dst) throws FsException;

    /** Writes at the handle's position (or at end of file with O_APPEND) and advances it. Returns bytes written. */
    int write(Credentials who, long handle, MemorySegment src) throws FsException;

    /** Writes at {@code offset} without moving the position. */
    int pwrite(Credentials who, long handle, long offset, MemorySegment src) throws FsException;

    void truncate(Credentials who, String path, long size) throws FsException;

    void ftruncate(Credentials who, long handle, long size) throws FsException;

    /** Returns once the file's data and metadata are on the device (flush issued and completed). */
    void fsync(Credentials who, long handle) throws FsException;

    /** Like {@link #fsync} but may skip metadata not needed to read the data back (e.g. times). */
    void fdatasync(Credentials who, long handle) throws FsException;

    void close(Credentials who, long handle) throws FsException;

    void mkdir(Credentials who, String path, int mode) throws FsException;

    void rmdir(Credentials who, String path) throws FsException;

    void unlink(Credentials who, String path) throws FsException;

    /** Atomic rename, replacing an existing file or empty directory at {@code to}, as rename(2). */
    void rename(Credentials who, String from, String to) throws FsException;

    /**
     * rename(2) with renameat2's flags: {@link #RENAME_NOREPLACE} fails with EEXIST when {@code to} exists,
     * {@link #RENAME_EXCHANGE} swaps two existing names (ENOENT if either is missing). Both together, or any other
     * bit, is EINVAL. Flags 0 is {@link #rename(Credentials, String, String)}.
     */
    void rename(Credentials who, String from, String to, int flags) throws FsException;

    /** Makes {@code newPath} a hard link to {@code existing}. */
    void link(Credentials who, String existing, String newPath) throws FsException;

    /** Creates a symlink at {@code linkPath} whose content is {@code target}. */
    void symlink(Credentials who, String target, String linkPath) throws FsException;

    String readlink(Credentials who, String path) throws FsException;

    /**
     * Makes a special file at {@code path}, as mknod(2): {@code mode} is a type ({@link FileMode#S_IFIFO},
     * {@link FileMode#S_IFSOCK}, {@link FileMode#S_IFCHR}, {@link FileMode#S_IFBLK}, or {@link FileMode#S_IFREG} or 0
     * for an empty regular file) and permission bits; {@code rdev} is the device number of a device node (Linux's
     * {@code new_encode_dev} encoding), ignored for other types. EPERM for a device node unless the caller is root
     * (CAP_MKNOD), EPERM for a directory (as Linux), EINVAL for a symlink or an unknown type, and the errnos of creating a name (EEXIST, EACCES,
     * ENOENT, ENOTDIR). The file system only keeps the node: what reading or writing it means (a pipe, a device) is the
     * kernel's, through a FUSE mount. The default: a file system without special files (EPERM).
     */
    default void mknod(Credentials who, String path, int mode, int rdev) throws FsException {
        throw new FsException(Errno.EPERM, "mknod of " + path + ": special files are not supported");
    }

    void chmod(Credentials who, String path, int mode) throws FsException;

    /** Changes owner and/or group; {@link #ID_UNCHANGED} leaves one as it is. */
    void chown(Credentials who, String path, int uid, int gid) throws FsException;

    /** Sets access and modification times in ns since the epoch, or {@link #UTIME_NOW} / {@link #UTIME_OMIT}. */
    void utimens(Credentials who, String path, long atimeNanos, long mtimeNanos) throws FsException;

    /**
     * {@link #chown} of {@code path} itself when it is a symlink (lchown(2)); the default, for a file system whose
     * symlinks keep no owner of their own: EOPNOTSUPP.
     */
    default void lchown(Credentials who, String path, int uid, int gid) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "lchown of " + path);
    }

    /**
     * {@link #utimens} of {@code path} itself when it is a symlink (utimensat with AT_SYMLINK_NOFOLLOW); the default:
     * EOPNOTSUPP.
     */
    default void lutimens(Credentials who, String path, long atimeNanos, long mtimeNanos) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "lutimens of " + path);
    }

    /**
     * Checks that {@code path} exists ({@link #F_OK}) or that the caller may read, write and/or execute it
     * ({@link #R_OK} | {@link #W_OK} | {@link #X_OK}), as access(2) with the caller's ids; fails with EACCES, ENOENT,
     * or EINVAL for other mode bits. A final symlink is followed.
     */
    void access(Credentials who, String path, int mode) throws FsException;

    /** {@link #chmod} on an open file; the handle's access mode does not matter, as fchmod(2). */
    void fchmod(Credentials who, long handle, int mode) throws FsException;

    /** {@link #chown} on an open file, as fchown(2). */
    void fchown(Credentials who, long handle, int uid, int gid) throws FsException;

    /** {@link #utimens} on an open file, as futimens(2). */
    void futimens(Credentials who, long handle, long atimeNanos, long mtimeNanos) throws FsException;

    /**
     * Sets or releases an advisory byte-range lock on the open file's inode without waiting, as fcntl(F_OFD_SETLK):
     * the owner is the handle, so locks of one handle never conflict with each other, a handle's new lock replaces its
     * old ones on the same bytes, and {@link #close} releases all of them (so does a client's death, which closes its
     * handles). {@code length} 0 means up to the largest offset. Fails with EAGAIN on a conflicting lock of another
     * handle, EBADF for a read lock on a handle not open for reading or a write lock on one not open for writing, and
     * EINVAL for a bad type or a negative range.
     *
     * @param type {@link #F_RDLCK}, {@link #F_WRLCK} or {@link #F_UNLCK}
     */
    void setlk(Credentials who, long handle, int type, long start, long length) throws FsException;

    /**
     * {@link #setlk} with POSIX record-lock owners, for a front end whose callers own locks by process rather than by
     * open file (FUSE's lock_owner): the locks belong to {@code owner}, never conflict with its other locks whatever
     * handle set them, conflict with every other owner's and every handle's own locks, and are released by
     * {@link #releaseLocks} (a process closing any descriptor of the file) or when {@code handle} closes. Owners are a
     * namespace of their own: no owner number is ever a handle. Default: EOPNOTSUPP.
     */
    default void setlk(Credentials who, long handle, long owner, int type, long start, long length) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "lock owners");
    }

    /**
     * fcntl(F_GETLK) for {@code owner}: the first lock of someone else that a lock of {@code type} on the range would
     * conflict with, as {@code {type, start, length}} (length 0: to the end), or null if it could be set. Default:
     * EOPNOTSUPP.
     */
    default long[] getlk(Credentials who, long handle, long owner, int type, long start, long length)
            throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "lock owners");
    }

    /** Releases every lock {@code owner} holds on the handle's file. Default: EOPNOTSUPP. */
    default void releaseLocks(Credentials who, long handle, long owner) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "lock owners");
    }

    /**
     * Lists a directory, in a stable order, starting after {@code cookie} (0 for the start), at most {@code max}
     * entries. "." and ".." are not listed. An empty list means the end.
     */
    List<DirEntry> readdir(Credentials who, String path, long cookie, int max) throws FsException;

    FsStats statfs(Credentials who) throws FsException;

    /** For {@link #lseek}: the next offset at or after the given one that holds data (Linux's SEEK_DATA). */
    int SEEK_DATA = 3;
    /** For {@link #lseek}: the next offset at or after the given one in a hole or at the end (Linux's SEEK_HOLE). */
    int SEEK_HOLE = 4;
    /** For {@link #fallocate}: allocate without changing the size (Linux's FALLOC_FL_KEEP_SIZE). */
    int FALLOC_FL_KEEP_SIZE = 1;
    /** For {@link #fallocate}: free the range, leaving a hole; with KEEP_SIZE (Linux's FALLOC_FL_PUNCH_HOLE). */
    int FALLOC_FL_PUNCH_HOLE = 2;

    /**
     * lseek(2) with {@link #SEEK_DATA} or {@link #SEEK_HOLE} on an open file: the offset of the next data or hole at or
     * after {@code offset} (the end of the file counts as a hole). ENXIO when {@code offset} is at or past the end, or
     * no data follows it; EINVAL for another {@code whence} or a negative offset. The default treats the whole file as
     * data, as Linux's generic_file_llseek does for file systems that do not report holes.
     */
    default long lseek(Credentials who, long handle, long offset, int whence) throws FsException {
        long size = fstat(who, handle).size();
        if (offset < 0 || (whence != SEEK_DATA && whence != SEEK_HOLE)) {
            throw new FsException(Errno.EINVAL, "lseek whence " + whence + " offset " + offset);
        }
        if (offset >= size) {
            throw new FsException(Errno.ENXIO, "offset " + offset + " at or past the end");
        }
        return whence == SEEK_DATA ? offset : size;
    }

    /**
     * fallocate(2) on a file open for writing: mode 0 allocates zeroed blocks for the holes of
     * {@code [offset, offset + length)} and extends the size to cover it, so later writes there cannot fail for
     * space. Fails with ENOSPC (nothing allocated stays allocated beyond what fits), EBADF for a handle not open for
     * writing, ENODEV for a directory, EINVAL for a negative offset or a length below 1, EFBIG past the largest
     * file, and EOPNOTSUPP for a mode the file system does not implement (the default for every mode).
     */
    default void fallocate(Credentials who, long handle, int mode, long offset, long length) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "fallocate mode " + mode);
    }

    /**
     * The value of extended attribute {@code name} ("user.x", "trusted.x", "security.x") of the file at {@code path}
     * (a final symlink followed when {@code follow}), as getxattr(2) / lgetxattr(2). Fails with ENODATA if it has no
     * such attribute, EOPNOTSUPP for a namespace the file system does not keep, ERANGE for an empty name or one longer
     * than {@link #XATTR_NAME_MAX}, EACCES without read permission for user.* and ENODATA for trusted.* asked by
     * anyone but root, as Linux does. A file system that keeps no extended attributes fails with EOPNOTSUPP.
     */
    default byte[] getxattr(Credentials who, String path, String name, boolean follow) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "extended attributes");
    }

    /**
     * Sets extended attribute {@code name} to {@code value}, as setxattr(2): {@link #XATTR_CREATE} fails with EEXIST
     * if it exists, {@link #XATTR_REPLACE} with ENODATA if it does not; any other flag bit is EINVAL. user.* needs
     * write permission and a regular file or directory (EPERM otherwise, and for a sticky directory not the caller's);
     * trusted.* and security.* need root (EPERM). E2BIG for a value over {@link #XATTR_SIZE_MAX}, ENOSPC when the
     * file's attributes no longer fit where the file system keeps them. Changes the file's ctime.
     */
    default void setxattr(Credentials who, String path, String name, byte[] value, int flags, boolean follow)
            throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "extended attributes");
    }

    /**
     * The names of the file's extended attributes, as listxattr(2): every user.* and security.* name, trusted.* names
     * only for root. No permission on the file itself is needed.
     */
    default List<String> listxattr(Credentials who, String path, boolean follow) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "extended attributes");
    }

    /** Removes extended attribute {@code name}, as removexattr(2): ENODATA if absent; permissions as {@link #setxattr}. */
    default void removexattr(Credentials who, String path, String name, boolean follow) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "extended attributes");
    }

    /** For {@link #fstatat}: do not follow a final symlink (Linux's AT_SYMLINK_NOFOLLOW). */
    int AT_SYMLINK_NOFOLLOW = 0x100;
    /** For {@link #unlinkat}: remove a directory, as rmdir (Linux's AT_REMOVEDIR). */
    int AT_REMOVEDIR = 0x200;

    /*
     * The *at family: a relative path starts at the directory a handle is open on (as openat(2) with a directory
     * descriptor), found by its inode, so a rename or removal of the directory's names meanwhile does not change what
     * the path means; an absolute path ignores the handle. EBADF for no such handle, ENOTDIR if it is not a directory;
     * otherwise each behaves as its path-based call. The defaults: a file system without them (EOPNOTSUPP).
     */

    /** {@link #open} of {@code path} from the directory open on {@code dirHandle}, as openat(2). */
    default long openat(Credentials who, long dirHandle, String path, int flags, int mode) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "openat");
    }

    /** {@link #stat} (or with {@link #AT_SYMLINK_NOFOLLOW} {@link #lstat}) from a directory, as fstatat(2). */
    default FileAttributes fstatat(Credentials who, long dirHandle, String path, int flags) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "fstatat");
    }

    /** {@link #unlink} (or with {@link #AT_REMOVEDIR} {@link #rmdir}) from a directory, as unlinkat(2). */
    default void unlinkat(Credentials who, long dirHandle, String path, int flags) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "unlinkat");
    }

    /** {@link #rename(Credentials, String, String, int)} with each path from its own directory, as renameat2(2). */
    default void renameat(Credentials who, long fromDir, String from, long toDir, String to, int flags)
            throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "renameat");
    }

    /**
     * {@link #readdir(Credentials, String, long, int)} of the directory open on {@code dirHandle}, as getdents(2):
     * no permission check (the open made it), and nothing for a directory removed since.
     */
    default List<DirEntry> readdir(Credentials who, long dirHandle, long cookie, int max) throws FsException {
        throw new FsException(Errno.EOPNOTSUPP, "readdir of a handle");
    }

    /**
     * From now on tells {@code listener} of every change, made by any caller ({@link ChangeListener} says when and
     * how). The default keeps no listeners: a file system that does not publish changes.
     */
    default void addChangeListener(ChangeListener listener) {}

    /** Stops telling {@code listener}; it may still see a call that was under way. */
    default void removeChangeListener(ChangeListener listener) {}

    /**
     * Whether {@link #addChangeListener} listeners are told of every change before the changing call returns, so that
     * a front end may let clients keep what they read until told otherwise (ipc-shm's read leases). The default
     * publishes nothing.
     */
    default boolean publishesChanges() {
        return false;
    }

    /** Makes everything written so far durable, as sync(2). */
    void sync() throws FsException;
}
