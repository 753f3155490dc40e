package org.fsp.linux;

/**
 * Layout of {@code struct io_uring_params} (120 bytes), the in/out argument of {@code io_uring_setup(2)}, including
 * the {@code io_sqring_offsets} and {@code io_cqring_offsets} the kernel fills in. All fields are little-endian
 * native integers; offsets are in bytes from the start of the struct.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 sq_entries (in/out, entries)                  |  0
 *  |                 cq_entries (in/out, entries)                  |  4
 *  |                     flags (IORING_SETUP_*)                    |  8
 *  |              sq_thread_cpu (SQPOLL with SQ_AFF)               | 12
 *  |              sq_thread_idle (SQPOLL, milliseconds)            | 16
 *  |                 features (out, IORING_FEAT_*)                 | 20
 *  |                     wq_fd (ATTACH_WQ)                         | 24
 *  |                          resv[3]                              | 28
 *  +---------------------------------------------------------------+
 *  |  sq_off: head tail ring_mask ring_entries flags dropped array |  40
 *  |          resv1 (u32), user_addr (u64)            (40 bytes)   |
 *  +---------------------------------------------------------------+
 *  |  cq_off: head tail ring_mask ring_entries overflow cqes flags |  80
 *  |          resv1 (u32), user_addr (u64)            (40 bytes)   |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * The {@code sq_off} / {@code cq_off} values are byte offsets into the mapped SQ and CQ rings, not into this struct.
 */
public final class IoUringParamsDescriptor {

    /** u32: requested SQ size (rounded up to a power of two by the kernel), entries. */
    public static final int SQ_ENTRIES_OFFSET;
    /** u32: CQ size, entries; an input only with {@link IoUring#IORING_SETUP_CQSIZE}. */
    public static final int CQ_ENTRIES_OFFSET;
    /** u32: {@code IORING_SETUP_*} flags. */
    public static final int FLAGS_OFFSET;
    /** u32: CPU of the SQPOLL thread, with {@link IoUring#IORING_SETUP_SQ_AFF}. */
    public static final int SQ_THREAD_CPU_OFFSET;
    /** u32: idle time in milliseconds before the SQPOLL thread sleeps. */
    public static final int SQ_THREAD_IDLE_OFFSET;
    /** u32: {@code IORING_FEAT_*} bits the kernel supports (output). */
    public static final int FEATURES_OFFSET;
    /** u32: ring whose async backend to share, with ATTACH_WQ. */
    public static final int WQ_FD_OFFSET;

    /** Start of {@code struct io_sqring_offsets}. */
    public static final int SQ_OFF_OFFSET;
    /** u32 fields of {@code io_sqring_offsets}, relative to the start of the params struct. */
    public static final int SQ_OFF_HEAD;

    public static final int SQ_OFF_TAIL;
    public static final int SQ_OFF_RING_MASK;
    public static final int SQ_OFF_RING_ENTRIES;
    public static final int SQ_OFF_FLAGS;
    public static final int SQ_OFF_DROPPED;
    public static final int SQ_OFF_ARRAY;

    /** Start of {@code struct io_cqring_offsets}. */
    public static final int CQ_OFF_OFFSET;
    /** u32 fields of {@code io_cqring_offsets}, relative to the start of the params struct. */
    public static final int CQ_OFF_HEAD;

    public static final int CQ_OFF_TAIL;
    public static final int CQ_OFF_RING_MASK;
    public static final int CQ_OFF_RING_ENTRIES;
    public static final int CQ_OFF_OVERFLOW;
    public static final int CQ_OFF_CQES;
    public static final int CQ_OFF_FLAGS;

    /** Size of the struct, bytes. */
    public static final int LENGTH;

    static {
        int offset = 0;
        SQ_ENTRIES_OFFSET = offset;
        offset += Integer.BYTES;
        CQ_ENTRIES_OFFSET = offset;
        offset += Integer.BYTES;
        FLAGS_OFFSET = offset;
        offset += Integer.BYTES;
        SQ_THREAD_CPU_OFFSET = offset;
        offset += Integer.BYTES;
        SQ_THREAD_IDLE_OFFSET = offset;
        offset += Integer.BYTES;
        FEATURES_OFFSET = offset;
        offset += Integer.BYTES;
        WQ_FD_OFFSET = offset;
        offset += Integer.BYTES;
        offset += 3 * Integer.BYTES; // resv[3]

        SQ_OFF_OFFSET = offset;
        SQ_OFF_HEAD = offset;
        offset += Integer.BYTES;
        SQ_OFF_TAIL = offset;
        offset += Integer.BYTES;
        SQ_OFF_RING_MASK = offset;
        offset += Integer.BYTES;
        SQ_OFF_RING_ENTRIES = offset;
        offset += Integer.BYTES;
        SQ_OFF_FLAGS = offset;
        offset += Integer.BYTES;
        SQ_OFF_DROPPED = offset;
        offset += Integer.BYTES;
        SQ_OFF_ARRAY = offset;
        offset += Integer.BYTES;
        offset += Integer.BYTES; // resv1
        offset += Long.BYTES; // user_addr (IORING_SETUP_NO_MMAP only)

        CQ_OFF_OFFSET = offset;
        CQ_OFF_HEAD = offset;
        offset += Integer.BYTES;
        CQ_OFF_TAIL = offset;
        offset += Integer.BYTES;
        CQ_OFF_RING_MASK = offset;
        offset += Integer.BYTES;
        CQ_OFF_RING_ENTRIES = offset;
        offset += Integer.BYTES;
        CQ_OFF_OVERFLOW = offset;
        offset += Integer.BYTES;
        CQ_OFF_CQES = offset;
        offset += Integer.BYTES;
        CQ_OFF_FLAGS = offset;
        offset += Integer.BYTES;
        offset += Integer.BYTES; // resv1
        offset += Long.BYTES; // user_addr

        LENGTH = offset;
    }

    private IoUringParamsDescriptor() {}
}
