package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;
import java.util.stream.Stream;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.block.nvme.IoUringBlockDevice;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.block.sched.FifoBlockScheduler;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Checker;
import org.fsp.fs.core.tools.Formatter;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * fs-core on the real block layer: the RAM and io_uring devices of block-nvme under the FIFO and batching schedulers
 * of block-sched. Many threads create, write, fsync, rename and delete, while moving directories into each other;
 * then the file system is remounted, the files read back and fsck must find the device clean.
 */
class RealBlockLayerTest {

    private static final Credentials ROOT = Credentials.ROOT;
    private static final long SIZE = 64L << 20;

    @TempDir
    static Path tmp;

    static Stream<Arguments> stacks() {
        Function<BlockDevice, BlockScheduler> fifo = d -> new FifoBlockScheduler(d, 256);
        Function<BlockDevice, BlockScheduler> batching = d -> new BatchingBlockScheduler(d, 256);
        return Stream.of(
                Arguments.of("ram+fifo", "ram", fifo),
                Arguments.of("ram+batching", "ram", batching),
                Arguments.of("io_uring+batching", "io_uring", batching));
    }

    private static BlockDevice open(String kind, String name) throws Exception {
        if (kind.equals("ram")) {
            return new RamBlockDevice(SIZE, 256);
        }
        Path image = tmp.resolve(name + ".img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(SIZE);
        }
        return IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(image, 128));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stacks")
    void shouldRunConcurrentWorkloadsAndStayConsistent(
            String name, String kind, Function<BlockDevice, BlockScheduler> schedulers) throws Exception {
        try (BlockDevice device = open(kind, name)) {
            BlockScheduler scheduler = schedulers.apply(device);
            BlockIo io = new BlockIo(scheduler);
            Formatter.format(io, io.blockCount(), 0);
            FsCore fs = FsCore.mount(scheduler, new FsCore.Options(4L << 20, 16, 50));
            int threads = 4;
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int id = t;
                workers.add(Thread.ofPlatform().start(() -> {
                    try {
                        work(fs, id);
                    } catch (Exception | Error e) {
                        failures.add("thread " + id + ": " + e);
                    }
                }));
            }
            for (Thread w : workers) {
                w.join();
            }
            assertEquals(List.of(), List.copyOf(failures));
            fs.unmount();
            FsCore again = FsCore.mount(scheduler, new FsCore.Options(4L << 20, 16, 0));
            for (int t = 0; t < threads; t++) {
                for (int k = 0; k < 40; k += 2) {
                    assertArrayEquals(content(t, k), read(again, "/t" + t + "/kept-" + k), name + " t" + t + " k" + k);
                }
            }
            again.unmount();
            assertEquals(List.of(), Checker.check(io).problems());
        }
    }

    private static byte[] content(int t, int k) {
        byte[] b = new byte[(t * 7919 + k * 104729) % 50_000];
        new Random(t * 1000L + k).nextBytes(b);
        return b;
    }

    private static void work(FsCore fs, int t) throws Exception {
        String dir = "/t" + t;
        fs.mkdir(ROOT, dir, 0755);
        fs.mkdir(ROOT, "/s" + t, 0755);
        for (int k = 0; k < 40; k++) {
            String path = dir + "/f-" + k;
            long h = fs.open(ROOT, path, OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
            fs.write(ROOT, h, MemorySegment.ofArray(content(t, k)));
            if (k % 3 == 0) {
                fs.fsync(ROOT, h);
            }
            fs.close(ROOT, h);
            if (k % 2 == 0) {
                fs.rename(ROOT, path, dir + "/kept-" + k);
            } else {
                fs.unlink(ROOT, path);
            }
            try {
                fs.rename(ROOT, "/s" + ((t + 1) % 4), "/s" + t + "/moved");
                fs.rename(ROOT, "/s" + t + "/moved", "/s" + ((t + 1) % 4));
            } catch (FsException e) {
                // Another thread moved it first: ENOENT, EINVAL or ENOTEMPTY are all fine here.
            }
        }
    }

    private static byte[] read(FsCore fs, String path) throws Exception {
        long h = fs.open(ROOT, path, OpenFlags.O_RDONLY, 0);
        try {
            byte[] out = new byte[(int) fs.fstat(ROOT, h).size()];
            int done = 0;
            while (done < out.length) {
                int n = fs.read(ROOT, h, MemorySegment.ofArray(out).asSlice(done));
                if (n <= 0) {
                    break;
                }
                done += n;
            }
            return out;
        } finally {
            fs.close(ROOT, h);
        }
    }
}
