package org.fsp.block.nvme.pci;

/**
 * The fields the driver reads from the 4096-byte Identify data structures (NVMe 1.4, section 5.15.2): the
 * controller structure (figure 247) and the namespace structure of the NVM command set (figure 249).
 *
 * <pre>
 *  Identify Controller                      Identify Namespace
 *    0  VID    u16 PCI vendor id              0  NSZE   u64 size, logical blocks
 *    4  SN     20 bytes ASCII serial          8  NCAP   u64 capacity, logical blocks
 *   24  MN     40 bytes ASCII model          25  NLBAF  u8  number of LBA formats, 0's based
 *   64  FR      8 bytes ASCII firmware       26  FLBAS  u8  bits 3:0 the format in use
 *   77  MDTS   u8  max transfer 2^n * MPSMIN 128  LBAF[0..15] u32 each: MS 15:0, LBADS 23:16, RP 25:24
 *  516  NN     u32 number of namespaces
 *  520  ONCS   u16 optional NVM commands: bit 2 DSM, bit 3 Write Zeroes
 *  525  VWC    u8  bit 0: a volatile write cache is present
 * </pre>
 */
public final class IdentifyDescriptor {

    /** Size of an Identify data structure, bytes. */
    public static final int LENGTH = 4096;

    /** Controller: u16 PCI vendor id. */
    public static final int CTRL_VID_OFFSET = 0;
    /** Controller: serial number, ASCII, space padded. */
    public static final int CTRL_SN_OFFSET = 4;
    /** Length of the serial number, bytes. */
    public static final int CTRL_SN_LENGTH = 20;
    /** Controller: model number, ASCII, space padded. */
    public static final int CTRL_MN_OFFSET = 24;
    /** Length of the model number, bytes. */
    public static final int CTRL_MN_LENGTH = 40;
    /** Controller: firmware revision, ASCII. */
    public static final int CTRL_FR_OFFSET = 64;
    /** Length of the firmware revision, bytes. */
    public static final int CTRL_FR_LENGTH = 8;
    /** Controller: u8 maximum data transfer size, a power of two in units of CAP.MPSMIN; 0 = no limit. */
    public static final int CTRL_MDTS_OFFSET = 77;
    /** Controller: u32 number of namespaces. */
    public static final int CTRL_NN_OFFSET = 516;
    /** Controller: u16 optional NVM command support. */
    public static final int CTRL_ONCS_OFFSET = 520;
    /** Controller: u8 volatile write cache. */
    public static final int CTRL_VWC_OFFSET = 525;

    /** ONCS bit 2: Dataset Management. */
    public static final int ONCS_DATASET_MANAGEMENT = 1 << 2;
    /** ONCS bit 3: Write Zeroes. */
    public static final int ONCS_WRITE_ZEROES = 1 << 3;

    /** Namespace: u64 size in logical blocks. */
    public static final int NS_NSZE_OFFSET = 0;
    /** Namespace: u64 capacity in logical blocks. */
    public static final int NS_NCAP_OFFSET = 8;
    /** Namespace: u8 number of LBA formats, 0's based. */
    public static final int NS_NLBAF_OFFSET = 25;
    /** Namespace: u8 formatted LBA size; bits 3:0 index the LBA format in use. */
    public static final int NS_FLBAS_OFFSET = 26;
    /** Namespace: first LBA format descriptor (u32 each). */
    public static final int NS_LBAF_OFFSET = 128;

    private IdentifyDescriptor() {}

    /** LBAF.LBADS: log2 of the LBA data size in bytes. */
    public static int lbaDataSizeShift(int lbaFormat) {
        return (lbaFormat >>> 16) & 0xFF;
    }

    /** LBAF.MS: metadata bytes per LBA. */
    public static int lbaMetadataBytes(int lbaFormat) {
        return lbaFormat & 0xFFFF;
    }
}
