package org.fsp.ipc.fuse;

/**
 * The wire format of the FUSE kernel protocol (Linux {@code include/uapi/linux/fuse.h}, protocol 7.31): one nested
 * descriptor per message struct, with the byte offset of each field and the struct's size. All fields are in the
 * host's byte order (little-endian here); every struct is padded to 8 bytes.
 *
 * <p>A request is an {@link InHeader} followed by the opcode's body; a reply is an {@link OutHeader} followed by the
 * answer's struct (or nothing, for an error). For example, a LOOKUP request and its reply:
 *
 * <pre>
 *   request                                   reply
 *  +-------------------+                     +-------------------+
 *  | InHeader (40)     | opcode 1, nodeid    | OutHeader (16)    | error 0, same unique
 *  +-------------------+                     +-------------------+
 *  | name, NUL         |                     | EntryOut (128)    | nodeid, valid times, Attr (88)
 *  +-------------------+                     +-------------------+
 * </pre>
 */
final class FuseAbi {

    private FuseAbi() {}

    /** The protocol major version this front end speaks. */
    static final int KERNEL_VERSION = 7;
    /** The newest minor version whose messages this front end decodes; INIT settles on min(kernel's, this). */
    static final int KERNEL_MINOR_VERSION = 31;
    /** The oldest minor version accepted: earlier ones lack fields the decoder relies on. */
    static final int MIN_MINOR_VERSION = 31;
    /** The node id of the mount's root directory. */
    static final long ROOT_ID = 1;

    /**
     * {@code struct fuse_in_header}, before every request.
     *
     * <pre>
     *  0       4       8              16              24      28      32      36      40
     * +-------+-------+---------------+---------------+-------+-------+-------+-------+
     * |  len  |opcode |    unique     |    nodeid     |  uid  |  gid  |  pid  | pad   |
     * +-------+-------+---------------+---------------+-------+-------+-------+-------+
     * </pre>
     */
    static final class InHeader {
        static final int LEN = 0; // bytes of the whole request, header included
        static final int OPCODE = 4;
        static final int UNIQUE = 8;
        static final int NODE_ID = 16;
        static final int UID = 24;
        static final int GID = 28;
        static final int PID = 32;
        static final int SIZE = 40;

        private InHeader() {}
    }

    /** {@code struct fuse_out_header}: len (bytes of the whole reply), error (0 or a negative errno), unique. */
    static final class OutHeader {
        static final int LEN = 0;
        static final int ERROR = 4;
        static final int UNIQUE = 8;
        static final int SIZE = 16;

        private OutHeader() {}
    }

    /** {@code struct fuse_attr}: times in seconds plus nanoseconds, sizes in bytes, blocks of 512 bytes. */
    static final class Attr {
        static final int INO = 0;
        static final int SIZE_BYTES = 8;
        static final int BLOCKS = 16;
        static final int ATIME = 24;
        static final int MTIME = 32;
        static final int CTIME = 40;
        static final int ATIME_NSEC = 48;
        static final int MTIME_NSEC = 52;
        static final int CTIME_NSEC = 56;
        static final int MODE = 60;
        static final int NLINK = 64;
        static final int UID = 68;
        static final int GID = 72;
        static final int RDEV = 76;
        static final int BLKSIZE = 80;
        static final int FLAGS = 84;
        static final int SIZE = 88;

        private Attr() {}
    }

    /** {@code struct fuse_entry_out}: the answer to LOOKUP, MKNOD, MKDIR, SYMLINK, LINK and (first half) CREATE. */
    static final class EntryOut {
        static final int NODE_ID = 0;
        static final int GENERATION = 8;
        static final int ENTRY_VALID = 16; // seconds
        static final int ATTR_VALID = 24; // seconds
        static final int ENTRY_VALID_NSEC = 32;
        static final int ATTR_VALID_NSEC = 36;
        static final int ATTR = 40;
        static final int SIZE = ATTR + Attr.SIZE;

        private EntryOut() {}
    }

    /** {@code struct fuse_attr_out}: the answer to GETATTR and SETATTR. */
    static final class AttrOut {
        static final int ATTR_VALID = 0; // seconds
        static final int ATTR_VALID_NSEC = 8;
        static final int ATTR = 16;
        static final int SIZE = ATTR + Attr.SIZE;

        private AttrOut() {}
    }

    /** {@code struct fuse_open_out}: the answer to OPEN, OPENDIR and (second half) CREATE. */
    static final class OpenOut {
        static final int FH = 0;
        static final int OPEN_FLAGS = 8;
        static final int SIZE = 16;

        private OpenOut() {}
    }

    /** {@code struct fuse_write_out}: bytes written. */
    static final class WriteOut {
        static final int WRITTEN = 0;
        static final int SIZE = 8;

        private WriteOut() {}
    }

    /** {@code struct fuse_kstatfs} inside {@code fuse_statfs_out}. */
    static final class StatfsOut {
        static final int BLOCKS = 0;
        static final int BFREE = 8;
        static final int BAVAIL = 16;
        static final int FILES = 24;
        static final int FFREE = 32;
        static final int BSIZE = 40;
        static final int NAMELEN = 44;
        static final int FRSIZE = 48;
        static final int SIZE = 80;

        private StatfsOut() {}
    }

    /** {@code struct fuse_dirent}: one READDIR entry, its name right after, the whole padded to 8 bytes. */
    static final class Dirent {
        static final int INO = 0;
        static final int OFF = 8; // the offset a READDIR continuing after this entry passes
        static final int NAMELEN = 16;
        static final int TYPE = 20; // DT_* (the S_IFMT bits shifted right by 12)
        static final int NAME = 24;

        private Dirent() {}

        /** Bytes one entry with a {@code nameLength}-byte name takes. */
        static int size(int nameLength) {
            return (NAME + nameLength + 7) & ~7;
        }
    }

    /** {@code struct fuse_direntplus}: an {@link EntryOut} and then a {@link Dirent}. */
    static final class DirentPlus {
        static final int ENTRY = 0;
        static final int DIRENT = EntryOut.SIZE;

        private DirentPlus() {}

        static int size(int nameLength) {
            return (DIRENT + Dirent.NAME + nameLength + 7) & ~7;
        }
    }

    /** {@code struct fuse_init_in}: major, minor, max_readahead (bytes), flags; 7.36+ kernels append flags2. */
    static final class InitIn {
        static final int MAJOR = 0;
        static final int MINOR = 4;
        static final int MAX_READAHEAD = 8;
        static final int FLAGS = 12;
        static final int SIZE = 16;
        /** u32, present when FLAGS has FUSE_INIT_EXT: the flags' bits 32 to 63. */
        static final int FLAGS2 = 16;

        private InitIn() {}
    }

    /** {@code struct fuse_init_out}. */
    static final class InitOut {
        static final int MAJOR = 0;
        static final int MINOR = 4;
        static final int MAX_READAHEAD = 8; // bytes
        static final int FLAGS = 12;
        static final int MAX_BACKGROUND = 16; // u16: background requests queued at most
        static final int CONGESTION_THRESHOLD = 18; // u16
        static final int MAX_WRITE = 20; // bytes in one WRITE
        static final int TIME_GRAN = 24; // ns: granularity of the times this file system keeps
        static final int MAX_PAGES = 28; // u16: pages in one request
        static final int MAP_ALIGNMENT = 30; // u16
        static final int FLAGS2 = 32; // the flags' bits 32 to 63, read by the kernel when FLAGS has FUSE_INIT_EXT
        static final int SIZE = 64;

        private InitOut() {}
    }

    /** {@code struct fuse_forget_in}: lookups to drop. */
    static final class ForgetIn {
        static final int NLOOKUP = 0;
        static final int SIZE = 8;

        private ForgetIn() {}
    }

    /** {@code struct fuse_batch_forget_in}, then {@code count} × {@code fuse_forget_one} (nodeid, nlookup). */
    static final class BatchForgetIn {
        static final int COUNT = 0;
        static final int SIZE = 8;
        static final int ONE_NODE_ID = 0;
        static final int ONE_NLOOKUP = 8;
        static final int ONE_SIZE = 16;

        private BatchForgetIn() {}
    }

    /** {@code struct fuse_getattr_in}. */
    static final class GetattrIn {
        static final int FLAGS = 0;
        static final int FH = 8;
        static final int SIZE = 16;

        private GetattrIn() {}
    }

    /** {@code struct fuse_setattr_in}: which fields count is in {@code valid} (FATTR_* bits). */
    static final class SetattrIn {
        static final int VALID = 0;
        static final int FH = 8;
        static final int SIZE_BYTES = 16;
        static final int ATIME = 32;
        static final int MTIME = 40;
        static final int ATIME_NSEC = 56;
        static final int MTIME_NSEC = 60;
        static final int MODE = 68;
        static final int UID = 76;
        static final int GID = 80;
        static final int SIZE = 88;

        private SetattrIn() {}
    }

    /** {@code struct fuse_mknod_in}, then the name. */
    static final class MknodIn {
        static final int MODE = 0;
        static final int RDEV = 4;
        static final int UMASK = 8;
        static final int SIZE = 16;

        private MknodIn() {}
    }

    /** {@code struct fuse_mkdir_in}, then the name. */
    static final class MkdirIn {
        static final int MODE = 0;
        static final int UMASK = 4;
        static final int SIZE = 8;

        private MkdirIn() {}
    }

    /** {@code struct fuse_rename_in} (RENAME) or {@code fuse_rename2_in} (RENAME2), then two names. */
    static final class RenameIn {
        static final int NEWDIR = 0;
        static final int SIZE = 8;
        static final int FLAGS = 8;
        static final int SIZE2 = 16;

        private RenameIn() {}
    }

    /** {@code struct fuse_link_in}, then the new name. */
    static final class LinkIn {
        static final int OLD_NODE_ID = 0;
        static final int SIZE = 8;

        private LinkIn() {}
    }

    /** {@code struct fuse_open_in}: the open(2) flags the kernel passes on. */
    static final class OpenIn {
        static final int FLAGS = 0;
        static final int SIZE = 8;

        private OpenIn() {}
    }

    /** {@code struct fuse_create_in}, then the name. */
    static final class CreateIn {
        static final int FLAGS = 0;
        static final int MODE = 4;
        static final int UMASK = 8;
        static final int SIZE = 16;

        private CreateIn() {}
    }

    /** {@code struct fuse_read_in} (READ, READDIR, READDIRPLUS). */
    static final class ReadIn {
        static final int FH = 0;
        static final int OFFSET = 8;
        static final int SIZE_BYTES = 16;
        static final int SIZE = 40;

        private ReadIn() {}
    }

    /** {@code struct fuse_write_in}, then {@code size} bytes of data. */
    static final class WriteIn {
        static final int FH = 0;
        static final int OFFSET = 8;
        static final int SIZE_BYTES = 16;
        static final int WRITE_FLAGS = 20;
        static final int SIZE = 40;

        private WriteIn() {}
    }

    /** {@code struct fuse_release_in} (RELEASE, RELEASEDIR). */
    static final class ReleaseIn {
        static final int FH = 0;
        static final int FLAGS = 8;
        static final int RELEASE_FLAGS = 12; // FUSE_RELEASE_FLOCK_UNLOCK
        static final int LOCK_OWNER = 16;
        static final int SIZE = 24;

        private ReleaseIn() {}
    }

    /** {@code struct fuse_flush_in}. */
    static final class FlushIn {
        static final int FH = 0;
        static final int LOCK_OWNER = 16; // the closing process's POSIX lock owner
        static final int SIZE = 24;

        private FlushIn() {}
    }

    /** {@code struct fuse_fsync_in} (FSYNC, FSYNCDIR). */
    static final class FsyncIn {
        static final int FH = 0;
        static final int FSYNC_FLAGS = 8;
        static final int SIZE = 16;

        private FsyncIn() {}
    }

    /** {@code struct fuse_access_in}: R_OK/W_OK/X_OK bits. */
    static final class AccessIn {
        static final int MASK = 0;
        static final int SIZE = 8;

        private AccessIn() {}
    }

    /** {@code struct fuse_interrupt_in}: the unique of the request to interrupt. */
    static final class InterruptIn {
        static final int UNIQUE = 0;
        static final int SIZE = 8;

        private InterruptIn() {}
    }

    /** {@code struct fuse_setxattr_in} (7.31: without the 7.33 extension), then the name, NUL, and the value. */
    static final class SetxattrIn {
        static final int SIZE_BYTES = 0; // bytes of the value
        static final int FLAGS = 4; // XATTR_CREATE, XATTR_REPLACE
        static final int SIZE = 8;

        private SetxattrIn() {}
    }

    /** {@code struct fuse_getxattr_in} (GETXATTR, then the name; LISTXATTR): the caller's buffer size. */
    static final class GetxattrIn {
        static final int SIZE_BYTES = 0; // 0: only ask how large the answer is
        static final int SIZE = 8;

        private GetxattrIn() {}
    }

    /** {@code struct fuse_getxattr_out}: the answer's size, for a GETXATTR or LISTXATTR of size 0. */
    static final class GetxattrOut {
        static final int SIZE_BYTES = 0;
        static final int SIZE = 8;

        private GetxattrOut() {}
    }

    /**
     * {@code struct fuse_lk_in} (GETLK, SETLK, SETLKW): the file, the lock owner (a process for POSIX locks, an open
     * file for flock), a {@code fuse_file_lock} and the flags (FUSE_LK_FLOCK).
     */
    static final class LkIn {
        static final int FH = 0;
        static final int OWNER = 8;
        static final int START = 16; // first byte
        static final int END = 24; // last byte, inclusive; OFFSET_MAX: to the end
        static final int TYPE = 32; // F_RDLCK, F_WRLCK, F_UNLCK
        static final int PID = 36;
        static final int LK_FLAGS = 40;
        static final int SIZE = 48;

        private LkIn() {}
    }

    /** {@code struct fuse_lk_out}: GETLK's answer, a {@code fuse_file_lock}. */
    static final class LkOut {
        static final int START = 0;
        static final int END = 8;
        static final int TYPE = 16;
        static final int PID = 20;
        static final int SIZE = 24;

        private LkOut() {}
    }

    /** {@code struct fuse_lseek_in}. */
    static final class LseekIn {
        static final int FH = 0;
        static final int OFFSET = 8;
        static final int WHENCE = 16; // SEEK_DATA (3) or SEEK_HOLE (4)
        static final int SIZE = 24;

        private LseekIn() {}
    }

    /** {@code struct fuse_lseek_out}: the offset found. */
    static final class LseekOut {
        static final int OFFSET = 0;
        static final int SIZE = 8;

        private LseekOut() {}
    }

    /** {@code struct fuse_fallocate_in}. */
    static final class FallocateIn {
        static final int FH = 0;
        static final int OFFSET = 8;
        static final int LENGTH = 16;
        static final int MODE = 24; // FALLOC_FL_* bits
        static final int SIZE = 32;

        private FallocateIn() {}
    }

    /** {@code struct fuse_copy_file_range_in}; the answer is a {@link WriteOut}. */
    static final class CopyFileRangeIn {
        static final int FH_IN = 0;
        static final int OFF_IN = 8;
        static final int NODE_ID_OUT = 16;
        static final int FH_OUT = 24;
        static final int OFF_OUT = 32;
        static final int LEN = 40;
        static final int FLAGS = 48;
        static final int SIZE = 56;

        private CopyFileRangeIn() {}
    }

    /** {@code struct fuse_notify_inval_inode_out}: after an {@link OutHeader} with unique 0, error = the notice code. */
    static final class NotifyInvalInodeOut {
        static final int INO = 0; // the node id
        static final int OFF = 8; // first byte of cached data to drop; negative: attributes only
        static final int LEN = 16; // bytes; 0 or less: to the end
        static final int SIZE = 24;

        private NotifyInvalInodeOut() {}
    }

    /** {@code struct fuse_notify_inval_entry_out}, then the name and a NUL. */
    static final class NotifyInvalEntryOut {
        static final int PARENT = 0; // the directory's node id
        static final int NAMELEN = 8; // bytes of the name, without the NUL
        static final int FLAGS = 12; // 0 (7.38's FUSE_EXPIRE_ONLY is not used)
        static final int SIZE = 16;

        private NotifyInvalEntryOut() {}
    }

    /**
     * {@code struct fuse_uring_req_header} (288 bytes): the first of a ring entry's two buffers (iov[0] of its
     * REGISTER). The kernel writes a request's {@code fuse_in_header} into {@code in_out} and its first argument (the
     * opcode's fixed struct, when it has one) into {@code op_in}; the rest of the request (names, WRITE data) goes to
     * the payload buffer (iov[1]). The answer goes back the same way: {@code fuse_out_header} into {@code in_out}, the
     * reply's body into the payload, its length into {@code payload_sz}.
     *
     * <pre>
     *   0                 128                256        264          272          276      280          288
     *  +------------------+------------------+----------+------------+------------+--------+------------+
     *  |  in_out (128)    |  op_in (128)     | flags u64| commit_id  | payload_sz | padding| reserved   |
     *  |  in/out header   |  opcode's struct |          | u64        | u32, bytes | u32    | u64        |
     *  +------------------+------------------+----------+------------+------------+--------+------------+
     *                                         \______ struct fuse_uring_ent_in_out (32) ______________/
     * </pre>
     */
    static final class UringReqHeader {
        static final int IN_OUT;
        static final int IN_OUT_BYTES = 128;
        static final int OP_IN;
        static final int OP_IN_BYTES = 128;
        static final int ENT_FLAGS;
        /** u64: the request's unique, which COMMIT_AND_FETCH names. */
        static final int ENT_COMMIT_ID;
        /** u32: bytes of the payload buffer in use, in either direction. */
        static final int ENT_PAYLOAD_SZ;

        static final int SIZE;

        static {
            int offset = 0;
            IN_OUT = offset;
            offset += IN_OUT_BYTES;
            OP_IN = offset;
            offset += OP_IN_BYTES;
            ENT_FLAGS = offset;
            offset += Long.BYTES;
            ENT_COMMIT_ID = offset;
            offset += Long.BYTES;
            ENT_PAYLOAD_SZ = offset;
            offset += Integer.BYTES;
            offset += Integer.BYTES; // padding
            offset += Long.BYTES; // reserved
            SIZE = offset;
        }

        private UringReqHeader() {}
    }

    /**
     * {@code struct fuse_uring_cmd_req} (24 bytes), in the 80-byte command area of a 128-byte SQE
     * ({@code IORING_OP_URING_CMD} on the {@code /dev/fuse} descriptor): flags (u64, 0), commit_id (u64: the unique
     * answered, 0 for REGISTER), qid (u16: the CPU queue), 6 bytes of padding.
     */
    static final class UringCmdReq {
        static final int FLAGS;
        static final int COMMIT_ID;
        static final int QID;
        static final int SIZE;

        static {
            int offset = 0;
            FLAGS = offset;
            offset += Long.BYTES;
            COMMIT_ID = offset;
            offset += Long.BYTES;
            QID = offset;
            offset += Short.BYTES;
            offset += 6; // padding
            SIZE = offset;
        }

        /** cmd_op of the SQE: register an entry's buffers and wait for a request. */
        static final int CMD_REGISTER = 1;
        /** cmd_op of the SQE: answer the entry's request and wait for the next. */
        static final int CMD_COMMIT_AND_FETCH = 2;

        private UringCmdReq() {}
    }
}
