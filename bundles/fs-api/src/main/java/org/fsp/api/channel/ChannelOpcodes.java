package org.fsp.api.channel;

/**
 * Every opcode a slot can carry, and which request fields each one reads ({@link SlotDescriptor}). Paths are UTF-8 in
 * the slot's data buffer, path 1 first. A result below zero is minus the errno; "payload" means bytes the server
 * writes to the data buffer, described by {@link PayloadCodec}.
 *
 * <pre>
 *  opcode      request fields                     result / payload
 *  NOOP        -                                  0
 *  STAT        path1                              0 / attributes
 *  LSTAT       path1                              0 / attributes
 *  FSTAT       handle                             0 / attributes
 *  OPEN        path1, flags, mode                 handle
 *  READ        handle, length                     bytes read / the data
 *  PREAD       handle, offset, length, mode       bytes read / the data, a read lease (mode PREAD_WANTS_LEASE)
 *  WRITE       handle, length, data               bytes written
 *  PWRITE      handle, offset, length, data       bytes written
 *  TRUNCATE    path1, length (new size)           0
 *  FTRUNCATE   handle, length (new size)          0
 *  FSYNC       handle                             0
 *  FDATASYNC   handle                             0
 *  CLOSE       handle                             0
 *  MKDIR       path1, mode                        0
 *  RMDIR       path1                              0
 *  UNLINK      path1                              0
 *  RENAME      path1 (from), path2 (to)           0
 *  LINK        path1 (existing), path2 (new)      0
 *  SYMLINK     path1 (target), path2 (link path)  0
 *  READLINK    path1                              target bytes / the target
 *  CHMOD       path1, mode                        0
 *  CHOWN       path1, arg0 (uid), arg1 (gid)      0
 *  UTIMENS     path1, arg0 (atime), arg1 (mtime)  0
 *  READDIR     path1, arg0 (cookie), arg1 (max)   entries / the entries
 *  STATFS      -                                  0 / statistics
 *  SYNC        -                                  0
 *  RENAME2     path1 (from), path2 (to), flags    0
 *  ACCESS      path1, mode (F_OK or R|W|X_OK)     0
 *  FCHMOD      handle, mode                       0
 *  FCHOWN      handle, arg0 (uid), arg1 (gid)     0
 *  FUTIMENS    handle, arg0 (atime), arg1 (mtime) 0
 *  SETLK       handle, flags (lock type),         0
 *              offset (start), length (0: to the end)
 *  READ_BULK   handle, length, arg0 (bulk offset) bytes read / the data in the bulk area at arg0
 *  PREAD_BULK  handle, offset, length, arg0, mode bytes read / the data in the bulk area at arg0, a lease as PREAD
 *  WRITE_BULK  handle, length, arg0 (bulk offset) bytes written; the data is in the bulk area at arg0
 *  PWRITE_BULK handle, offset, length, arg0       bytes written; the data is in the bulk area at arg0
 *  GETXATTR    path1, path2 (name), flags          value bytes / the value
 *              ({@link #XATTR_NOFOLLOW})
 *  SETXATTR    path1, path2 (name), flags          0
 *              (XATTR_CREATE | XATTR_REPLACE | {@link #XATTR_NOFOLLOW}),
 *              length, data after the two paths (the value)
 *  LISTXATTR   path1, flags ({@link #XATTR_NOFOLLOW}) names / each name, NUL-terminated
 *  REMOVEXATTR path1, path2 (name), flags          0
 *              ({@link #XATTR_NOFOLLOW})
 *  REOPEN      flags, offset (position),          handle / a re-open token
 *              data (the handle's re-open token)
 *  OPENAT      handle (directory), path1, flags, mode   handle / a re-open token
 *  FSTATAT     handle (directory), path1, flags       0 / attributes
 *              ({@link org.fsp.api.fs.FileSystemService#AT_SYMLINK_NOFOLLOW})
 *  UNLINKAT    handle (directory), path1, flags       0
 *              ({@link org.fsp.api.fs.FileSystemService#AT_REMOVEDIR})
 *  RENAMEAT    handle (from directory), path1 (from), 0
 *              arg0 (to directory handle), path2 (to), flags (as RENAME2)
 *  READDIRAT   handle (directory), arg0 (cookie),     entries / the entries
 *              arg1 (max)
 *  WATCH_ADD   path1 (a directory; symlinks followed) watch id (1 or more)
 *  WATCH_REMOVE handle (watch id)                     0
 * </pre>
 *
 * <p>The watch opcodes (minor 3) make the server tell the session of changes in a directory through the segment's
 * change-event area ({@link ChangeEventsDescriptor}), as inotify_add_watch and inotify_rm_watch: WATCH_ADD fails with
 * ENOENT, ENOTDIR, EACCES (no read permission on the directory), ENOSPC (the session's bound of watches), or
 * EOPNOTSUPP (the session has no event area, or the file system publishes no changes); WATCH_REMOVE with EINVAL for an
 * id that is not a watch of the session. A server without them answers ENOSYS.
 *
 * <p>The *at opcodes resolve a relative path1 (and path2) from the directory the handle is open on, whatever its
 * names are now; an absolute path ignores the handle. A server without them answers ENOSYS.
 *
 * <p>The bulk opcodes move up to {@link ChannelLayout#BULK_IO_BYTES} through the segment's bulk area
 * ({@link ChannelLayout#bulkOffset()}); arg0 and length must name a range inside it
 * ({@link ChannelLayout#bulkRangeValid}), else EINVAL. A server without a bulk area answers them with EINVAL, one
 * of minor version 0 with ENOSYS.
 *
 * <p>OPEN and REOPEN put the new handle's re-open token in the payload ({@link PayloadCodec#REOPEN_TOKEN_BYTES}):
 * after a restart of the server, REOPEN with it gives the same session an equivalent handle. READ, PREAD, WRITE and
 * PWRITE answer the handle's position after them in the slot's position field.
 */
public final class ChannelOpcodes {

    public static final int NOOP = 0;
    public static final int STAT = 1;
    public static final int LSTAT = 2;
    public static final int FSTAT = 3;
    public static final int OPEN = 4;
    public static final int READ = 5;
    public static final int PREAD = 6;
    /**
     * In a PREAD's mode field (minor 2): the client would cache what it reads under a read lease
     * ({@link ChannelHeaderDescriptor}); the server may grant one ({@link SlotDescriptor#LEASE_OFFSET}).
     */
    public static final int PREAD_WANTS_LEASE = 1;

    public static final int WRITE = 7;
    public static final int PWRITE = 8;
    public static final int TRUNCATE = 9;
    public static final int FTRUNCATE = 10;
    public static final int FSYNC = 11;
    public static final int FDATASYNC = 12;
    public static final int CLOSE = 13;
    public static final int MKDIR = 14;
    public static final int RMDIR = 15;
    public static final int UNLINK = 16;
    public static final int RENAME = 17;
    public static final int LINK = 18;
    public static final int SYMLINK = 19;
    public static final int READLINK = 20;
    public static final int CHMOD = 21;
    public static final int CHOWN = 22;
    public static final int UTIMENS = 23;
    public static final int READDIR = 24;
    public static final int STATFS = 25;
    public static final int SYNC = 26;
    /** rename with renameat2 flags; a server without it answers ENOSYS, so a flag is never silently dropped. */
    public static final int RENAME2 = 27;

    public static final int ACCESS = 28;
    public static final int FCHMOD = 29;
    public static final int FCHOWN = 30;
    public static final int FUTIMENS = 31;
    public static final int SETLK = 32;
    public static final int READ_BULK = 33;
    public static final int PREAD_BULK = 34;
    public static final int WRITE_BULK = 35;
    public static final int PWRITE_BULK = 36;

    public static final int GETXATTR = 37;
    public static final int SETXATTR = 38;
    public static final int LISTXATTR = 39;
    public static final int REMOVEXATTR = 40;

    /** In the flags of the xattr opcodes: do not follow a final symlink (lgetxattr and friends). */
    public static final int XATTR_NOFOLLOW = 0x100;

    /** Opens the file a re-open token names again, for the session it was issued to (channel minor version 1). */
    public static final int REOPEN = 41;

    /** openat(2) from a directory handle. */
    public static final int OPENAT = 42;
    /** fstatat(2) from a directory handle. */
    public static final int FSTATAT = 43;
    /** unlinkat(2) from a directory handle. */
    public static final int UNLINKAT = 44;
    /** renameat2(2) between two directory handles. */
    public static final int RENAMEAT = 45;
    /** readdir of the directory a handle is open on (getdents). */
    public static final int READDIRAT = 46;
    /** Watches a directory: its changes come as records in the change-event area (minor 3). */
    public static final int WATCH_ADD = 47;
    /** Ends a watch. */
    public static final int WATCH_REMOVE = 48;

    /** One more than the highest opcode: valid opcodes are {@code 0 <= op < COUNT}. */
    public static final int COUNT = 49;

    private static final String[] NAMES = {
        "noop",
        "stat",
        "lstat",
        "fstat",
        "open",
        "read",
        "pread",
        "write",
        "pwrite",
        "truncate",
        "ftruncate",
        "fsync",
        "fdatasync",
        "close",
        "mkdir",
        "rmdir",
        "unlink",
        "rename",
        "link",
        "symlink",
        "readlink",
        "chmod",
        "chown",
        "utimens",
        "readdir",
        "statfs",
        "sync",
        "rename2",
        "access",
        "fchmod",
        "fchown",
        "futimens",
        "setlk",
        "read_bulk",
        "pread_bulk",
        "write_bulk",
        "pwrite_bulk",
        "getxattr",
        "setxattr",
        "listxattr",
        "removexattr",
        "reopen",
        "openat",
        "fstatat",
        "unlinkat",
        "renameat",
        "readdirat",
        "watch_add",
        "watch_remove"
    };

    private ChannelOpcodes() {}

    /** The opcode's name for statistics and messages, or {@code "unknown(n)"}. */
    public static String name(int opcode) {
        return opcode >= 0 && opcode < COUNT ? NAMES[opcode] : "unknown(" + opcode + ")";
    }
}
