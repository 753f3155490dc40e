package org.fsp.block.nvme.pci;

/**
 * Layout of {@code struct nvme_uring_cmd} (linux/nvme_ioctl.h, 72 bytes): the payload of an
 * {@code IORING_OP_URING_CMD} SQE for NVMe passthrough on {@code /dev/ngXnY}. The command dwords are those of the
 * NVMe submission entry ({@link NvmeCommandDescriptor}); the kernel builds the PRPs from {@code addr}/{@code data_len}.
 *
 * <pre>
 *   0  opcode u8, flags u8, rsvd1 u16      4  nsid u32           8  cdw2 u32, cdw3 u32
 *  16  metadata u64                        24  addr u64          32  metadata_len u32
 *  36  data_len u32                        40  cdw10 .. cdw15 (6 x u32)
 *  64  timeout_ms u32                      68  rsvd2 u32
 * </pre>
 */
public final class NvmeUringCommandDescriptor {

    /** u8: NVMe opcode. */
    public static final int OPCODE_OFFSET = 0;
    /** u32: namespace id. */
    public static final int NSID_OFFSET = 4;
    /** u64: data buffer address in this process. */
    public static final int ADDR_OFFSET = 24;
    /** u32: data length, bytes. */
    public static final int DATA_LEN_OFFSET = 36;
    /** u32: command dword 10. */
    public static final int CDW10_OFFSET = 40;
    /** u32: command dword 11. */
    public static final int CDW11_OFFSET = 44;
    /** u32: command dword 12. */
    public static final int CDW12_OFFSET = 48;
    /** u32: timeout, milliseconds (0: the driver's default). */
    public static final int TIMEOUT_MS_OFFSET = 64;
    /** Size of the structure, bytes. */
    public static final int LENGTH = 72;

    /** NVME_URING_CMD_IO = _IOWR('N', 0x80, struct nvme_uring_cmd). */
    public static final int NVME_URING_CMD_IO = (3 << 30) | (LENGTH << 16) | ('N' << 8) | 0x80;

    private NvmeUringCommandDescriptor() {}
}
