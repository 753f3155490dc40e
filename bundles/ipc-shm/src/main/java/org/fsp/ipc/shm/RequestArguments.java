package org.fsp.ipc.shm;

import static org.fsp.api.channel.ChannelOpcodes.XATTR_NOFOLLOW;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.fsp.api.channel.RequestFlyweight;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;

/**
 * The arguments of the request a {@link RequestAdapter} copied out of a client's slot, each checked before use as
 * Linux checks a system call's: a bad one is an {@link FsException} with the errno Linux would give (EINVAL, ENOENT,
 * ENAMETOOLONG), never a wrong call into the file system. Fields come from the adapter's private copy of the header,
 * read once; paths are copied out of the segment once more, bounds-checked against the session's own geometry and
 * strictly decoded, so a client rewriting its slot meanwhile changes nothing. One per adapter (it owns a buffer).
 */
final class RequestArguments {

    /** Longest path in bytes, without the NUL that PATH_MAX counts. */
    static final int PATH_BYTES_MAX = FileSystemService.PATH_MAX - 1;

    private final RequestFlyweight request;
    private final MemorySegment pathCopy = Arena.ofAuto().allocate(PATH_BYTES_MAX, 64);
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    /** Over {@code request}, the flyweight on the adapter's copy of the header. */
    RequestArguments(RequestFlyweight request) {
        this.request = request;
    }

    /** Path 1 or 2 from the slot's data at {@code dataOffset}, copied out, bounds-checked and strictly decoded. */
    String path(ClientSession s, long dataOffset, int which) throws FsException {
        int length1 = request.path1Length();
        int length2 = request.path2Length();
        if (length1 < 0 || length2 < 0 || (long) length1 + length2 > s.layout.slotDataBytes()) {
            throw new FsException(Errno.EINVAL, "path lengths " + length1 + ", " + length2);
        }
        int start = which == 1 ? 0 : length1;
        int length = which == 1 ? length1 : length2;
        if (length == 0) {
            throw new FsException(Errno.ENOENT, "empty path");
        }
        if (length > PATH_BYTES_MAX) {
            throw new FsException(Errno.ENAMETOOLONG, "path of " + length + " bytes");
        }
        MemorySegment.copy(s.segment, dataOffset + start, pathCopy, 0, length);
        ByteBuffer bytes = pathCopy.asSlice(0, length).asByteBuffer();
        for (int i = 0; i < length; i++) {
            if (bytes.get(i) == 0) {
                throw new FsException(Errno.EINVAL, "NUL in path");
            }
        }
        try {
            return utf8.reset().decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new FsException(Errno.EINVAL, "path is not UTF-8");
        }
    }

    /** The length of a read or write through the slot: at most the slot's data. */
    int length(ClientSession s) throws FsException {
        long length = request.length();
        if (length < 0 || length > s.layout.slotDataBytes()) {
            throw new FsException(Errno.EINVAL, "length " + length);
        }
        return (int) length;
    }

    /** A file offset whose end (with the length) does not overflow. */
    long position() throws FsException {
        long position = request.fileOffset();
        if (position < 0 || position + request.length() < 0) {
            throw new FsException(Errno.EINVAL, "offset " + position);
        }
        return position;
    }

    /** A file size (truncate). */
    long size() throws FsException {
        long size = request.length();
        if (size < 0) {
            throw new FsException(Errno.EINVAL, "size " + size);
        }
        return size;
    }

    /** Permission bits with set-user-ID, set-group-ID and sticky, nothing else. */
    int mode() throws FsException {
        int mode = request.mode();
        if ((mode & ~07777) != 0) {
            throw new FsException(Errno.EINVAL, "mode 0" + Integer.toOctalString(mode));
        }
        return mode;
    }

    /** access(2)'s mask: R_OK, W_OK and X_OK (F_OK is 0). */
    int accessMode() throws FsException {
        int mode = request.mode();
        if ((mode & ~(FileSystemService.R_OK | FileSystemService.W_OK | FileSystemService.X_OK)) != 0) {
            throw new FsException(Errno.EINVAL, "access mode " + mode);
        }
        return mode;
    }

    /** The xattr opcodes' follow flag; any flag bit but {@code allowed} and XATTR_NOFOLLOW is EINVAL. */
    boolean follow(int allowed) throws FsException {
        int flags = request.flags();
        if ((flags & ~(allowed | XATTR_NOFOLLOW)) != 0) {
            throw new FsException(Errno.EINVAL, "xattr flags " + flags);
        }
        return (flags & XATTR_NOFOLLOW) == 0;
    }

    /**
     * The range of the client's bulk area that arg0 (offset in the area) and length name, checked against the
     * session's own geometry (never against anything in shared memory): EINVAL unless it lies inside the area and is
     * at most 1 MiB.
     */
    MemorySegment bulkRange(ClientSession s) throws FsException {
        long offset = request.arg0();
        long length = request.length();
        if (!s.layout.bulkRangeValid(offset, length)) {
            throw new FsException(
                    Errno.EINVAL,
                    "bulk range " + offset + "+" + length + " outside the bulk area of " + s.layout.bulkBytes());
        }
        return s.segment.asSlice(s.layout.bulkOffset() + offset, length);
    }

    /** A uid or gid, or ID_UNCHANGED (-1). */
    static int id(long value) throws FsException {
        if (value < FileSystemService.ID_UNCHANGED || value > Integer.MAX_VALUE) {
            throw new FsException(Errno.EINVAL, "id " + value);
        }
        return (int) value;
    }

    /** A time in ns since the epoch, or UTIME_NOW / UTIME_OMIT. */
    static long time(long nanos) throws FsException {
        if (nanos < 0 && nanos != FileSystemService.UTIME_NOW && nanos != FileSystemService.UTIME_OMIT) {
            throw new FsException(Errno.EINVAL, "time " + nanos);
        }
        return nanos;
    }
}
