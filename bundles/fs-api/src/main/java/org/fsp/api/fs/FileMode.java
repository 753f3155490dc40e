package org.fsp.api.fs;

/** st_mode bits: file type and permissions, with Linux's values. */
public final class FileMode {

    public static final int S_IFMT = 0170000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFIFO = 0010000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFSOCK = 0140000;

    public static final int S_ISUID = 04000;
    public static final int S_ISGID = 02000;
    public static final int S_ISVTX = 01000;
    /** Permission bits and set-id/sticky bits: what chmod may change. */
    public static final int PERMISSION_MASK = 07777;

    private FileMode() {}

    public static boolean isRegular(int mode) {
        return (mode & S_IFMT) == S_IFREG;
    }

    public static boolean isDirectory(int mode) {
        return (mode & S_IFMT) == S_IFDIR;
    }

    public static boolean isSymlink(int mode) {
        return (mode & S_IFMT) == S_IFLNK;
    }

    /** A FIFO, socket or device node: a name and attributes only, whose I/O is the kernel's. */
    public static boolean isSpecial(int mode) {
        int type = mode & S_IFMT;
        return type == S_IFIFO || type == S_IFSOCK || type == S_IFCHR || type == S_IFBLK;
    }
}
