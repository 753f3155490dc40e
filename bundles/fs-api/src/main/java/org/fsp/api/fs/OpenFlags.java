package org.fsp.api.fs;

/** open(2) flag bits, with Linux's values so that they cross the channel unchanged. */
public final class OpenFlags {

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    /** Mask of the access mode bits. */
    public static final int O_ACCMODE = 3;

    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;

    public static final int O_NOCTTY = 0400;
    public static final int O_NONBLOCK = 04000;
    /** Accepted: the caller makes each write durable (the java.nio provider calls fdatasync after it). */
    public static final int O_DSYNC = 010000;

    public static final int O_DIRECT = 040000;
    /** The kernel's value (glibc passes it on 32-bit ABIs; on x86-64 it is implied). */
    public static final int O_LARGEFILE = 0100000;

    public static final int O_NOATIME = 01000000;
    public static final int O_CLOEXEC = 02000000;
    /** Accepted: the caller makes each write durable (the java.nio provider calls fsync after it). */
    public static final int O_SYNC = 04000000 | O_DSYNC;

    /**
     * Flags Linux accepts on a regular file that change nothing FSP's server must do: there is no terminal, no
     * blocking device, no exec (handles are per connection), no page cache to bypass, and atime is relaxed anyway. The
     * sync flags are accepted and left to the caller (see {@link #O_SYNC}).
     */
    public static final int IGNORED = O_NOCTTY | O_NONBLOCK | O_SYNC | O_DIRECT | O_LARGEFILE | O_NOATIME | O_CLOEXEC;

    /** Every flag FSP understands or ignores as Linux would; others are rejected with EINVAL. */
    public static final int SUPPORTED =
            O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW | IGNORED;

    private OpenFlags() {}

    public static boolean canRead(int flags) {
        int mode = flags & O_ACCMODE;
        return mode == O_RDONLY || mode == O_RDWR;
    }

    public static boolean canWrite(int flags) {
        int mode = flags & O_ACCMODE;
        return mode == O_WRONLY || mode == O_RDWR;
    }
}
