package org.fsp.block.nvme.pci;

/**
 * The NVMe controller registers in BAR0 (NVMe 1.4, section 3.1 "Register Definition"), with the bit fields the
 * driver uses. All offsets are bytes from the start of BAR0; registers are read and written as 32-bit words (the
 * 64-bit ones as two words, low first, which every controller must accept).
 *
 * <pre>
 *  0x00  CAP    Controller Capabilities (64)   MQES 15:0, CQR 16, TO 31:24, DSTRD 35:32, CSS 44:37, MPSMIN 51:48
 *  0x08  VS     Version (32)                   MJR 31:16, MNR 15:8
 *  0x0C  INTMS  Interrupt Mask Set (32)
 *  0x10  INTMC  Interrupt Mask Clear (32)
 *  0x14  CC     Controller Configuration (32)  EN 0, CSS 6:4, MPS 10:7, AMS 13:11, SHN 15:14, IOSQES 19:16, IOCQES 23:20
 *  0x1C  CSTS   Controller Status (32)         RDY 0, CFS 1, SHST 3:2
 *  0x24  AQA    Admin Queue Attributes (32)    ASQS 11:0, ACQS 27:16 (entries, 0's based)
 *  0x28  ASQ    Admin SQ Base Address (64)     4 KiB aligned
 *  0x30  ACQ    Admin CQ Base Address (64)     4 KiB aligned
 *  0x1000       doorbells: SQyTDBL at 0x1000 + (2y) * (4 &lt;&lt; DSTRD), CQyHDBL at 0x1000 + (2y + 1) * (4 &lt;&lt; DSTRD)
 * </pre>
 */
public final class ControllerRegisterDescriptor {

    /** u64: Controller Capabilities. */
    public static final int CAP_OFFSET = 0x00;
    /** u32: Version. */
    public static final int VS_OFFSET = 0x08;
    /** u32: Interrupt Mask Set. */
    public static final int INTMS_OFFSET = 0x0C;
    /** u32: Controller Configuration. */
    public static final int CC_OFFSET = 0x14;
    /** u32: Controller Status. */
    public static final int CSTS_OFFSET = 0x1C;
    /** u32: Admin Queue Attributes. */
    public static final int AQA_OFFSET = 0x24;
    /** u64: Admin Submission Queue Base Address. */
    public static final int ASQ_OFFSET = 0x28;
    /** u64: Admin Completion Queue Base Address. */
    public static final int ACQ_OFFSET = 0x30;
    /** First doorbell register (section 3.1.24). */
    public static final int DOORBELL_BASE_OFFSET = 0x1000;

    /** CC.EN: enable. */
    public static final int CC_EN = 1;
    /** CC.CSS shift: I/O command set selected (0 = NVM command set). */
    public static final int CC_CSS_SHIFT = 4;
    /** CC.MPS shift: memory page size is 2 ^ (12 + MPS) bytes. */
    public static final int CC_MPS_SHIFT = 7;
    /** CC.AMS shift: arbitration mechanism (0 = round robin). */
    public static final int CC_AMS_SHIFT = 11;
    /** CC.SHN shift: shutdown notification (1 = normal). */
    public static final int CC_SHN_SHIFT = 14;
    /** CC.IOSQES shift: I/O SQ entry size is 2 ^ IOSQES bytes. */
    public static final int CC_IOSQES_SHIFT = 16;
    /** CC.IOCQES shift: I/O CQ entry size is 2 ^ IOCQES bytes. */
    public static final int CC_IOCQES_SHIFT = 20;

    /** CSTS.RDY: ready. */
    public static final int CSTS_RDY = 1;
    /** CSTS.CFS: controller fatal status. */
    public static final int CSTS_CFS = 1 << 1;
    /** CSTS.SHST shift: shutdown status (2 = complete). */
    public static final int CSTS_SHST_SHIFT = 2;

    /** AQA.ACQS shift (ASQS sits in bits 11:0). */
    public static final int AQA_ACQS_SHIFT = 16;

    private ControllerRegisterDescriptor() {}

    /** CAP.MQES + 1: the most entries an I/O queue may have. */
    public static int maxQueueEntries(long cap) {
        return (int) (cap & 0xFFFF) + 1;
    }

    /** CAP.CQR: whether queues must be physically contiguous. */
    public static boolean contiguousQueuesRequired(long cap) {
        return (cap & (1L << 16)) != 0;
    }

    /** CAP.TO in milliseconds: the worst case time to wait for CSTS.RDY to change (unit of 500 ms). */
    public static long readyTimeoutMillis(long cap) {
        return ((cap >>> 24) & 0xFF) * 500L;
    }

    /** CAP.DSTRD as a byte stride between doorbells: 4 &lt;&lt; DSTRD. */
    public static int doorbellStrideBytes(long cap) {
        return 4 << (int) ((cap >>> 32) & 0xF);
    }

    /** CAP.CSS bit 0: the NVM command set is supported. */
    public static boolean supportsNvmCommandSet(long cap) {
        return ((cap >>> 37) & 1) != 0;
    }

    /** CAP.MPSMIN as bytes: 2 ^ (12 + MPSMIN). */
    public static int minPageSizeBytes(long cap) {
        return 1 << (12 + (int) ((cap >>> 48) & 0xF));
    }

    /** CAP.MPSMAX as bytes: 2 ^ (12 + MPSMAX). */
    public static long maxPageSizeBytes(long cap) {
        return 1L << (12 + (int) ((cap >>> 52) & 0xF));
    }

    /** Offset of the submission queue {@code qid}'s tail doorbell (SQyTDBL). */
    public static int submissionTailDoorbell(int qid, int strideBytes) {
        return DOORBELL_BASE_OFFSET + (2 * qid) * strideBytes;
    }

    /** Offset of the completion queue {@code qid}'s head doorbell (CQyHDBL). */
    public static int completionHeadDoorbell(int qid, int strideBytes) {
        return DOORBELL_BASE_OFFSET + (2 * qid + 1) * strideBytes;
    }
}
