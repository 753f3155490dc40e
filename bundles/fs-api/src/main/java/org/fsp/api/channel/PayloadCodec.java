package org.fsp.api.channel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FsStats;

/**
 * Encodes the structured replies that travel in a slot's data buffer: file attributes, file-system statistics and
 * directory entries. All little-endian, at offsets from the start of the data buffer.
 *
 * <pre>
 *  attributes (72 bytes)                  statistics (48 bytes)        directory entry (24 bytes + name, padded to 8)
 *   0 ino (64)        40 blockSize         0 blockSize                  0 ino (64)
 *   8 mode            44 padding           4 nameMax                    8 cookie (64)
 *  12 nlink           48 atime ns (64)     8 totalBlocks (64)          16 mode
 *  16 uid             56 mtime ns (64)    16 freeBlocks (64)           20 name length (bytes)
 *  20 gid             64 ctime ns (64)    24 totalInodes (64)          24 name (UTF-8)
 *  24 size (64)                           32 freeInodes (64)
 *  32 blocks (64)                         40 availableBlocks (64)
 * </pre>
 */
public final class PayloadCodec {

    public static final int ATTRIBUTES_BYTES = 72;
    public static final int STATS_BYTES = 48;
    public static final int DIR_ENTRY_HEADER_BYTES = 24;
    /** Largest encoded directory entry: header plus a name of NAME_MAX bytes, padded. */
    public static final int DIR_ENTRY_MAX_BYTES = DIR_ENTRY_HEADER_BYTES + 256;
    /**
     * A re-open token, as OPEN and REOPEN answer it: inode (64 bits), generation, open flags, and 16 bytes of MAC over
     * them and the session token. The client keeps it as opaque bytes and gives it back in a REOPEN.
     */
    public static final int REOPEN_TOKEN_BYTES = 32;

    private PayloadCodec() {}

    /** Writes {@code a} at {@code offset}; returns the bytes written. */
    public static int putAttributes(MemorySegment seg, long offset, FileAttributes a) {
        seg.set(JAVA_LONG, offset, a.ino());
        seg.set(JAVA_INT, offset + 8, a.mode());
        seg.set(JAVA_INT, offset + 12, a.nlink());
        seg.set(JAVA_INT, offset + 16, a.uid());
        seg.set(JAVA_INT, offset + 20, a.gid());
        seg.set(JAVA_LONG, offset + 24, a.size());
        seg.set(JAVA_LONG, offset + 32, a.blocks());
        seg.set(JAVA_INT, offset + 40, a.blockSize());
        seg.set(JAVA_INT, offset + 44, 0);
        seg.set(JAVA_LONG, offset + 48, a.atimeNanos());
        seg.set(JAVA_LONG, offset + 56, a.mtimeNanos());
        seg.set(JAVA_LONG, offset + 64, a.ctimeNanos());
        return ATTRIBUTES_BYTES;
    }

    public static FileAttributes getAttributes(MemorySegment seg, long offset) {
        return new FileAttributes(
                seg.get(JAVA_LONG, offset),
                seg.get(JAVA_INT, offset + 8),
                seg.get(JAVA_INT, offset + 12),
                seg.get(JAVA_INT, offset + 16),
                seg.get(JAVA_INT, offset + 20),
                seg.get(JAVA_LONG, offset + 24),
                seg.get(JAVA_LONG, offset + 32),
                seg.get(JAVA_INT, offset + 40),
                seg.get(JAVA_LONG, offset + 48),
                seg.get(JAVA_LONG, offset + 56),
                seg.get(JAVA_LONG, offset + 64));
    }

    /** Writes {@code s} at {@code offset}; returns the bytes written. */
    public static int putStats(MemorySegment seg, long offset, FsStats s) {
        seg.set(JAVA_INT, offset, s.blockSize());
        seg.set(JAVA_INT, offset + 4, s.nameMax());
        seg.set(JAVA_LONG, offset + 8, s.totalBlocks());
        seg.set(JAVA_LONG, offset + 16, s.freeBlocks());
        seg.set(JAVA_LONG, offset + 24, s.totalInodes());
        seg.set(JAVA_LONG, offset + 32, s.freeInodes());
        seg.set(JAVA_LONG, offset + 40, s.availableBlocks());
        return STATS_BYTES;
    }

    public static FsStats getStats(MemorySegment seg, long offset) {
        return new FsStats(
                seg.get(JAVA_INT, offset),
                seg.get(JAVA_LONG, offset + 8),
                seg.get(JAVA_LONG, offset + 16),
                seg.get(JAVA_LONG, offset + 24),
                seg.get(JAVA_LONG, offset + 32),
                seg.get(JAVA_INT, offset + 4),
                seg.get(JAVA_LONG, offset + 40));
    }

    /** Bytes {@code e} takes when encoded. */
    public static int dirEntryBytes(byte[] utf8Name) {
        return (DIR_ENTRY_HEADER_BYTES + utf8Name.length + 7) & ~7;
    }

    /** Writes one entry with its UTF-8 name at {@code offset}; returns the bytes written (padded to 8). */
    public static int putDirEntry(MemorySegment seg, long offset, DirEntry e, byte[] utf8Name) {
        seg.set(JAVA_LONG, offset, e.ino());
        seg.set(JAVA_LONG, offset + 8, e.cookie());
        seg.set(JAVA_INT, offset + 16, e.mode());
        seg.set(JAVA_INT, offset + 20, utf8Name.length);
        MemorySegment.copy(utf8Name, 0, seg, JAVA_BYTE, offset + DIR_ENTRY_HEADER_BYTES, utf8Name.length);
        return dirEntryBytes(utf8Name);
    }

    /**
     * Reads {@code count} entries written by {@link #putDirEntry} from {@code payloadBytes} bytes at {@code offset}.
     * Throws {@link IllegalStateException} if they do not fit in those bytes.
     */
    public static List<DirEntry> getDirEntries(MemorySegment seg, long offset, int count, int payloadBytes) {
        List<DirEntry> out = new ArrayList<>(count);
        long pos = 0;
        for (int i = 0; i < count; i++) {
            if (pos + DIR_ENTRY_HEADER_BYTES > payloadBytes) {
                throw new IllegalStateException("directory entry " + i + " beyond payload of " + payloadBytes);
            }
            int nameLen = seg.get(JAVA_INT, offset + pos + 20);
            if (nameLen < 0 || pos + DIR_ENTRY_HEADER_BYTES + nameLen > payloadBytes) {
                throw new IllegalStateException("directory entry " + i + " name beyond payload of " + payloadBytes);
            }
            byte[] name = new byte[nameLen];
            MemorySegment.copy(seg, JAVA_BYTE, offset + pos + DIR_ENTRY_HEADER_BYTES, name, 0, nameLen);
            out.add(new DirEntry(
                    new String(name, StandardCharsets.UTF_8),
                    seg.get(JAVA_LONG, offset + pos),
                    seg.get(JAVA_INT, offset + pos + 16),
                    seg.get(JAVA_LONG, offset + pos + 8)));
            pos += (DIR_ENTRY_HEADER_BYTES + nameLen + 7) & ~7;
        }
        return out;
    }
}
