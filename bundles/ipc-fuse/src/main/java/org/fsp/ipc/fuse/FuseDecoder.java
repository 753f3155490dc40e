package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.ipc.fuse.FuseOpcodes.*;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.ipc.fuse.FuseAbi.*;
import org.fsp.ipc.fuse.FuseRequest.*;

/**
 * Turns the bytes of one request read from {@code /dev/fuse} into a {@link FuseRequest}, checking every length first:
 * the header's {@code len} against the bytes read, each body struct against what follows the header, each name for
 * its NUL inside the message, and a WRITE's data against its declared size. What fails a check becomes a
 * {@link Malformed} (EINVAL, or ENAMETOOLONG for a long name) and is answered as such; nothing here throws on bad
 * input. A message too short to carry a header has no unique to answer, and decodes to null.
 */
final class FuseDecoder {

    /** The most forget entries one BATCH_FORGET may carry and still fit the largest buffer. */
    private static final int MAX_BATCH_FORGET = (FuseChannel.BUFFER_BYTES - InHeader.SIZE) / BatchForgetIn.ONE_SIZE;

    private FuseDecoder() {}

    /** Decodes the {@code length} bytes at the start of {@code buf}; null if there is no header to answer. */
    static FuseRequest decode(MemorySegment buf, long length) {
        if (length < InHeader.SIZE || length > buf.byteSize()) {
            return null;
        }
        Header h = new Header(
                buf.get(JAVA_INT, InHeader.OPCODE),
                buf.get(JAVA_LONG, InHeader.UNIQUE),
                buf.get(JAVA_LONG, InHeader.NODE_ID),
                buf.get(JAVA_INT, InHeader.UID),
                buf.get(JAVA_INT, InHeader.GID),
                buf.get(JAVA_INT, InHeader.PID));
        long declared = Integer.toUnsignedLong(buf.get(JAVA_INT, InHeader.LEN));
        if (declared != length) {
            return malformed(h, "header says " + declared + " bytes, read " + length);
        }
        Body b = new Body(h, buf.asSlice(InHeader.SIZE, length - InHeader.SIZE));
        try {
            return b.decode();
        } catch (BadMessage e) {
            return new Malformed(h, e.errno, e.getMessage());
        }
    }

    private static Malformed malformed(Header h, String why) {
        return new Malformed(h, Errno.EINVAL, FuseOpcodes.name(h.opcode()) + ": " + why);
    }

    /** A failed check inside one body; never escapes the decoder. */
    private static final class BadMessage extends Exception {
        private static final long serialVersionUID = 1L;
        final Errno errno;

        BadMessage(Errno errno, String why) {
            super(why, null, false, false);
            this.errno = errno;
        }
    }

    /** The body after the header, read front to back with every length checked. */
    private static final class Body {
        private final Header h;
        private final MemorySegment body;
        private long pos;

        Body(Header h, MemorySegment body) {
            this.h = h;
            this.body = body;
        }

        FuseRequest decode() throws BadMessage {
            return switch (h.opcode()) {
                case INIT -> {
                    MemorySegment s = fixed(InitIn.SIZE, true);
                    int flags = s.get(JAVA_INT, InitIn.FLAGS);
                    boolean ext = (flags & FUSE_INIT_EXT) != 0 && body.byteSize() >= InitIn.FLAGS2 + Integer.BYTES;
                    yield new Init(
                            h,
                            s.get(JAVA_INT, InitIn.MAJOR),
                            s.get(JAVA_INT, InitIn.MINOR),
                            s.get(JAVA_INT, InitIn.MAX_READAHEAD),
                            flags,
                            ext ? body.get(JAVA_INT, InitIn.FLAGS2) : 0);
                }
                case LOOKUP -> new Lookup(h, name());
                case FORGET -> new Forget(h, fixed(ForgetIn.SIZE, false).get(JAVA_LONG, ForgetIn.NLOOKUP));
                case BATCH_FORGET -> batchForget();
                case GETATTR -> {
                    MemorySegment s = fixed(GetattrIn.SIZE, false);
                    yield new Getattr(h, s.get(JAVA_INT, GetattrIn.FLAGS), s.get(JAVA_LONG, GetattrIn.FH));
                }
                case SETATTR -> {
                    MemorySegment s = fixed(SetattrIn.SIZE, false);
                    yield new Setattr(
                            h,
                            s.get(JAVA_INT, SetattrIn.VALID),
                            s.get(JAVA_LONG, SetattrIn.FH),
                            s.get(JAVA_LONG, SetattrIn.SIZE_BYTES),
                            s.get(JAVA_LONG, SetattrIn.ATIME),
                            s.get(JAVA_INT, SetattrIn.ATIME_NSEC),
                            s.get(JAVA_LONG, SetattrIn.MTIME),
                            s.get(JAVA_INT, SetattrIn.MTIME_NSEC),
                            s.get(JAVA_INT, SetattrIn.MODE),
                            s.get(JAVA_INT, SetattrIn.UID),
                            s.get(JAVA_INT, SetattrIn.GID));
                }
                case READLINK -> new Readlink(h);
                case SYMLINK -> {
                    String name = name();
                    yield new Symlink(h, name, string(FileSystemService.PATH_MAX - 1));
                }
                case MKNOD -> {
                    MemorySegment s = fixed(MknodIn.SIZE, true);
                    yield new Mknod(h, s.get(JAVA_INT, MknodIn.MODE), s.get(JAVA_INT, MknodIn.RDEV), name());
                }
                case MKDIR -> new Mkdir(h, fixed(MkdirIn.SIZE, true).get(JAVA_INT, MkdirIn.MODE), name());
                case UNLINK -> new Unlink(h, name());
                case RMDIR -> new Rmdir(h, name());
                case RENAME -> {
                    long newDir = fixed(RenameIn.SIZE, true).get(JAVA_LONG, RenameIn.NEWDIR);
                    String from = name();
                    yield new Rename(h, newDir, 0, from, name());
                }
                case RENAME2 -> {
                    MemorySegment s = fixed(RenameIn.SIZE2, true);
                    String from = name();
                    yield new Rename(
                            h, s.get(JAVA_LONG, RenameIn.NEWDIR), s.get(JAVA_INT, RenameIn.FLAGS), from, name());
                }
                case LINK -> new Link(h, fixed(LinkIn.SIZE, true).get(JAVA_LONG, LinkIn.OLD_NODE_ID), name());
                case OPEN, OPENDIR ->
                    new Open(h, fixed(OpenIn.SIZE, false).get(JAVA_INT, OpenIn.FLAGS), h.opcode() == OPENDIR);
                case CREATE -> {
                    MemorySegment s = fixed(CreateIn.SIZE, true);
                    yield new Create(h, s.get(JAVA_INT, CreateIn.FLAGS), s.get(JAVA_INT, CreateIn.MODE), name());
                }
                case READ, READDIR, READDIRPLUS -> {
                    MemorySegment s = fixed(ReadIn.SIZE, false);
                    long fh = s.get(JAVA_LONG, ReadIn.FH);
                    long offset = s.get(JAVA_LONG, ReadIn.OFFSET);
                    int size = s.get(JAVA_INT, ReadIn.SIZE_BYTES);
                    if (offset < 0 || size < 0) {
                        throw new BadMessage(Errno.EINVAL, "offset " + offset + " size " + size);
                    }
                    yield h.opcode() == READ
                            ? new Read(h, fh, offset, size)
                            : new Readdir(h, fh, offset, size, h.opcode() == READDIRPLUS);
                }
                case WRITE -> write();
                case STATFS -> new Statfs(h);
                case RELEASE, RELEASEDIR -> {
                    MemorySegment s = fixed(ReleaseIn.SIZE, false);
                    yield new Release(
                            h,
                            s.get(JAVA_LONG, ReleaseIn.FH),
                            s.get(JAVA_INT, ReleaseIn.FLAGS),
                            h.opcode() == RELEASEDIR,
                            s.get(JAVA_INT, ReleaseIn.RELEASE_FLAGS),
                            s.get(JAVA_LONG, ReleaseIn.LOCK_OWNER));
                }
                case FLUSH -> {
                    MemorySegment s = fixed(FlushIn.SIZE, false);
                    yield new Flush(h, s.get(JAVA_LONG, FlushIn.FH), s.get(JAVA_LONG, FlushIn.LOCK_OWNER));
                }
                case GETLK, SETLK, SETLKW -> {
                    MemorySegment s = fixed(LkIn.SIZE, false);
                    long start = s.get(JAVA_LONG, LkIn.START);
                    long end = s.get(JAVA_LONG, LkIn.END);
                    if (start < 0 || end < start) {
                        throw new BadMessage(Errno.EINVAL, "lock range " + start + " to " + end);
                    }
                    yield new Lock(
                            h,
                            s.get(JAVA_LONG, LkIn.FH),
                            s.get(JAVA_LONG, LkIn.OWNER),
                            start,
                            end,
                            s.get(JAVA_INT, LkIn.TYPE),
                            s.get(JAVA_INT, LkIn.LK_FLAGS),
                            h.opcode() == GETLK,
                            h.opcode() == SETLKW);
                }
                case FSYNC, FSYNCDIR -> {
                    MemorySegment s = fixed(FsyncIn.SIZE, false);
                    yield new Fsync(
                            h,
                            s.get(JAVA_LONG, FsyncIn.FH),
                            (s.get(JAVA_INT, FsyncIn.FSYNC_FLAGS) & FUSE_FSYNC_FDATASYNC) != 0,
                            h.opcode() == FSYNCDIR);
                }
                case ACCESS -> new Access(h, fixed(AccessIn.SIZE, false).get(JAVA_INT, AccessIn.MASK));
                case INTERRUPT ->
                    new Interrupt(h, fixed(InterruptIn.SIZE, false).get(JAVA_LONG, InterruptIn.UNIQUE));
                case SETXATTR -> {
                    MemorySegment in = fixed(SetxattrIn.SIZE, true);
                    long size = Integer.toUnsignedLong(in.get(JAVA_INT, SetxattrIn.SIZE_BYTES));
                    String name = xattrName();
                    if (body.byteSize() - pos != size) {
                        throw new BadMessage(
                                Errno.EINVAL, "SETXATTR of " + size + " bytes carries " + (body.byteSize() - pos));
                    }
                    yield new Setxattr(h, name, body.asSlice(pos), in.get(JAVA_INT, SetxattrIn.FLAGS));
                }
                case GETXATTR -> {
                    int size = fixed(GetxattrIn.SIZE, true).get(JAVA_INT, GetxattrIn.SIZE_BYTES);
                    yield new Getxattr(h, xattrName(), size);
                }
                case LISTXATTR -> new Listxattr(h, fixed(GetxattrIn.SIZE, false).get(JAVA_INT, GetxattrIn.SIZE_BYTES));
                case REMOVEXATTR -> new Removexattr(h, xattrName());
                case LSEEK -> {
                    MemorySegment s = fixed(LseekIn.SIZE, false);
                    yield new Lseek(
                            h,
                            s.get(JAVA_LONG, LseekIn.FH),
                            s.get(JAVA_LONG, LseekIn.OFFSET),
                            s.get(JAVA_INT, LseekIn.WHENCE));
                }
                case FALLOCATE -> {
                    MemorySegment s = fixed(FallocateIn.SIZE, false);
                    yield new Fallocate(
                            h,
                            s.get(JAVA_LONG, FallocateIn.FH),
                            s.get(JAVA_LONG, FallocateIn.OFFSET),
                            s.get(JAVA_LONG, FallocateIn.LENGTH),
                            s.get(JAVA_INT, FallocateIn.MODE));
                }
                case COPY_FILE_RANGE -> {
                    MemorySegment s = fixed(CopyFileRangeIn.SIZE, false);
                    yield new CopyFileRange(
                            h,
                            s.get(JAVA_LONG, CopyFileRangeIn.FH_IN),
                            s.get(JAVA_LONG, CopyFileRangeIn.OFF_IN),
                            s.get(JAVA_LONG, CopyFileRangeIn.NODE_ID_OUT),
                            s.get(JAVA_LONG, CopyFileRangeIn.FH_OUT),
                            s.get(JAVA_LONG, CopyFileRangeIn.OFF_OUT),
                            s.get(JAVA_LONG, CopyFileRangeIn.LEN),
                            s.get(JAVA_LONG, CopyFileRangeIn.FLAGS));
                }
                case DESTROY -> new Destroy(h);
                default -> new Unsupported(h);
            };
        }

        /**
         * The next {@code size} bytes as one struct. A struct that ends the message may be followed by more than the
         * protocol version knows (a newer kernel's longer INIT); one that precedes names must leave room for them.
         */
        private MemorySegment fixed(int size, boolean more) throws BadMessage {
            if (body.byteSize() - pos < size) {
                throw new BadMessage(
                        Errno.EINVAL,
                        FuseOpcodes.name(h.opcode()) + ": body has " + (body.byteSize() - pos) + " bytes, needs "
                                + size);
            }
            MemorySegment s = body.asSlice(pos, size);
            pos += size;
            return s;
        }

        private FuseRequest batchForget() throws BadMessage {
            long count = Integer.toUnsignedLong(fixed(BatchForgetIn.SIZE, true).get(JAVA_INT, BatchForgetIn.COUNT));
            if (count > MAX_BATCH_FORGET || body.byteSize() - pos < count * BatchForgetIn.ONE_SIZE) {
                throw new BadMessage(Errno.EINVAL, "BATCH_FORGET of " + count + " does not fit its message");
            }
            long[] ids = new long[(int) count];
            long[] counts = new long[(int) count];
            for (int i = 0; i < count; i++) {
                MemorySegment one = fixed(BatchForgetIn.ONE_SIZE, true);
                ids[i] = one.get(JAVA_LONG, BatchForgetIn.ONE_NODE_ID);
                counts[i] = one.get(JAVA_LONG, BatchForgetIn.ONE_NLOOKUP);
            }
            return new BatchForget(h, ids, counts);
        }

        private FuseRequest write() throws BadMessage {
            MemorySegment s = fixed(WriteIn.SIZE, true);
            long offset = s.get(JAVA_LONG, WriteIn.OFFSET);
            long size = Integer.toUnsignedLong(s.get(JAVA_INT, WriteIn.SIZE_BYTES));
            if (offset < 0) {
                throw new BadMessage(Errno.EINVAL, "WRITE at offset " + offset);
            }
            if (body.byteSize() - pos != size) {
                throw new BadMessage(Errno.EINVAL, "WRITE of " + size + " bytes carries " + (body.byteSize() - pos));
            }
            return new Write(
                    h, s.get(JAVA_LONG, WriteIn.FH), offset, s.get(JAVA_INT, WriteIn.WRITE_FLAGS), body.asSlice(pos));
        }

        /**
         * An extended attribute name: NUL-terminated, not empty, at most XATTR_NAME_MAX bytes (ERANGE beyond, as
         * Linux's VFS answers), any byte but NUL allowed (a slash too).
         */
        private String xattrName() throws BadMessage {
            String n;
            try {
                n = string(FileSystemService.XATTR_NAME_MAX);
            } catch (BadMessage e) {
                throw e.errno == Errno.ENAMETOOLONG ? new BadMessage(Errno.ERANGE, e.getMessage()) : e;
            }
            if (n.isEmpty()) {
                throw new BadMessage(Errno.ERANGE, "empty extended attribute name");
            }
            return n;
        }

        /** A NUL-terminated file name, then more of the message. */
        private String name() throws BadMessage {
            String n = string(FileSystemService.NAME_MAX);
            if (n.isEmpty() || n.indexOf('/') >= 0) {
                throw new BadMessage(Errno.EINVAL, "bad name \"" + n + "\"");
            }
            return n;
        }

        /** Bytes up to the next NUL inside the body, as UTF-8; ENAMETOOLONG past {@code maxBytes}. */
        private String string(int maxBytes) throws BadMessage {
            long end = pos;
            long limit = body.byteSize();
            while (end < limit && body.get(JAVA_BYTE, end) != 0) {
                end++;
            }
            if (end == limit) {
                throw new BadMessage(Errno.EINVAL, FuseOpcodes.name(h.opcode()) + ": string without its NUL");
            }
            if (end - pos > maxBytes) {
                throw new BadMessage(Errno.ENAMETOOLONG, (end - pos) + " bytes");
            }
            ByteBuffer bytes = body.asSlice(pos, end - pos).asByteBuffer();
            pos = end + 1;
            try {
                return StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(bytes)
                        .toString();
            } catch (CharacterCodingException e) {
                throw new BadMessage(Errno.EINVAL, "name is not UTF-8");
            }
        }
    }
}
