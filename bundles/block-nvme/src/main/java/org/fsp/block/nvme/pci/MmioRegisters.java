package org.fsp.block.nvme.pci;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * {@link ControllerRegisters} over BAR0 mapped into this process (VFIO's mmap of region 0). Every access is a
 * volatile 32-bit load or store: the JIT must neither merge, drop nor reorder MMIO, and a doorbell store must follow
 * the stores that filled the queue entry it publishes (a volatile store is a release).
 */
final class MmioRegisters implements ControllerRegisters {

    private static final VarHandle U32 = ValueLayout.JAVA_INT.varHandle();

    private final MemorySegment bar;

    MmioRegisters(MemorySegment bar) {
        this.bar = bar;
    }

    @Override
    public int read32(int offset) {
        return (int) U32.getVolatile(bar, (long) offset);
    }

    @Override
    public void write32(int offset, int value) {
        U32.setVolatile(bar, (long) offset, value);
    }
}
