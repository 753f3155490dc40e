package org.fsp.block.nvme.pci;

/**
 * Layout of a completion queue entry (NVMe 1.4, section 4.6, figure 121): 16 bytes the controller writes into a
 * completion queue in DMA memory. The driver owns an entry once its phase tag differs from the value the entry had
 * on the previous pass through the queue; the tag starts at 1 on the first pass (queues are zeroed at creation).
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                 DW0: command specific result                  |  0
 *  +---------------------------------------------------------------+
 *  |                 DW1: reserved                                 |  4
 *  +-------------------------------+-------------------------------+
 *  |       SQ head pointer         |     SQ identifier             |  8
 *  +-------------------------------+-+-----------------------------+
 *  |    command identifier         |P|   status field (SC, SCT,..) | 12
 *  +-------------------------------+-+-----------------------------+
 * </pre>
 */
public final class NvmeCompletionDescriptor {

    /** u32: command specific result (DW0). */
    public static final int RESULT_OFFSET;
    /** u16: SQ head pointer: entries up to here were consumed by the controller. */
    public static final int SQ_HEAD_OFFSET;
    /** u16: SQ identifier the command came from. */
    public static final int SQ_ID_OFFSET;
    /** u16: command identifier. */
    public static final int CID_OFFSET;
    /** u16: phase tag (bit 0) and status field (bits 15:1). */
    public static final int STATUS_OFFSET;
    /** Size of one entry, bytes (CC.IOCQES = 4). */
    public static final int LENGTH;
    /** log2 of {@link #LENGTH}, the value of CC.IOCQES. */
    public static final int LENGTH_SHIFT = 4;

    /** Phase tag bit in the status half word. */
    public static final int PHASE_BIT = 1;

    static {
        int offset = 0;
        RESULT_OFFSET = offset;
        offset += Integer.BYTES;
        offset += Integer.BYTES; // DW1: reserved
        SQ_HEAD_OFFSET = offset;
        offset += Short.BYTES;
        SQ_ID_OFFSET = offset;
        offset += Short.BYTES;
        CID_OFFSET = offset;
        offset += Short.BYTES;
        STATUS_OFFSET = offset;
        offset += Short.BYTES;
        LENGTH = offset;
    }

    private NvmeCompletionDescriptor() {}

    /** Status Code (SC, bits 8:1 of the status half word). */
    public static int statusCode(int statusHalfWord) {
        return (statusHalfWord >>> 1) & 0xFF;
    }

    /** Status Code Type (SCT, bits 11:9 of the status half word): 0 generic, 1 command specific, 2 media. */
    public static int statusCodeType(int statusHalfWord) {
        return (statusHalfWord >>> 9) & 0x7;
    }

    /** The status field without the phase tag: 0 means success. */
    public static int status(int statusHalfWord) {
        return (statusHalfWord >>> 1) & 0x7FFF;
    }
}
