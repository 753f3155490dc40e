package org.fsp.block.nvme;

import org.fsp.api.block.BlockDevice;

/** A {@link BlockDevice} of this bundle that reports its counters, its driver kind and the mode it runs in. */
public interface ObservableBlockDevice extends BlockDevice {

    /** The driver kind, a value of {@link BlockDevice#PROP_DRIVER}. */
    String driver();

    /** The mode the device actually runs in, e.g. {@code "SQPOLL"}, {@code "IOPOLL"}, {@code "plain"}, {@code "memory"}. */
    String mode();

    /** Counters and the latency histogram. */
    DeviceStats stats();
}
