package org.fsp.block.nvme.pci;

/**
 * Layout of a submission queue entry, the 64-byte common command format (NVMe 1.4, section 4.2, figure 105), as the
 * driver writes it into a submission queue in DMA memory before ringing the queue's tail doorbell.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---+-------+---+-------------------------------+
 *  |    opcode     |FUS| rsvd  |PSD|        command identifier     |  0  CDW0
 *  +---------------+---+-------+---+-------------------------------+
 *  |                      namespace identifier                     |  4  NSID
 *  +---------------------------------------------------------------+
 *  |                      reserved (CDW2, CDW3)                    |  8
 *  +---------------------------------------------------------------+
 *  |                  metadata pointer (u64)                       | 16  MPTR
 *  +---------------------------------------------------------------+
 *  |                  PRP entry 1 (u64)                            | 24  DPTR
 *  +---------------------------------------------------------------+
 *  |                  PRP entry 2 or PRP list pointer (u64)        | 32
 *  +---------------------------------------------------------------+
 *  |            CDW10 .. CDW15: command specific (6 x u32)         | 40
 *  +---------------------------------------------------------------+
 * </pre>
 */
public final class NvmeCommandDescriptor {

    /** u8: opcode ({@link NvmeOpcodes}). */
    public static final int OPCODE_OFFSET;
    /** u8: FUSE (bits 1:0) and PSDT (bits 7:6, 0 = PRPs). */
    public static final int FLAGS_OFFSET;
    /** u16: command identifier, returned in the completion. */
    public static final int CID_OFFSET;
    /** u32: namespace identifier. */
    public static final int NSID_OFFSET;
    /** u64: metadata pointer. */
    public static final int MPTR_OFFSET;
    /** u64: PRP entry 1, the first data page (may carry an offset). */
    public static final int PRP1_OFFSET;
    /** u64: PRP entry 2, the second page, or the address of a PRP list. */
    public static final int PRP2_OFFSET;
    /** u32: command dword 10. */
    public static final int CDW10_OFFSET;
    /** u32: command dword 11. */
    public static final int CDW11_OFFSET;
    /** u32: command dword 12. */
    public static final int CDW12_OFFSET;
    /** u32: command dword 13. */
    public static final int CDW13_OFFSET;
    /** u32: command dword 14. */
    public static final int CDW14_OFFSET;
    /** u32: command dword 15. */
    public static final int CDW15_OFFSET;
    /** Size of one entry, bytes (CC.IOSQES = 6). */
    public static final int LENGTH;
    /** log2 of {@link #LENGTH}, the value of CC.IOSQES. */
    public static final int LENGTH_SHIFT = 6;

    static {
        int offset = 0;
        OPCODE_OFFSET = offset;
        offset += Byte.BYTES;
        FLAGS_OFFSET = offset;
        offset += Byte.BYTES;
        CID_OFFSET = offset;
        offset += Short.BYTES;
        NSID_OFFSET = offset;
        offset += Integer.BYTES;
        offset += 2 * Integer.BYTES; // CDW2, CDW3: reserved
        MPTR_OFFSET = offset;
        offset += Long.BYTES;
        PRP1_OFFSET = offset;
        offset += Long.BYTES;
        PRP2_OFFSET = offset;
        offset += Long.BYTES;
        CDW10_OFFSET = offset;
        offset += Integer.BYTES;
        CDW11_OFFSET = offset;
        offset += Integer.BYTES;
        CDW12_OFFSET = offset;
        offset += Integer.BYTES;
        CDW13_OFFSET = offset;
        offset += Integer.BYTES;
        CDW14_OFFSET = offset;
        offset += Integer.BYTES;
        CDW15_OFFSET = offset;
        offset += Integer.BYTES;
        LENGTH = offset;
    }

    private NvmeCommandDescriptor() {}
}
