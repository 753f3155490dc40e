package org.fsp.block.nvme.pci;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test double of an NVMe controller behind its register file: it reacts to CC, CSTS and the doorbells as NVMe 1.4
 * describes, executes admin and NVM commands synchronously when a submission doorbell is written, and reads and
 * writes DMA memory by the addresses it is given (so it must be used with {@link IdentityDmaMappingTestDouble}).
 * Storage is a native segment that survives {@link #restart()}, as a disk survives a driver restart.
 *
 * <p>Knobs for tests: the LBA data size, MDTS, ONCS, how many CSTS reads it takes to become ready, and a hang mode in
 * which I/O commands never complete.
 */
public final class NvmeControllerTestDouble implements ControllerRegisters {

    private static final VarHandle STATUS = ValueLayout.JAVA_SHORT.varHandle();
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** Every register write, in order, as "NAME=0xVALUE" (doorbells as SQ<n>/CQ<n>). */
    public final List<String> writes = new ArrayList<>();

    private final Arena arena = Arena.ofShared();
    private final MemorySegment storage;
    private final int lbaShift;
    private final long blocks;
    public int mdts = 2;
    public int oncs = IdentifyDescriptor.ONCS_WRITE_ZEROES | IdentifyDescriptor.ONCS_DATASET_MANAGEMENT;
    public int readsUntilReady = 3;
    public boolean neverReady;
    public volatile boolean hangIo;
    public int flushes;
    public int ioCommands;

    private int cc;
    private int csts;
    private int aqa;
    private long asq;
    private long acq;
    private int readyCountdown;

    private final Map<Integer, Cq> cqs = new HashMap<>();
    private final Map<Integer, Sq> sqs = new HashMap<>();

    private static final class Cq {
        long base;
        int entries;
        int tail;
        int phase = 1;
    }

    private static final class Sq {
        long base;
        int entries;
        int head;
        Cq cq;
    }

    public NvmeControllerTestDouble(long bytes, int lbaShift) {
        this.storage = arena.allocate(bytes, 4096);
        this.lbaShift = lbaShift;
        this.blocks = bytes >> lbaShift;
    }

    /** Forgets the controller state (as a power cycle or a new driver's reset would); storage stays. */
    public synchronized void restart() {
        cc = 0;
        csts = 0;
        cqs.clear();
        sqs.clear();
        writes.clear();
        hangIo = false;
    }

    public long capabilities() {
        // MQES 1023, CQR, TO 1 (500 ms), DSTRD 0, CSS NVM, MPSMIN 0, MPSMAX 4.
        return 1023L | (1L << 16) | (1L << 24) | (1L << 37) | (4L << 52);
    }

    public MemorySegment storage() {
        return storage;
    }

    @Override
    public synchronized int read32(int offset) {
        return switch (offset) {
            case ControllerRegisterDescriptor.CAP_OFFSET -> (int) capabilities();
            case ControllerRegisterDescriptor.CAP_OFFSET + 4 -> (int) (capabilities() >>> 32);
            case ControllerRegisterDescriptor.VS_OFFSET -> 0x0001_0400;
            case ControllerRegisterDescriptor.CC_OFFSET -> cc;
            case ControllerRegisterDescriptor.CSTS_OFFSET -> {
                if (readyCountdown > 0 && --readyCountdown == 0) {
                    csts |= ControllerRegisterDescriptor.CSTS_RDY;
                }
                yield csts;
            }
            case ControllerRegisterDescriptor.AQA_OFFSET -> aqa;
            default -> 0;
        };
    }

    /** Sets CSTS.CFS, as a controller does after an internal fatal error. */
    public synchronized void failFatally() {
        csts |= ControllerRegisterDescriptor.CSTS_CFS;
    }

    @Override
    public synchronized void write32(int offset, int value) {
        if (offset >= ControllerRegisterDescriptor.DOORBELL_BASE_OFFSET) {
            int index = (offset - ControllerRegisterDescriptor.DOORBELL_BASE_OFFSET) / 4;
            int qid = index / 2;
            writes.add((index % 2 == 0 ? "SQ" : "CQ") + qid + "=" + value);
            if (index % 2 == 0) {
                process(qid, value);
            }
            return;
        }
        switch (offset) {
            case ControllerRegisterDescriptor.CC_OFFSET -> {
                writes.add("CC=0x" + Integer.toHexString(value));
                boolean wasEnabled = (cc & 1) != 0;
                cc = value;
                if (wasEnabled && (value & 1) == 0) {
                    csts &= ~(ControllerRegisterDescriptor.CSTS_RDY | ControllerRegisterDescriptor.CSTS_CFS);
                    cqs.clear();
                    sqs.clear();
                } else if (!wasEnabled && (value & 1) != 0) {
                    enableAdmin();
                    if (!neverReady) {
                        readyCountdown = readsUntilReady;
                        if (readyCountdown == 0) {
                            csts |= ControllerRegisterDescriptor.CSTS_RDY;
                        }
                    }
                }
                if (((value >>> ControllerRegisterDescriptor.CC_SHN_SHIFT) & 3) != 0) {
                    csts |= 2 << ControllerRegisterDescriptor.CSTS_SHST_SHIFT;
                }
            }
            case ControllerRegisterDescriptor.AQA_OFFSET -> {
                writes.add("AQA=0x" + Integer.toHexString(value));
                aqa = value;
            }
            case ControllerRegisterDescriptor.ASQ_OFFSET -> {
                writes.add("ASQ.lo");
                asq = (asq & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL);
            }
            case ControllerRegisterDescriptor.ASQ_OFFSET + 4 -> {
                writes.add("ASQ.hi");
                asq = (asq & 0xFFFF_FFFFL) | ((long) value << 32);
            }
            case ControllerRegisterDescriptor.ACQ_OFFSET -> {
                writes.add("ACQ.lo");
                acq = (acq & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL);
            }
            case ControllerRegisterDescriptor.ACQ_OFFSET + 4 -> {
                writes.add("ACQ.hi");
                acq = (acq & 0xFFFF_FFFFL) | ((long) value << 32);
            }
            case ControllerRegisterDescriptor.INTMS_OFFSET -> writes.add("INTMS=0x" + Integer.toHexString(value));
            default -> writes.add("0x" + Integer.toHexString(offset) + "=0x" + Integer.toHexString(value));
        }
    }

    private void enableAdmin() {
        Cq cq = new Cq();
        cq.base = acq;
        cq.entries = ((aqa >>> 16) & 0xFFF) + 1;
        Sq sq = new Sq();
        sq.base = asq;
        sq.entries = (aqa & 0xFFF) + 1;
        sq.cq = cq;
        cqs.put(0, cq);
        sqs.put(0, sq);
    }

    private void process(int qid, int tail) {
        Sq sq = sqs.get(qid);
        if (sq == null) {
            throw new IllegalStateException("doorbell of submission queue " + qid + ", which does not exist");
        }
        while (sq.head != tail) {
            MemorySegment e = ALL.asSlice(sq.base + (long) sq.head * 64, 64);
            sq.head = (sq.head + 1) % sq.entries;
            int cid = e.get(ValueLayout.JAVA_SHORT, NvmeCommandDescriptor.CID_OFFSET) & 0xFFFF;
            int[] outcome = qid == 0 ? admin(e) : io(e);
            if (outcome != null) {
                post(sq, cid, outcome[0], outcome[1]);
            }
        }
    }

    private void post(Sq sq, int cid, int status, int result) {
        Cq cq = sq.cq;
        long entry = cq.base + (long) cq.tail * 16;
        ALL.set(ValueLayout.JAVA_INT, entry + NvmeCompletionDescriptor.RESULT_OFFSET, result);
        ALL.set(ValueLayout.JAVA_SHORT, entry + NvmeCompletionDescriptor.SQ_HEAD_OFFSET, (short) sq.head);
        ALL.set(ValueLayout.JAVA_SHORT, entry + NvmeCompletionDescriptor.CID_OFFSET, (short) cid);
        // Release: the entry's other fields are visible before its phase tag says it is new.
        STATUS.setRelease(ALL, entry + NvmeCompletionDescriptor.STATUS_OFFSET, (short) ((status << 1) | cq.phase));
        cq.tail++;
        if (cq.tail == cq.entries) {
            cq.tail = 0;
            cq.phase ^= 1;
        }
    }

    private int[] admin(MemorySegment e) {
        byte opcode = e.get(ValueLayout.JAVA_BYTE, 0);
        long prp1 = e.get(ValueLayout.JAVA_LONG, NvmeCommandDescriptor.PRP1_OFFSET);
        int cdw10 = e.get(ValueLayout.JAVA_INT, NvmeCommandDescriptor.CDW10_OFFSET);
        int cdw11 = e.get(ValueLayout.JAVA_INT, NvmeCommandDescriptor.CDW11_OFFSET);
        switch (opcode) {
            case NvmeOpcodes.ADMIN_IDENTIFY -> {
                MemorySegment d = ALL.asSlice(prp1, 4096);
                d.fill((byte) 0);
                switch (cdw10 & 0xFF) {
                    case NvmeOpcodes.CNS_CONTROLLER -> {
                        d.asSlice(IdentifyDescriptor.CTRL_SN_OFFSET, 4)
                                .copyFrom(MemorySegment.ofArray("1234".getBytes(StandardCharsets.US_ASCII)));
                        d.asSlice(IdentifyDescriptor.CTRL_MN_OFFSET, 11)
                                .copyFrom(MemorySegment.ofArray("test double".getBytes(StandardCharsets.US_ASCII)));
                        d.set(ValueLayout.JAVA_BYTE, IdentifyDescriptor.CTRL_MDTS_OFFSET, (byte) mdts);
                        d.set(ValueLayout.JAVA_INT_UNALIGNED, IdentifyDescriptor.CTRL_NN_OFFSET, 1);
                        d.set(ValueLayout.JAVA_SHORT_UNALIGNED, IdentifyDescriptor.CTRL_ONCS_OFFSET, (short) oncs);
                    }
                    case NvmeOpcodes.CNS_ACTIVE_NAMESPACES -> d.set(ValueLayout.JAVA_INT, 0, 1);
                    case NvmeOpcodes.CNS_NAMESPACE -> {
                        d.set(ValueLayout.JAVA_LONG, IdentifyDescriptor.NS_NSZE_OFFSET, blocks);
                        d.set(ValueLayout.JAVA_LONG, IdentifyDescriptor.NS_NCAP_OFFSET, blocks);
                        d.set(ValueLayout.JAVA_INT, IdentifyDescriptor.NS_LBAF_OFFSET, lbaShift << 16);
                    }
                    default -> {
                        return new int[] {0x2, 0}; // Invalid Field in Command
                    }
                }
                return new int[] {0, 0};
            }
            case NvmeOpcodes.ADMIN_SET_FEATURES -> {
                return new int[] {0, cdw11};
            }
            case NvmeOpcodes.ADMIN_CREATE_IO_CQ -> {
                Cq cq = new Cq();
                cq.base = prp1;
                cq.entries = (cdw10 >>> 16) + 1;
                cqs.put(cdw10 & 0xFFFF, cq);
                return new int[] {0, 0};
            }
            case NvmeOpcodes.ADMIN_CREATE_IO_SQ -> {
                Cq cq = cqs.get(cdw11 >>> 16);
                if (cq == null) {
                    return new int[] {0x100, 0}; // Completion Queue Invalid
                }
                Sq sq = new Sq();
                sq.base = prp1;
                sq.entries = (cdw10 >>> 16) + 1;
                sq.cq = cq;
                sqs.put(cdw10 & 0xFFFF, sq);
                return new int[] {0, 0};
            }
            case NvmeOpcodes.ADMIN_DELETE_IO_SQ -> {
                sqs.remove(cdw10 & 0xFFFF);
                return new int[] {0, 0};
            }
            case NvmeOpcodes.ADMIN_DELETE_IO_CQ -> {
                cqs.remove(cdw10 & 0xFFFF);
                return new int[] {0, 0};
            }
            default -> {
                return new int[] {0x1, 0}; // Invalid Command Opcode
            }
        }
    }

    private int[] io(MemorySegment e) {
        if (hangIo) {
            return null;
        }
        ioCommands++;
        byte opcode = e.get(ValueLayout.JAVA_BYTE, 0);
        long prp1 = e.get(ValueLayout.JAVA_LONG, NvmeCommandDescriptor.PRP1_OFFSET);
        long prp2 = e.get(ValueLayout.JAVA_LONG, NvmeCommandDescriptor.PRP2_OFFSET);
        long lba = (e.get(ValueLayout.JAVA_INT, NvmeCommandDescriptor.CDW10_OFFSET) & 0xFFFF_FFFFL)
                | ((long) e.get(ValueLayout.JAVA_INT, NvmeCommandDescriptor.CDW11_OFFSET) << 32);
        int nlb = (e.get(ValueLayout.JAVA_INT, NvmeCommandDescriptor.CDW12_OFFSET) & 0xFFFF) + 1;
        switch (opcode) {
            case NvmeOpcodes.NVM_FLUSH -> {
                flushes++;
                return new int[] {0, 0};
            }
            case NvmeOpcodes.NVM_READ, NvmeOpcodes.NVM_WRITE -> {
                long bytes = (long) nlb << lbaShift;
                if (lba + nlb > blocks || bytes > (4096L << mdts)) {
                    return new int[] {0x80, 0}; // LBA Out of Range (or too long)
                }
                long[] pages = prpPages(prp1, prp2, bytes);
                for (int i = 0; i < pages.length; i++) {
                    long chunk = Math.min(4096, bytes - (long) i * 4096);
                    long at = (lba << lbaShift) + (long) i * 4096;
                    if (opcode == NvmeOpcodes.NVM_READ) {
                        MemorySegment.copy(storage, at, ALL, pages[i], chunk);
                    } else {
                        MemorySegment.copy(ALL, pages[i], storage, at, chunk);
                    }
                }
                return new int[] {0, 0};
            }
            case NvmeOpcodes.NVM_WRITE_ZEROES -> {
                storage.asSlice(lba << lbaShift, (long) nlb << lbaShift).fill((byte) 0);
                return new int[] {0, 0};
            }
            case NvmeOpcodes.NVM_DATASET_MANAGEMENT -> {
                int ranges = (e.get(ValueLayout.JAVA_INT, NvmeCommandDescriptor.CDW10_OFFSET) & 0xFF) + 1;
                for (int r = 0; r < ranges; r++) {
                    int count = ALL.get(ValueLayout.JAVA_INT, prp1 + r * 16L + 4);
                    long start = ALL.get(ValueLayout.JAVA_LONG, prp1 + r * 16L + 8);
                    storage.asSlice(start << lbaShift, (long) count << lbaShift).fill((byte) 0);
                }
                return new int[] {0, 0};
            }
            default -> {
                return new int[] {0x1, 0};
            }
        }
    }

    /** The page addresses a PRP pair names for {@code bytes} (section 4.3), PRP1 page aligned. */
    static long[] prpPages(long prp1, long prp2, long bytes) {
        int n = (int) ((bytes + 4095) / 4096);
        long[] pages = new long[n];
        pages[0] = prp1;
        if (n == 2) {
            pages[1] = prp2;
        } else if (n > 2) {
            for (int i = 1; i < n; i++) {
                pages[i] = ALL.get(ValueLayout.JAVA_LONG, prp2 + (i - 1) * 8L);
            }
        }
        return pages;
    }

    /** Frees the storage. */
    public void close() {
        arena.close();
    }
}
