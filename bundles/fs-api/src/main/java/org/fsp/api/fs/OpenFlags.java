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

    /** Every flag FSP understands; others are rejected with EINVAL. */
    public static final int SUPPORTED = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW;

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
