package org.fsp.linux;

/**
 * Layout of {@code struct io_uring_sqe} (64 bytes): one submission queue entry, written by user space into the
 * mmapped SQE array and read by the kernel once the SQ tail that covers it is published. Only the fields FSP uses
 * are named; the rest of the union members overlay the same bytes.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+-------------------------------+
 *  |    opcode     |  flags (IOSQE)|        ioprio                 |  0
 *  +---------------+---------------+-------------------------------+
 *  |                    fd (or fixed-file index)                   |  4
 *  +---------------------------------------------------------------+
 *  |                   off: file offset, bytes (u64)               |  8
 *  +---------------------------------------------------------------+
 *  |                   addr: buffer address (u64)                  | 16
 *  +---------------------------------------------------------------+
 *  |                      len: bytes (u32)                         | 24
 *  +---------------------------------------------------------------+
 *  |     op flags: rw_flags / fsync_flags (IORING_FSYNC_*) (u32)   | 28
 *  +---------------------------------------------------------------+
 *  |                 user_data: returned in the CQE (u64)          | 32
 *  +-------------------------------+-------------------------------+
 *  |   buf_index (fixed buffers)   |        personality            | 40
 *  +-------------------------------+-------------------------------+
 *  |                     splice_fd_in / file_index                 | 44
 *  +---------------------------------------------------------------+
 *  |                  addr3 (u64), __pad2[1] (u64)                 | 48
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class SubmissionQueueEntryDescriptor {

    /** u8: {@code IORING_OP_*}. */
    public static final int OPCODE_OFFSET;
    /** u8: {@code IOSQE_*} flags. */
    public static final int FLAGS_OFFSET;
    /** u16: I/O priority. */
    public static final int IOPRIO_OFFSET;
    /** s32: file descriptor, or index into the registered files with {@link IoUring#IOSQE_FIXED_FILE}. */
    public static final int FD_OFFSET;
    /** u64: file offset in bytes. */
    public static final int OFF_OFFSET;
    /** u64: buffer address. */
    public static final int ADDR_OFFSET;
    /** u32: buffer length in bytes. */
    public static final int LEN_OFFSET;
    /** u32: per-opcode flags ({@code rw_flags}, {@code fsync_flags}). */
    public static final int OP_FLAGS_OFFSET;
    /** u64: opaque value copied to the completion. */
    public static final int USER_DATA_OFFSET;
    /** u16: index into the registered buffers for READ_FIXED / WRITE_FIXED. */
    public static final int BUF_INDEX_OFFSET;
    /** u16: credentials personality. */
    public static final int PERSONALITY_OFFSET;
    /** s32: splice_fd_in / file_index. */
    public static final int SPLICE_FD_IN_OFFSET;
    /** u64: addr3. */
    public static final int ADDR3_OFFSET;
    /** Size of one SQE, bytes (without IORING_SETUP_SQE128). */
    public static final int LENGTH;
    /** u32: {@code cmd_op} of IORING_OP_URING_CMD, overlaying the low half of {@code off}. */
    public static final int CMD_OP_OFFSET = 8;
    /** {@code cmd[]}: the IORING_OP_URING_CMD payload, overlaying {@code addr3} and what follows. */
    public static final int CMD_OFFSET = 48;
    /** Payload bytes of IORING_OP_URING_CMD in a 128-byte SQE (IORING_SETUP_SQE128). */
    public static final int CMD_BYTES_SQE128 = 128 - CMD_OFFSET;

    static {
        int offset = 0;
        OPCODE_OFFSET = offset;
        offset += Byte.BYTES;
        FLAGS_OFFSET = offset;
        offset += Byte.BYTES;
        IOPRIO_OFFSET = offset;
        offset += Short.BYTES;
        FD_OFFSET = offset;
        offset += Integer.BYTES;
        OFF_OFFSET = offset;
        offset += Long.BYTES;
        ADDR_OFFSET = offset;
        offset += Long.BYTES;
        LEN_OFFSET = offset;
        offset += Integer.BYTES;
        OP_FLAGS_OFFSET = offset;
        offset += Integer.BYTES;
        USER_DATA_OFFSET = offset;
        offset += Long.BYTES;
        BUF_INDEX_OFFSET = offset;
        offset += Short.BYTES;
        PERSONALITY_OFFSET = offset;
        offset += Short.BYTES;
        SPLICE_FD_IN_OFFSET = offset;
        offset += Integer.BYTES;
        ADDR3_OFFSET = offset;
        offset += Long.BYTES;
        offset += Long.BYTES; // __pad2[1]
        LENGTH = offset;
    }

    private SubmissionQueueEntryDescriptor() {}
}
