package org.fsp.fs.core;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.FileSystemHandoff;
import org.fsp.block.nvme.IoUringBlockDevice;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;

/**
 * What a live upgrade of fs-core costs inside fs-core (not a test: timings belong to benchmarks): on the RAM device
 * and on an io_uring image file, with 64 open handles, the upgrade bundle's pre-flush ({@link FsCore#sync()}), writes
 * since, the component's {@link FsCore#checkpoint()} while still serving, {@code -DwritesInPause=N} writes by calls
 * that were in progress when the IPC layer began holding requests (default 0), then {@link FsCore#quiesce} and the next
 * version's mount from the hand-off (the clients' pause), repeated. {@code -DnoCheckpoint=true} leaves out the
 * checkpoint while serving, as before it existed.
 *
 * <p>Run from bundles/fs-core after {@code mvn test-compile}: {@code java --enable-native-access=ALL-UNNAMED -cp
 * target/classes:target/test-classes:<fs-api, block-nvme, block-sched, native-linux, slf4j jars>
 * org.fsp.fs.core.HandoffTimingMain [rounds]}.
 */
public final class HandoffTimingMain {

    private static final Credentials ROOT = Credentials.ROOT;

    private HandoffTimingMain() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        try (RamBlockDevice ram = new RamBlockDevice(256L << 20, 128)) {
            run("ram 256 MiB", ram, rounds);
        }
        Path image = Files.createTempFile("fsp-handoff-timing", ".img");
        try {
            try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(0);
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), (256L << 20) - 1);
            }
            try (IoUringBlockDevice file = IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(image, 128))) {
                run("io_uring image 256 MiB", file, rounds);
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    private static void run(String name, BlockDevice device, int rounds) throws Exception {
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), device.blockCount() * device.blockSize() / 4096, 0);
        FsCore.Options options =
                Boolean.getBoolean("smallCache") ? new FsCore.Options(1L << 20, 32, 5000) : FsCore.Options.defaults();
        FsCore fs = FsCore.mount(scheduler, options);
        byte[] data = new byte[16 << 10];
        List<Long> handles = new ArrayList<>();
        for (int f = 0; f < 64; f++) {
            handles.add(fs.open(ROOT, "/f" + f, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644));
        }
        int writesInPause = Integer.getInteger("writesInPause", 0);
        boolean checkpointWhileServing = !Boolean.getBoolean("noCheckpoint");
        long[] quiesce = new long[rounds];
        long[] adopt = new long[rounds];
        for (int r = 0; r < rounds; r++) {
            for (long h : handles) {
                fs.write(ROOT, h, MemorySegment.ofArray(data));
            }
            fs.sync();
            for (int k = 0; k < 4; k++) {
                fs.write(ROOT, handles.get(k), MemorySegment.ofArray(data));
            }
            if (checkpointWhileServing) {
                fs.checkpoint();
            }
            for (int k = 0; k < writesInPause; k++) {
                fs.write(ROOT, handles.get(k), MemorySegment.ofArray(data));
            }
            long t0 = System.nanoTime();
            FileSystemHandoff handoff = fs.quiesce(Map.of());
            long t1 = System.nanoTime();
            fs = FsCore.mount(scheduler, options, FsCore::wallClockNanos, handoff);
            long t2 = System.nanoTime();
            if (fs.handlesAdopted() != handles.size()) {
                throw new IllegalStateException("adopted " + fs.handlesAdopted());
            }
            quiesce[r] = t1 - t0;
            adopt[r] = t2 - t1;
        }
        for (long h : handles) {
            fs.close(ROOT, h);
        }
        fs.unmount();
        System.out.printf(
                "%s, %d rounds, checkpoint while serving %s, %d writes in the pause: quiesce median %d us max %d us;"
                        + " mount from hand-off median %d us max %d us; sum median %d us%n",
                name,
                rounds,
                checkpointWhileServing,
                writesInPause,
                median(quiesce),
                max(quiesce),
                median(adopt),
                max(adopt),
                median(sum(quiesce, adopt)));
    }

    private static long[] sum(long[] a, long[] b) {
        long[] s = new long[a.length];
        for (int k = 0; k < a.length; k++) {
            s[k] = a[k] + b[k];
        }
        return s;
    }

    private static long median(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1000;
    }

    private static long max(long[] ns) {
        return Arrays.stream(ns).max().orElse(0) / 1000;
    }
}
