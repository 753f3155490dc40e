package org.fsp.ipc.fuse;

import java.lang.foreign.MemorySegment;
import org.fsp.api.fs.Errno;

/**
 * One decoded FUSE request: a typed variant per opcode, made by {@link FuseDecoder} after every length was checked,
 * so the {@link FuseDispatcher} reads fields, never bytes. Names are whole (NUL-terminated in the message, checked
 * against NAME_MAX, no slash); a {@link Write}'s data is a slice of the request buffer, valid until the next read.
 */
sealed interface FuseRequest {

    /** The request header's fields: who asks (the kernel vouches for uid, gid and pid) about which node. */
    record Header(int opcode, long unique, long nodeId, int uid, int gid, int pid) {}

    Header header();

    /** {@code flags2}: the flags' bits 32 to 63, 0 unless {@code flags} has FUSE_INIT_EXT. */
    record Init(Header header, int major, int minor, int maxReadahead, int flags, int flags2) implements FuseRequest {

        Init(Header header, int major, int minor, int maxReadahead, int flags) {
            this(header, major, minor, maxReadahead, flags, 0);
        }
    }

    record Lookup(Header header, String name) implements FuseRequest {}

    record Forget(Header header, long nlookup) implements FuseRequest {}

    record BatchForget(Header header, long[] nodeIds, long[] nlookups) implements FuseRequest {}

    record Getattr(Header header, int flags, long fh) implements FuseRequest {}

    record Setattr(
            Header header,
            int valid,
            long fh,
            long size,
            long atimeSeconds,
            int atimeNanos,
            long mtimeSeconds,
            int mtimeNanos,
            int mode,
            int uid,
            int gid)
            implements FuseRequest {}

    record Readlink(Header header) implements FuseRequest {}

    record Symlink(Header header, String name, String target) implements FuseRequest {}

    record Mknod(Header header, int mode, int rdev, String name) implements FuseRequest {}

    record Mkdir(Header header, int mode, String name) implements FuseRequest {}

    record Unlink(Header header, String name) implements FuseRequest {}

    record Rmdir(Header header, String name) implements FuseRequest {}

    /** RENAME ({@code flags} 0) and RENAME2. */
    record Rename(Header header, long newDir, int flags, String oldName, String newName) implements FuseRequest {}

    record Link(Header header, long oldNodeId, String newName) implements FuseRequest {}

    /** OPEN ({@code directory} false) and OPENDIR. */
    record Open(Header header, int flags, boolean directory) implements FuseRequest {}

    record Create(Header header, int flags, int mode, String name) implements FuseRequest {}

    record Read(Header header, long fh, long offset, int size) implements FuseRequest {}

    record Write(Header header, long fh, long offset, int writeFlags, MemorySegment data) implements FuseRequest {}

    /** READDIR ({@code plus} false) and READDIRPLUS. */
    record Readdir(Header header, long fh, long offset, int size, boolean plus) implements FuseRequest {}

    /** RELEASE ({@code directory} false) and RELEASEDIR. */
    record Release(Header header, long fh, int flags, boolean directory, int releaseFlags, long lockOwner)
            implements FuseRequest {}

    record Flush(Header header, long fh, long lockOwner) implements FuseRequest {}

    /**
     * GETLK ({@code get}), SETLK, SETLKW ({@code blocking}): bytes {@code start} to {@code end} inclusive
     * ({@link FuseOpcodes#OFFSET_MAX}: to the end), with lk_flags (FUSE_LK_FLOCK).
     */
    record Lock(
            Header header,
            long fh,
            long owner,
            long start,
            long end,
            int type,
            int lkFlags,
            boolean get,
            boolean blocking)
            implements FuseRequest {}

    /** FSYNC ({@code directory} false) and FSYNCDIR. */
    record Fsync(Header header, long fh, boolean dataOnly, boolean directory) implements FuseRequest {}

    record Statfs(Header header) implements FuseRequest {}

    record Access(Header header, int mask) implements FuseRequest {}

    /** SETXATTR: the value is a slice of the request buffer, valid until the next read. */
    record Setxattr(Header header, String name, MemorySegment value, int flags) implements FuseRequest {}

    /** GETXATTR; {@code size} 0 asks only for the value's size. */
    record Getxattr(Header header, String name, int size) implements FuseRequest {}

    /** LISTXATTR; {@code size} 0 asks only for the list's size. */
    record Listxattr(Header header, int size) implements FuseRequest {}

    record Removexattr(Header header, String name) implements FuseRequest {}

    record Lseek(Header header, long fh, long offset, int whence) implements FuseRequest {}

    record Fallocate(Header header, long fh, long offset, long length, int mode) implements FuseRequest {}

    record CopyFileRange(
            Header header,
            long fhIn,
            long offsetIn,
            long nodeIdOut,
            long fhOut,
            long offsetOut,
            long length,
            long flags)
            implements FuseRequest {}

    record Interrupt(Header header, long interruptedUnique) implements FuseRequest {}

    record Destroy(Header header) implements FuseRequest {}

    /** An opcode this front end does not implement: ENOSYS, so the kernel falls back or remembers. */
    record Unsupported(Header header) implements FuseRequest {}

    /** A message that failed a check: answered with {@code errno}; {@code why} is for the log. */
    record Malformed(Header header, Errno errno, String why) implements FuseRequest {}
}
