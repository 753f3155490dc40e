package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FsStats;
import org.fsp.ipc.fuse.FuseAbi.*;

/**
 * One answer to a request, a type per kind of answer as the kernel expects it; {@link #encode} writes the
 * {@link OutHeader} and the body into the reply buffer and returns the reply's length in bytes. {@link #NONE} is the
 * answer of FORGET, BATCH_FORGET and INTERRUPT, which get no reply at all.
 */
sealed interface FuseReply {

    /** No reply is written. */
    FuseReply NONE = new Empty(true);
    /** Success with no body. */
    FuseReply OK = new Empty(false);

    /** Writes this reply for request {@code unique} at the start of {@code out}; returns its length, 0 for none. */
    int encode(MemorySegment out, long unique);

    private static int header(MemorySegment out, long unique, int error, int bodyBytes) {
        int len = OutHeader.SIZE + bodyBytes;
        out.set(JAVA_INT, OutHeader.LEN, len);
        out.set(JAVA_INT, OutHeader.ERROR, error);
        out.set(JAVA_LONG, OutHeader.UNIQUE, unique);
        return len;
    }

    /** Writes {@code a} as a {@code fuse_attr} at {@code at}. */
    static void putAttr(MemorySegment out, long at, FileAttributes a) {
        out.set(JAVA_LONG, at + Attr.INO, a.ino());
        out.set(JAVA_LONG, at + Attr.SIZE_BYTES, a.size());
        out.set(JAVA_LONG, at + Attr.BLOCKS, a.blocks());
        out.set(JAVA_LONG, at + Attr.ATIME, Math.floorDiv(a.atimeNanos(), 1_000_000_000L));
        out.set(JAVA_LONG, at + Attr.MTIME, Math.floorDiv(a.mtimeNanos(), 1_000_000_000L));
        out.set(JAVA_LONG, at + Attr.CTIME, Math.floorDiv(a.ctimeNanos(), 1_000_000_000L));
        out.set(JAVA_INT, at + Attr.ATIME_NSEC, (int) Math.floorMod(a.atimeNanos(), 1_000_000_000L));
        out.set(JAVA_INT, at + Attr.MTIME_NSEC, (int) Math.floorMod(a.mtimeNanos(), 1_000_000_000L));
        out.set(JAVA_INT, at + Attr.CTIME_NSEC, (int) Math.floorMod(a.ctimeNanos(), 1_000_000_000L));
        out.set(JAVA_INT, at + Attr.MODE, a.mode());
        out.set(JAVA_INT, at + Attr.NLINK, a.nlink());
        out.set(JAVA_INT, at + Attr.UID, a.uid());
        out.set(JAVA_INT, at + Attr.GID, a.gid());
        out.set(JAVA_INT, at + Attr.RDEV, a.rdev());
        out.set(JAVA_INT, at + Attr.BLKSIZE, a.blockSize());
        out.set(JAVA_INT, at + Attr.FLAGS, 0);
    }

    /** Writes a {@code fuse_entry_out} at {@code at}. */
    static void putEntry(MemorySegment out, long at, Entry e) {
        out.set(JAVA_LONG, at + EntryOut.NODE_ID, e.nodeId());
        out.set(JAVA_LONG, at + EntryOut.GENERATION, e.generation());
        out.set(JAVA_LONG, at + EntryOut.ENTRY_VALID, e.entryValidNanos() / 1_000_000_000L);
        out.set(JAVA_LONG, at + EntryOut.ATTR_VALID, e.attrValidNanos() / 1_000_000_000L);
        out.set(JAVA_INT, at + EntryOut.ENTRY_VALID_NSEC, (int) (e.entryValidNanos() % 1_000_000_000L));
        out.set(JAVA_INT, at + EntryOut.ATTR_VALID_NSEC, (int) (e.attrValidNanos() % 1_000_000_000L));
        if (e.attrs() != null) {
            putAttr(out, at + EntryOut.ATTR, e.attrs());
        } else {
            out.asSlice(at + EntryOut.ATTR, Attr.SIZE).fill((byte) 0);
        }
    }

    /** Success with no body, or no reply at all. */
    record Empty(boolean none) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            return none ? 0 : header(out, unique, 0, 0);
        }
    }

    /** Failure: the header alone, with the negative errno. */
    record Error(Errno errno) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            return header(out, unique, -errno.code(), 0);
        }
    }

    /**
     * A node the kernel may now hold (one more lookup of it), with how long the name and the attributes may be
     * cached, in nanoseconds. Node id 0 with null attributes is the READDIRPLUS entry for "." and "..".
     */
    record Entry(long nodeId, long generation, FileAttributes attrs, long entryValidNanos, long attrValidNanos)
            implements FuseReply {

        /** With generation 0. */
        Entry(long nodeId, FileAttributes attrs, long entryValidNanos, long attrValidNanos) {
            this(nodeId, 0, attrs, entryValidNanos, attrValidNanos);
        }

        @Override
        public int encode(MemorySegment out, long unique) {
            putEntry(out, OutHeader.SIZE, this);
            return header(out, unique, 0, EntryOut.SIZE);
        }
    }

    record Attributes(FileAttributes attrs, long attrValidNanos) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            long at = OutHeader.SIZE;
            out.set(JAVA_LONG, at + AttrOut.ATTR_VALID, attrValidNanos / 1_000_000_000L);
            out.set(JAVA_INT, at + AttrOut.ATTR_VALID_NSEC, (int) (attrValidNanos % 1_000_000_000L));
            out.set(JAVA_INT, at + AttrOut.ATTR_VALID_NSEC + 4, 0);
            putAttr(out, at + AttrOut.ATTR, attrs);
            return header(out, unique, 0, AttrOut.SIZE);
        }
    }

    record Opened(long fh, int openFlags) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            put(out, OutHeader.SIZE);
            return header(out, unique, 0, OpenOut.SIZE);
        }

        void put(MemorySegment out, long at) {
            out.set(JAVA_LONG, at + OpenOut.FH, fh);
            out.set(JAVA_INT, at + OpenOut.OPEN_FLAGS, openFlags);
            out.set(JAVA_INT, at + OpenOut.OPEN_FLAGS + 4, 0);
        }
    }

    /** CREATE's answer: the new node, then the open file. */
    record Created(Entry entry, Opened open) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            putEntry(out, OutHeader.SIZE, entry);
            open.put(out, OutHeader.SIZE + EntryOut.SIZE);
            return header(out, unique, 0, EntryOut.SIZE + OpenOut.SIZE);
        }
    }

    record Written(int bytes) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            out.set(JAVA_INT, OutHeader.SIZE + WriteOut.WRITTEN, bytes);
            out.set(JAVA_INT, OutHeader.SIZE + WriteOut.WRITTEN + 4, 0);
            return header(out, unique, 0, WriteOut.SIZE);
        }
    }

    record Statfs(FsStats stats) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            MemorySegment b = out.asSlice(OutHeader.SIZE, StatfsOut.SIZE);
            b.fill((byte) 0);
            b.set(JAVA_LONG, StatfsOut.BLOCKS, stats.totalBlocks());
            b.set(JAVA_LONG, StatfsOut.BFREE, stats.freeBlocks());
            b.set(JAVA_LONG, StatfsOut.BAVAIL, stats.freeBlocks());
            b.set(JAVA_LONG, StatfsOut.FILES, stats.totalInodes());
            b.set(JAVA_LONG, StatfsOut.FFREE, stats.freeInodes());
            b.set(JAVA_INT, StatfsOut.BSIZE, stats.blockSize());
            b.set(JAVA_INT, StatfsOut.NAMELEN, stats.nameMax());
            b.set(JAVA_INT, StatfsOut.FRSIZE, stats.blockSize());
            return header(out, unique, 0, StatfsOut.SIZE);
        }
    }

    /** READLINK's answer: the target's bytes, no NUL. */
    record Link(String target) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            byte[] bytes = target.getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(bytes, 0, out, java.lang.foreign.ValueLayout.JAVA_BYTE, OutHeader.SIZE, bytes.length);
            return header(out, unique, 0, bytes.length);
        }
    }

    /** Bytes as they are (GETXATTR's value, LISTXATTR's NUL-terminated names). */
    record Data(byte[] bytes) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            MemorySegment.copy(bytes, 0, out, java.lang.foreign.ValueLayout.JAVA_BYTE, OutHeader.SIZE, bytes.length);
            return header(out, unique, 0, bytes.length);
        }
    }

    /** GETXATTR's or LISTXATTR's answer to a size-0 request: how many bytes the answer takes. */
    record XattrSize(int bytes) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            out.set(JAVA_INT, OutHeader.SIZE + GetxattrOut.SIZE_BYTES, bytes);
            out.set(JAVA_INT, OutHeader.SIZE + GetxattrOut.SIZE_BYTES + 4, 0);
            return header(out, unique, 0, GetxattrOut.SIZE);
        }
    }

    /** GETLK's answer: the conflicting lock, or type F_UNLCK for none; bytes inclusive, as in {@code struct flock}. */
    record Lk(long start, long end, int type) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            out.set(JAVA_LONG, OutHeader.SIZE + LkOut.START, start);
            out.set(JAVA_LONG, OutHeader.SIZE + LkOut.END, end);
            out.set(JAVA_INT, OutHeader.SIZE + LkOut.TYPE, type);
            out.set(JAVA_INT, OutHeader.SIZE + LkOut.PID, 0);
            return header(out, unique, 0, LkOut.SIZE);
        }
    }

    /** LSEEK's answer. */
    record Offset(long offset) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            out.set(JAVA_LONG, OutHeader.SIZE + LseekOut.OFFSET, offset);
            return header(out, unique, 0, LseekOut.SIZE);
        }
    }

    /** A body already written after the header (READ's data, READDIR's entries): only the header is added. */
    record InPlace(int bodyBytes) implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            return header(out, unique, 0, bodyBytes);
        }
    }

    /** INIT's answer: the settled version and what this file system does. */
    record Init(int minor, int maxReadahead, int flags, int flags2, int maxWrite, int maxPages, int maxBackground)
            implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            MemorySegment b = out.asSlice(OutHeader.SIZE, InitOut.SIZE);
            b.fill((byte) 0);
            b.set(JAVA_INT, InitOut.MAJOR, FuseAbi.KERNEL_VERSION);
            b.set(JAVA_INT, InitOut.MINOR, minor);
            b.set(JAVA_INT, InitOut.MAX_READAHEAD, maxReadahead);
            b.set(JAVA_INT, InitOut.FLAGS, flags);
            b.set(JAVA_SHORT, InitOut.MAX_BACKGROUND, (short) maxBackground);
            b.set(JAVA_SHORT, InitOut.CONGESTION_THRESHOLD, (short) (maxBackground * 3 / 4));
            b.set(JAVA_INT, InitOut.MAX_WRITE, maxWrite);
            b.set(JAVA_INT, InitOut.TIME_GRAN, 1);
            b.set(JAVA_SHORT, InitOut.MAX_PAGES, (short) maxPages);
            b.set(JAVA_INT, InitOut.FLAGS2, flags2);
            return header(out, unique, 0, InitOut.SIZE);
        }
    }

    /** An INIT from a kernel of a newer major version: only our major, so that it retries with ours. */
    record MajorOnly() implements FuseReply {
        @Override
        public int encode(MemorySegment out, long unique) {
            out.set(JAVA_INT, OutHeader.SIZE + InitOut.MAJOR, FuseAbi.KERNEL_VERSION);
            out.set(JAVA_INT, OutHeader.SIZE + InitOut.MINOR, FuseAbi.KERNEL_MINOR_VERSION);
            return header(out, unique, 0, 8);
        }
    }
}
