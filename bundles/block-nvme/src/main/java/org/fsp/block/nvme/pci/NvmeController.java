package org.fsp.block.nvme.pci;

import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.ACQ_OFFSET;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.AQA_ACQS_SHIFT;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.AQA_OFFSET;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.ASQ_OFFSET;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CAP_OFFSET;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CC_EN;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CC_IOCQES_SHIFT;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CC_IOSQES_SHIFT;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CC_OFFSET;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CC_SHN_SHIFT;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CSTS_CFS;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CSTS_OFFSET;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CSTS_RDY;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.CSTS_SHST_SHIFT;
import static org.fsp.block.nvme.pci.ControllerRegisterDescriptor.INTMS_OFFSET;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * One NVMe controller: its bring-up, its admin queue and the admin commands the driver needs (Identify, Set
 * Features, Create / Delete I/O queues), reset and shutdown. The I/O path lives in {@link NvmeQueuePair}s this class
 * creates.
 *
 * <p>A typical sequence is: {@link #enable} (section 7.6.1), {@link #identifyController()},
 * {@link #firstActiveNamespace()}, {@link #identifyNamespace}, {@link #createIoQueuePair}; I/O on the pair; after a
 * timeout {@link #reset()} and new I/O queues; finally {@link #shutdown()} (section 7.6.2).
 *
 * <p>Thread safety: none; the driver serializes calls.
 */
public final class NvmeController {

    /** Admin queue entries: enough for the driver's synchronous, one-at-a-time admin commands. */
    static final int ADMIN_QUEUE_ENTRIES = 32;

    private static final long ADMIN_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final ControllerRegisters registers;
    private final DmaAllocator dma;
    private final long cap;
    private final int doorbellStride;
    private final long readyTimeoutNanos;
    private final DmaAllocator.DmaBuffer identifyBuffer;
    private NvmeQueuePair admin;
    private int nextAdminCid;

    private NvmeController(ControllerRegisters registers, DmaAllocator dma) {
        this.registers = registers;
        this.dma = dma;
        this.cap = registers.read64(CAP_OFFSET);
        this.doorbellStride = ControllerRegisterDescriptor.doorbellStrideBytes(cap);
        // CAP.TO is the worst case; a controller that reports 0 still gets a second.
        this.readyTimeoutNanos =
                TimeUnit.MILLISECONDS.toNanos(Math.max(1000, ControllerRegisterDescriptor.readyTimeoutMillis(cap)));
        this.identifyBuffer = dma.allocateOrThrow(IdentifyDescriptor.LENGTH, "the Identify buffer");
    }

    /**
     * Resets and enables the controller, following NVMe 1.4 section 7.6.1 "Initialization":
     *
     * <ol>
     *   <li>check CAP: the NVM command set, and 4 KiB inside [MPSMIN, MPSMAX];
     *   <li>clear CC.EN and wait for CSTS.RDY = 0 (up to CAP.TO), which resets the controller;
     *   <li>allocate the admin queues, and program AQA (their sizes), ASQ and ACQ (their addresses);
     *   <li>write CC: NVM command set, 4 KiB pages (MPS = 0), round robin, IOSQES = 6 and IOCQES = 4 (64- and
     *       16-byte entries, needed before any I/O queue is created);
     *   <li>set CC.EN = 1 and wait for CSTS.RDY = 1 (up to CAP.TO); CSTS.CFS means the controller failed.
     * </ol>
     *
     * Interrupts stay masked: the driver polls.
     */
    public static NvmeController enable(ControllerRegisters registers, DmaAllocator dma) {
        NvmeController c = new NvmeController(registers, dma);
        c.bringUp();
        return c;
    }

    private void bringUp() {
        // 1. Capabilities.
        if (!ControllerRegisterDescriptor.supportsNvmCommandSet(cap)) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.CONTROLLER,
                    "controller does not support the NVM command set (CAP=0x" + Long.toHexString(cap) + ")");
        }
        if (ControllerRegisterDescriptor.minPageSizeBytes(cap) > DmaAllocator.PAGE_BYTES
                || ControllerRegisterDescriptor.maxPageSizeBytes(cap) < DmaAllocator.PAGE_BYTES) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.CONTROLLER,
                    "controller does not support 4 KiB memory pages (CAP=0x" + Long.toHexString(cap) + ")");
        }
        // 2. Disable: a controller left enabled by a previous owner is reset by CC.EN 1 -> 0.
        int cc = registers.read32(CC_OFFSET);
        if ((cc & CC_EN) != 0) {
            registers.write32(CC_OFFSET, cc & ~CC_EN);
        }
        waitForReady(false);

        // 3. Admin queues.
        if (admin == null) {
            int entries = Math.min(ADMIN_QUEUE_ENTRIES, ControllerRegisterDescriptor.maxQueueEntries(cap));
            admin = newQueuePair(0, entries);
        } else {
            admin = new NvmeQueuePair(
                    0,
                    admin.entries(),
                    zeroed(admin.submissionQueue()),
                    zeroed(admin.completionQueue()),
                    registers,
                    doorbellStride);
        }
        int entries = admin.entries();
        registers.write32(AQA_OFFSET, ((entries - 1) << AQA_ACQS_SHIFT) | (entries - 1));
        registers.write64(ASQ_OFFSET, admin.submissionQueue().ioAddress(0));
        registers.write64(ACQ_OFFSET, admin.completionQueue().ioAddress(0));

        // 4. Configuration (CSS = 0 NVM, MPS = 0 for 4 KiB, AMS = 0 round robin).
        int config = (NvmeCommandDescriptor.LENGTH_SHIFT << CC_IOSQES_SHIFT)
                | (NvmeCompletionDescriptor.LENGTH_SHIFT << CC_IOCQES_SHIFT);
        registers.write32(CC_OFFSET, config);
        registers.write32(INTMS_OFFSET, 0xFFFF_FFFF);

        // 5. Enable.
        registers.write32(CC_OFFSET, config | CC_EN);
        waitForReady(true);
        nextAdminCid = 0;
    }

    private static DmaAllocator.DmaBuffer zeroed(DmaAllocator.DmaBuffer b) {
        b.segment().fill((byte) 0);
        return b;
    }

    private NvmeQueuePair newQueuePair(int qid, int entries) {
        if (!dma.contiguous()) {
            // Without an IOMMU consecutive pages need not be physically consecutive: one page per queue.
            entries = Math.min(entries, DmaAllocator.PAGE_BYTES / NvmeCommandDescriptor.LENGTH);
        }
        DmaAllocator.DmaBuffer sq =
                dma.allocateOrThrow((long) entries * NvmeCommandDescriptor.LENGTH, "submission queue " + qid);
        DmaAllocator.DmaBuffer cq =
                dma.allocateOrThrow((long) entries * NvmeCompletionDescriptor.LENGTH, "completion queue " + qid);
        return new NvmeQueuePair(qid, entries, sq, cq, registers, doorbellStride);
    }

    private void waitForReady(boolean ready) {
        long deadline = System.nanoTime() + readyTimeoutNanos;
        while (true) {
            int csts = registers.read32(CSTS_OFFSET);
            if (ready && (csts & CSTS_CFS) != 0) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.CONTROLLER,
                        "controller reported a fatal status (CSTS.CFS) while enabling");
            }
            if (((csts & CSTS_RDY) != 0) == ready) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.CONTROLLER,
                        "controller did not " + (ready ? "become ready" : "reset") + " within "
                                + TimeUnit.NANOSECONDS.toMillis(readyTimeoutNanos)
                                + " ms (CAP.TO; CSTS=0x" + Integer.toHexString(csts) + ")");
            }
            Thread.onSpinWait();
        }
    }

    /** The CAP register as read at bring-up. */
    public long capabilities() {
        return cap;
    }

    /** CAP.MQES + 1: the largest I/O queue. */
    public int maxQueueEntries() {
        return ControllerRegisterDescriptor.maxQueueEntries(cap);
    }

    /** True if CSTS.CFS is set: the controller hit a fatal error and needs a reset. */
    public boolean fatalStatus() {
        return (registers.read32(CSTS_OFFSET) & CSTS_CFS) != 0;
    }

    /** The controller's Identify data the driver uses. */
    public record ControllerInfo(
            String serial,
            String model,
            String firmware,
            long maxTransferBytes,
            int namespaces,
            int oncs,
            boolean volatileWriteCache) {

        public boolean hasWriteZeroes() {
            return (oncs & IdentifyDescriptor.ONCS_WRITE_ZEROES) != 0;
        }

        public boolean hasDatasetManagement() {
            return (oncs & IdentifyDescriptor.ONCS_DATASET_MANAGEMENT) != 0;
        }
    }

    /** A namespace's geometry. */
    public record NamespaceInfo(int nsid, long blocks, int blockSize) {}

    /** Identify Controller (CNS 01h). */
    public ControllerInfo identifyController() {
        adminCommand(
                NvmeOpcodes.ADMIN_IDENTIFY,
                0,
                identifyBuffer.ioAddress(0),
                NvmeOpcodes.CNS_CONTROLLER,
                0,
                "Identify Controller");
        MemorySegment d = identifyBuffer.segment();
        int mdts = d.get(ValueLayout.JAVA_BYTE, IdentifyDescriptor.CTRL_MDTS_OFFSET) & 0xFF;
        long maxTransfer = mdts == 0
                ? Long.MAX_VALUE
                : (long) ControllerRegisterDescriptor.minPageSizeBytes(cap) << Math.min(mdts, 40);
        return new ControllerInfo(
                ascii(d, IdentifyDescriptor.CTRL_SN_OFFSET, IdentifyDescriptor.CTRL_SN_LENGTH),
                ascii(d, IdentifyDescriptor.CTRL_MN_OFFSET, IdentifyDescriptor.CTRL_MN_LENGTH),
                ascii(d, IdentifyDescriptor.CTRL_FR_OFFSET, IdentifyDescriptor.CTRL_FR_LENGTH),
                maxTransfer,
                d.get(ValueLayout.JAVA_INT_UNALIGNED, IdentifyDescriptor.CTRL_NN_OFFSET),
                d.get(ValueLayout.JAVA_SHORT_UNALIGNED, IdentifyDescriptor.CTRL_ONCS_OFFSET) & 0xFFFF,
                (d.get(ValueLayout.JAVA_BYTE, IdentifyDescriptor.CTRL_VWC_OFFSET) & 1) != 0);
    }

    private static String ascii(MemorySegment d, int offset, int length) {
        byte[] b = d.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
        return new String(b, StandardCharsets.US_ASCII).trim();
    }

    /** The lowest active namespace id (Identify CNS 02h). */
    public int firstActiveNamespace() {
        adminCommand(
                NvmeOpcodes.ADMIN_IDENTIFY,
                0,
                identifyBuffer.ioAddress(0),
                NvmeOpcodes.CNS_ACTIVE_NAMESPACES,
                0,
                "Identify Active Namespace List");
        int nsid = identifyBuffer.segment().get(ValueLayout.JAVA_INT, 0);
        if (nsid == 0) {
            throw new NvmeSetupException(NvmeSetupException.Reason.CONTROLLER, "controller has no active namespace");
        }
        return nsid;
    }

    /**
     * Identify Namespace (CNS 00h) with the LBA format in use.
     *
     * @throws NvmeSetupException {@link NvmeSetupException.Reason#UNSUPPORTED_LBA_SIZE} unless the format is 512 or
     *     4096 bytes without metadata
     */
    public NamespaceInfo identifyNamespace(int nsid) {
        adminCommand(
                NvmeOpcodes.ADMIN_IDENTIFY,
                nsid,
                identifyBuffer.ioAddress(0),
                NvmeOpcodes.CNS_NAMESPACE,
                0,
                "Identify Namespace " + nsid);
        MemorySegment d = identifyBuffer.segment();
        long blocks = d.get(ValueLayout.JAVA_LONG, IdentifyDescriptor.NS_NSZE_OFFSET);
        int format = d.get(ValueLayout.JAVA_BYTE, IdentifyDescriptor.NS_FLBAS_OFFSET) & 0xF;
        int lbaf = d.get(ValueLayout.JAVA_INT, IdentifyDescriptor.NS_LBAF_OFFSET + 4L * format);
        int shift = IdentifyDescriptor.lbaDataSizeShift(lbaf);
        int metadata = IdentifyDescriptor.lbaMetadataBytes(lbaf);
        if ((shift != 9 && shift != 12) || metadata != 0) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.UNSUPPORTED_LBA_SIZE,
                    "namespace " + nsid + " is formatted with " + (shift < 31 ? (1L << shift) : -1)
                            + "-byte blocks and " + metadata + " metadata bytes (LBA format " + format
                            + "); the driver needs 512 or 4096 bytes without metadata: reformat it, e.g. "
                            + "nvme format /dev/nvmeX -n " + nsid + " --lbaf=<index of a 4096-byte format>");
        }
        if (blocks <= 0) {
            throw new NvmeSetupException(NvmeSetupException.Reason.CONTROLLER, "namespace " + nsid + " is empty");
        }
        return new NamespaceInfo(nsid, blocks, 1 << shift);
    }

    /** Set Features – Number of Queues: asks for {@code pairs} I/O queue pairs; returns how many were granted. */
    public int requestQueuePairs(int pairs) {
        int zeroBased = pairs - 1;
        int granted = adminCommand(
                NvmeOpcodes.ADMIN_SET_FEATURES,
                0,
                0,
                NvmeOpcodes.FEATURE_NUMBER_OF_QUEUES,
                (zeroBased << 16) | zeroBased,
                "Set Features (Number of Queues)");
        int sq = (granted & 0xFFFF) + 1;
        int cq = (granted >>> 16) + 1;
        return Math.min(sq, cq);
    }

    /**
     * Creates I/O completion queue {@code qid} and then I/O submission queue {@code qid} posting to it (sections
     * 5.3, 5.4), physically contiguous, interrupts disabled.
     */
    public NvmeQueuePair createIoQueuePair(int qid, int entries) {
        NvmeQueuePair pair = newQueuePair(qid, Math.min(entries, maxQueueEntries()));
        int size = ((pair.entries() - 1) << 16) | qid;
        adminCommand(
                NvmeOpcodes.ADMIN_CREATE_IO_CQ,
                0,
                pair.completionQueue().ioAddress(0),
                size,
                NvmeOpcodes.QUEUE_PHYSICALLY_CONTIGUOUS,
                "Create I/O Completion Queue " + qid);
        adminCommand(
                NvmeOpcodes.ADMIN_CREATE_IO_SQ,
                0,
                pair.submissionQueue().ioAddress(0),
                size,
                (qid << 16) | NvmeOpcodes.QUEUE_PHYSICALLY_CONTIGUOUS,
                "Create I/O Submission Queue " + qid);
        return pair;
    }

    /** Deletes an I/O queue pair (SQ first, section 5.6) and frees its memory. */
    public void deleteIoQueuePair(NvmeQueuePair pair) {
        try {
            adminCommand(NvmeOpcodes.ADMIN_DELETE_IO_SQ, 0, 0, pair.qid(), 0, "Delete I/O Submission Queue");
            adminCommand(NvmeOpcodes.ADMIN_DELETE_IO_CQ, 0, 0, pair.qid(), 0, "Delete I/O Completion Queue");
        } finally {
            freeQueuePair(pair);
        }
    }

    /** Frees an I/O queue pair's memory without telling the controller (after a reset, which deleted it). */
    public void freeQueuePair(NvmeQueuePair pair) {
        dma.free(pair.submissionQueue());
        dma.free(pair.completionQueue());
    }

    /**
     * Controller-level reset (section 7.3.2): CC.EN 1 -> 0 aborts every outstanding command and deletes the I/O
     * queues; then the bring-up runs again on the same admin queue memory. Callers free their I/O queue pairs with
     * {@link #freeQueuePair} and create new ones.
     */
    public void reset() {
        bringUp();
    }

    /**
     * Normal shutdown (section 7.6.2): CC.SHN = 01b, then wait for CSTS.SHST = 10b, so that a volatile write cache
     * is written back before the process lets go of the device.
     */
    public void shutdown() {
        int cc = registers.read32(CC_OFFSET);
        registers.write32(CC_OFFSET, (cc & ~(3 << CC_SHN_SHIFT)) | (1 << CC_SHN_SHIFT));
        long deadline = System.nanoTime() + readyTimeoutNanos;
        while (((registers.read32(CSTS_OFFSET) >>> CSTS_SHST_SHIFT) & 3) != 2) {
            if (System.nanoTime() - deadline > 0) {
                break; // the medium keeps what was flushed; a slow shutdown must not hang close()
            }
            Thread.onSpinWait();
        }
        dma.free(admin.submissionQueue());
        dma.free(admin.completionQueue());
        dma.free(identifyBuffer);
    }

    /**
     * Runs one admin command to completion (polling the admin CQ).
     *
     * @return the completion's DW0
     * @throws NvmeSetupException if the command fails or times out
     */
    int adminCommand(byte opcode, int nsid, long prp1, int cdw10, int cdw11, String what) {
        int cid = nextAdminCid;
        nextAdminCid = (nextAdminCid + 1) & 0xFFFF;
        long e = admin.claim(opcode, cid);
        admin.putInt(e, NvmeCommandDescriptor.NSID_OFFSET, nsid);
        admin.putLong(e, NvmeCommandDescriptor.PRP1_OFFSET, prp1);
        admin.putInt(e, NvmeCommandDescriptor.CDW10_OFFSET, cdw10);
        admin.putInt(e, NvmeCommandDescriptor.CDW11_OFFSET, cdw11);
        admin.ringDoorbell();
        long deadline = System.nanoTime() + ADMIN_TIMEOUT_NANOS;
        int[] outcome = {-1, 0};
        while (true) {
            admin.reap(
                    (c, status, result) -> {
                        if (c == cid) {
                            outcome[0] = status;
                            outcome[1] = result;
                        }
                    },
                    admin.entries());
            if (outcome[0] >= 0) {
                break;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.CONTROLLER, what + " did not complete within 30 s");
            }
            Thread.onSpinWait();
        }
        if (outcome[0] != 0) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.CONTROLLER,
                    what + " failed with status SCT="
                            + NvmeCompletionDescriptor.statusCodeType(outcome[0] << 1) + " SC=0x"
                            + Integer.toHexString(NvmeCompletionDescriptor.statusCode(outcome[0] << 1)));
        }
        return outcome[1];
    }
}
