package org.fsp.ipc.fuse;

/** Every FUSE opcode and flag value this front end reads or writes, with the kernel's numbers. */
final class FuseOpcodes {

    private FuseOpcodes() {}

    static final int LOOKUP = 1;
    static final int FORGET = 2; // no reply
    static final int GETATTR = 3;
    static final int SETATTR = 4;
    static final int READLINK = 5;
    static final int SYMLINK = 6;
    static final int MKNOD = 8;
    static final int MKDIR = 9;
    static final int UNLINK = 10;
    static final int RMDIR = 11;
    static final int RENAME = 12;
    static final int LINK = 13;
    static final int OPEN = 14;
    static final int READ = 15;
    static final int WRITE = 16;
    static final int STATFS = 17;
    static final int RELEASE = 18;
    static final int FSYNC = 20;
    static final int SETXATTR = 21;
    static final int GETXATTR = 22;
    static final int LISTXATTR = 23;
    static final int REMOVEXATTR = 24;
    static final int FLUSH = 25;
    static final int INIT = 26;
    static final int OPENDIR = 27;
    static final int READDIR = 28;
    static final int RELEASEDIR = 29;
    static final int FSYNCDIR = 30;
    static final int GETLK = 31;
    static final int SETLK = 32;
    static final int SETLKW = 33;
    static final int ACCESS = 34;
    static final int CREATE = 35;
    static final int INTERRUPT = 36; // no reply needed
    static final int BMAP = 37;
    static final int DESTROY = 38;
    static final int IOCTL = 39;
    static final int POLL = 40;
    static final int BATCH_FORGET = 42; // no reply
    static final int FALLOCATE = 43;
    static final int READDIRPLUS = 44;
    static final int RENAME2 = 45;
    static final int LSEEK = 46;
    static final int COPY_FILE_RANGE = 47;

    /** The opcode's name for logs and the shell, or its number. */
    static String name(int opcode) {
        return switch (opcode) {
            case LOOKUP -> "LOOKUP";
            case FORGET -> "FORGET";
            case GETATTR -> "GETATTR";
            case SETATTR -> "SETATTR";
            case READLINK -> "READLINK";
            case SYMLINK -> "SYMLINK";
            case MKNOD -> "MKNOD";
            case MKDIR -> "MKDIR";
            case UNLINK -> "UNLINK";
            case RMDIR -> "RMDIR";
            case RENAME -> "RENAME";
            case LINK -> "LINK";
            case OPEN -> "OPEN";
            case READ -> "READ";
            case WRITE -> "WRITE";
            case STATFS -> "STATFS";
            case RELEASE -> "RELEASE";
            case FSYNC -> "FSYNC";
            case FLUSH -> "FLUSH";
            case INIT -> "INIT";
            case OPENDIR -> "OPENDIR";
            case READDIR -> "READDIR";
            case RELEASEDIR -> "RELEASEDIR";
            case FSYNCDIR -> "FSYNCDIR";
            case ACCESS -> "ACCESS";
            case CREATE -> "CREATE";
            case INTERRUPT -> "INTERRUPT";
            case DESTROY -> "DESTROY";
            case BATCH_FORGET -> "BATCH_FORGET";
            case READDIRPLUS -> "READDIRPLUS";
            case RENAME2 -> "RENAME2";
            case SETXATTR -> "SETXATTR";
            case GETXATTR -> "GETXATTR";
            case LISTXATTR -> "LISTXATTR";
            case REMOVEXATTR -> "REMOVEXATTR";
            case GETLK -> "GETLK";
            case SETLK -> "SETLK";
            case SETLKW -> "SETLKW";
            case POLL -> "POLL";
            case FALLOCATE -> "FALLOCATE";
            case LSEEK -> "LSEEK";
            case COPY_FILE_RANGE -> "COPY_FILE_RANGE";
            case IOCTL -> "IOCTL";
            case BMAP -> "BMAP";
            default -> "opcode " + opcode;
        };
    }

    // INIT flags (fuse_init_in.flags / fuse_init_out.flags)
    static final int FUSE_ASYNC_READ = 1;
    static final int FUSE_POSIX_LOCKS = 1 << 1;
    static final int FUSE_ATOMIC_O_TRUNC = 1 << 3;
    static final int FUSE_BIG_WRITES = 1 << 5;
    static final int FUSE_FLOCK_LOCKS = 1 << 10;
    static final int FUSE_AUTO_INVAL_DATA = 1 << 12;
    static final int FUSE_DO_READDIRPLUS = 1 << 13;
    static final int FUSE_READDIRPLUS_AUTO = 1 << 14;
    static final int FUSE_ASYNC_DIO = 1 << 15;
    static final int FUSE_WRITEBACK_CACHE = 1 << 16;
    static final int FUSE_PARALLEL_DIROPS = 1 << 18;
    static final int FUSE_HANDLE_KILLPRIV = 1 << 19;
    static final int FUSE_MAX_PAGES = 1 << 22;
    /**
     * The file system clears set-user-ID and set-group-ID on write, truncate and open with O_TRUNC (fs-core does, by
     * the caller's credentials), so the kernel does not ask first: no GETXATTR of security.capability per write.
     */
    static final int FUSE_HANDLE_KILLPRIV_V2 = 1 << 28;
    /** INIT carries flags2 (the flags' bits 32 to 63) in both directions. */
    static final int FUSE_INIT_EXT = 1 << 30;
    /** In flags2: bit 41 of the 64-bit flags, the daemon serves requests over io_uring (FUSE_OVER_IO_URING). */
    static final int FUSE_OVER_IO_URING_FLAGS2 = 1 << (41 - 32);

    // fuse_setattr_in.valid
    static final int FATTR_MODE = 1;
    static final int FATTR_UID = 1 << 1;
    static final int FATTR_GID = 1 << 2;
    static final int FATTR_SIZE = 1 << 3;
    static final int FATTR_ATIME = 1 << 4;
    static final int FATTR_MTIME = 1 << 5;
    static final int FATTR_FH = 1 << 6;
    static final int FATTR_ATIME_NOW = 1 << 7;
    static final int FATTR_MTIME_NOW = 1 << 8;

    /** fuse_open_out.open_flags: the kernel keeps the file's cached pages across opens. */
    static final int FOPEN_KEEP_CACHE = 1 << 1;

    /** fuse_getattr_in.getattr_flags: the fh field names an open file. */
    static final int FUSE_GETATTR_FH = 1;
    /** fuse_lk_in.lk_flags: a flock(2) lock (whole file, owned by the open file). */
    static final int FUSE_LK_FLOCK = 1;
    /** fuse_release_in.release_flags: drop the open file's flock lock. */
    static final int FUSE_RELEASE_FLOCK_UNLOCK = 1 << 1;
    /** The largest offset: a lock "to the end". */
    static final long OFFSET_MAX = Long.MAX_VALUE;

    /** fuse_fsync_in.fsync_flags: data only. */
    static final int FUSE_FSYNC_FDATASYNC = 1;

    // rename2 flags, as renameat2(2): RENAME_NOREPLACE (1) goes to fs-core as it is
    static final int RENAME_EXCHANGE = 2;

    // access(2) mask bits
    static final int R_OK = 4;
    static final int W_OK = 2;
    static final int X_OK = 1;
}
