package org.fsp.block.nvme.pci;

/** All NVMe opcodes and command-specific constants the driver uses (NVMe 1.4, sections 5 and 6). */
public final class NvmeOpcodes {

    /** Admin: Delete I/O Submission Queue (5.6). */
    public static final byte ADMIN_DELETE_IO_SQ = 0x00;
    /** Admin: Create I/O Submission Queue (5.4). */
    public static final byte ADMIN_CREATE_IO_SQ = 0x01;
    /** Admin: Delete I/O Completion Queue (5.5). */
    public static final byte ADMIN_DELETE_IO_CQ = 0x04;
    /** Admin: Create I/O Completion Queue (5.3). */
    public static final byte ADMIN_CREATE_IO_CQ = 0x05;
    /** Admin: Identify (5.15). */
    public static final byte ADMIN_IDENTIFY = 0x06;
    /** Admin: Set Features (5.21). */
    public static final byte ADMIN_SET_FEATURES = 0x09;

    /** NVM: Flush (6.8). */
    public static final byte NVM_FLUSH = 0x00;
    /** NVM: Write (6.15). */
    public static final byte NVM_WRITE = 0x01;
    /** NVM: Read (6.9). */
    public static final byte NVM_READ = 0x02;
    /** NVM: Write Zeroes (6.16). */
    public static final byte NVM_WRITE_ZEROES = 0x08;
    /** NVM: Dataset Management (6.7). */
    public static final byte NVM_DATASET_MANAGEMENT = 0x09;

    /** Identify CNS: the namespace data structure of NSID. */
    public static final int CNS_NAMESPACE = 0x00;
    /** Identify CNS: the controller data structure. */
    public static final int CNS_CONTROLLER = 0x01;
    /** Identify CNS: the active namespace ID list. */
    public static final int CNS_ACTIVE_NAMESPACES = 0x02;

    /** Feature identifier: Number of Queues (5.21.1.7). */
    public static final int FEATURE_NUMBER_OF_QUEUES = 0x07;

    /** Dataset Management CDW11 bit 2: Attribute – Deallocate (trim). */
    public static final int DSM_ATTRIBUTE_DEALLOCATE = 1 << 2;
    /** Size of one Dataset Management range entry, bytes (figure 365: attributes u32, NLB u32, SLBA u64). */
    public static final int DSM_RANGE_BYTES = 16;

    /** Create I/O queue CDW11 bit 0: physically contiguous. */
    public static final int QUEUE_PHYSICALLY_CONTIGUOUS = 1;

    private NvmeOpcodes() {}
}
