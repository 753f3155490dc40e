package org.fsp.block.nvme.pci;

/**
 * Access to a controller's BAR0 registers ({@link ControllerRegisterDescriptor}). Implemented over the mapped BAR by
 * {@link MmioRegisters}; tests use a register file of their own.
 */
public interface ControllerRegisters {

    /** Reads the 32-bit register at {@code offset}. */
    int read32(int offset);

    /** Writes the 32-bit register at {@code offset}; the store is ordered after every earlier memory store. */
    void write32(int offset, int value);

    /** Reads a 64-bit register as two 32-bit reads, low word first. */
    default long read64(int offset) {
        long low = read32(offset) & 0xFFFF_FFFFL;
        long high = read32(offset + 4) & 0xFFFF_FFFFL;
        return (high << 32) | low;
    }

    /** Writes a 64-bit register as two 32-bit writes, low word first. */
    default void write64(int offset, long value) {
        write32(offset, (int) value);
        write32(offset + 4, (int) (value >>> 32));
    }
}
