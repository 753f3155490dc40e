package org.fsp.linux;

/**
 * Layout of {@code struct io_uring_cqe} (16 bytes): one completion, written by the kernel into the mmapped CQ ring and
 * read by user space after an acquire load of the CQ tail.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |            user_data: copied from the SQE (u64)               |  0
 *  +---------------------------------------------------------------+
 *  |           res: bytes transferred or -errno (s32)              |  8
 *  +---------------------------------------------------------------+
 *  |                  flags: IORING_CQE_F_* (u32)                  | 12
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class CompletionQueueEntryDescriptor {

    /** u64: the submitter's user_data. */
    public static final int USER_DATA_OFFSET;
    /** s32: result, bytes or a negated errno. */
    public static final int RES_OFFSET;
    /** u32: {@code IORING_CQE_F_*}. */
    public static final int FLAGS_OFFSET;
    /** Size of one CQE, bytes (without IORING_SETUP_CQE32). */
    public static final int LENGTH;

    static {
        int offset = 0;
        USER_DATA_OFFSET = offset;
        offset += Long.BYTES;
        RES_OFFSET = offset;
        offset += Integer.BYTES;
        FLAGS_OFFSET = offset;
        offset += Integer.BYTES;
        LENGTH = offset;
    }

    private CompletionQueueEntryDescriptor() {}
}
