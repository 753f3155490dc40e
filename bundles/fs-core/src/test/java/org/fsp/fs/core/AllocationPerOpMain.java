package org.fsp.fs.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;

/**
 * Heap bytes fs-core allocates per 4 KiB pwrite and pread in steady state on the RAM device (not a test: the figure
 * depends on the JIT's escape analysis, so it is measured after a warm-up, in the calling thread, and printed). It is
 * the load-independent half of issue 5's write-rate target: what the request path allocates, the daemon pays for in
 * GC and cache misses whatever the machine's load.
 *
 * <p>Run from bundles/fs-core after {@code mvn test-compile}: {@code java --enable-native-access=ALL-UNNAMED -cp
 * target/classes:target/test-classes:<fs-api, block-nvme, block-sched, native-linux, slf4j jars>
 * org.fsp.fs.core.AllocationPerOpMain [operations]}.
 */
public final class AllocationPerOpMain {

    private AllocationPerOpMain() {}

    public static void main(String[] args) throws Exception {
        int operations = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (RamBlockDevice ram = new RamBlockDevice(256L << 20, 128);
                Arena arena = Arena.ofConfined()) {
            BatchingBlockScheduler scheduler = new BatchingBlockScheduler(ram, 256);
            Formatter.format(new BlockIo(scheduler), ram.blockCount() * ram.blockSize() / 4096, 0);
            FsCore fs = FsCore.mount(scheduler, FsCore.Options.defaults());
            long h = fs.open(Credentials.ROOT, "/bench", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            MemorySegment block = arena.allocate(4096, 4096);
            // As the JMH benchmark does: one client thread overwriting and reading back a small file.
            int fileBlocks = 256;
            for (int round = 0; round < 3; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int k = 0; k < operations; k++) {
                    fs.pwrite(Credentials.ROOT, h, (long) (k % fileBlocks) * 4096, block);
                }
                long afterWrites = threads.getCurrentThreadAllocatedBytes();
                for (int k = 0; k < operations; k++) {
                    fs.pread(Credentials.ROOT, h, (long) (k % fileBlocks) * 4096, block);
                }
                long afterReads = threads.getCurrentThreadAllocatedBytes();
                System.out.printf(
                        "round %d: pwrite %.1f B/op, pread %.1f B/op%n",
                        round,
                        (afterWrites - before) / (double) operations,
                        (afterReads - afterWrites) / (double) operations);
            }
            fs.close(Credentials.ROOT, h);
            fs.unmount();
        }
    }
}
