package org.fsp.bench.recovery;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.fsp.bench.ChildProcesses;
import org.fsp.support.SupervisedFspdCommand;

/**
 * The FUSE row of {@code fsp bench recovery}: {@code bin/fspd --supervise --mount DIR} on an image of its own, a
 * program thread doing ordinary file I/O in the mount (pwrite, pread, fsync, mkdir and rmdir), and SIGKILLs of the
 * serving fspd, each once the standby is warm. Per kill: (a) kill to the first FUSE request served (a LOOKUP of a name
 * never asked before, so no kernel cache answers it) and the pause the program saw (its last call finished before the
 * kill to the first finished after it). Needs root and {@code /dev/fuse}: without them the row says it was skipped.
 */
final class FuseRecoveryPhase {

    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(120);
    private static final int BLOCK = 4096;
    private static final int BLOCKS = 256;

    private final Path bin;
    private final Path work;

    FuseRecoveryPhase(Path bin, Path work) {
        this.bin = bin;
        this.work = work;
    }

    /** The table row, or a line saying why there is none; {@code firstServed} also gets each kill's (a). */
    String run(int kills, Histogram firstServed) throws Exception {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (!Integer.valueOf(0).equals(uid) || !Files.exists(Path.of("/dev/fuse"))) {
            return "| FUSE mount | skipped: needs root and /dev/fuse | | | | | | | |";
        }
        Path mnt = Files.createDirectories(work.resolve("fuse-mnt"));
        Path socket = work.resolve("fuse.sock");
        Path out = work.resolve("fuse-supervisor.out");
        Path log = Path.of(socket + ".d", "fspd.log");
        Process supervisor = ChildProcesses.start(
                SupervisedFspdCommand.mounting(bin.resolve("fspd"), work.resolve("fuse.img"), socket, mnt, out));
        Histogram a = new Histogram(TIMEOUT_NANOS, 3);
        Histogram pause = new Histogram(TIMEOUT_NANOS, 3);
        Program program = null;
        try {
            int served = 1;
            long primary = RecoveryBench.awaitServing(supervisor, out, served);
            awaitMounted(mnt);
            program = new Program(mnt.resolve("program"));
            program.start();
            for (int k = 0; k < kills; k++) {
                RecoveryBench.awaitWarmStandbys(supervisor, log, served + 1);
                program.awaitProgress();
                Thread.sleep(100);
                long killedAt = System.nanoTime();
                long lastBefore = program.lastOk();
                ProcessHandle.of(primary).orElseThrow().destroyForcibly();
                // Blocks until the standby serves the mount: the LOOKUP of a new name has to reach fspd.
                Files.exists(mnt.resolve("probe-" + k + "-" + killedAt));
                long first = System.nanoTime();
                a.recordValue(first - killedAt);
                firstServed.recordValue(first - killedAt);
                pause.recordValue(program.firstOkAfter(killedAt) - lastBefore);
                primary = RecoveryBench.awaitServing(supervisor, out, ++served);
            }
        } finally {
            if (program != null) {
                program.stop();
            }
            supervisor.destroy(); // SIGTERM: the mount goes in order
            if (!supervisor.waitFor(90, TimeUnit.SECONDS)) {
                supervisor.descendants().forEach(ProcessHandle::destroyForcibly);
                supervisor.destroyForcibly();
            }
        }
        return String.format(
                Locale.ROOT,
                "| FUSE mount | %3d | %7.1f | %7.1f | - | - | %7.1f | %7.1f | %d in %d |",
                kills,
                ms(a, 50),
                ms(a, 99),
                ms(pause, 50),
                ms(pause, 99),
                program.errors.get(),
                program.ops.get());
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1e6;
    }

    private static void awaitMounted(Path mnt) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (System.nanoTime() < deadline) {
            if (Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + mnt + " ")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IOException("fspd --mount did not mount " + mnt + " within 120 s");
    }

    /** The program in the mount: one thread of ordinary file I/O; errors are counted, not fatal. */
    private static final class Program {
        final Path dir;
        final AtomicLong ops = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        volatile long lastOk;
        volatile boolean stop;
        Thread thread;

        Program(Path dir) {
            this.dir = dir;
        }

        void start() throws IOException {
            Files.createDirectories(dir);
            thread = Thread.ofPlatform().name("fuse-recovery-program").start(this::run);
        }

        long lastOk() {
            return lastOk;
        }

        void awaitProgress() throws Exception {
            long seen = ops.get();
            long deadline = System.nanoTime() + TIMEOUT_NANOS;
            while (ops.get() == seen) {
                if (System.nanoTime() > deadline || !thread.isAlive()) {
                    throw new IOException("the program in the mount makes no progress");
                }
                Thread.sleep(1);
            }
        }

        /** When the program's first call that finished after {@code since} did. */
        long firstOkAfter(long since) throws Exception {
            long deadline = System.nanoTime() + TIMEOUT_NANOS;
            long seen;
            while ((seen = lastOk) <= since) {
                if (System.nanoTime() > deadline || !thread.isAlive()) {
                    throw new IOException("the program in the mount did not carry on after the kill");
                }
                Thread.sleep(1);
            }
            return seen;
        }

        void stop() throws InterruptedException {
            stop = true;
            thread.join(30_000);
        }

        private void run() {
            ByteBuffer block = ByteBuffer.allocate(BLOCK);
            try (FileChannel f = FileChannel.open(
                    dir.resolve("data"),
                    StandardOpenOption.CREATE,
                    StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                long n = 0;
                while (!stop) {
                    long offset = (n * 7919 % BLOCKS) * BLOCK;
                    try {
                        switch ((int) (n % 8)) {
                            case 0, 1, 2 -> f.write(block.clear(), offset);
                            case 3, 4, 5 -> f.read(block.clear(), offset);
                            case 6 -> f.force(false);
                            default -> {
                                Path d = dir.resolve("d");
                                Files.createDirectory(d);
                                Files.delete(d);
                            }
                        }
                        lastOk = System.nanoTime();
                        ops.incrementAndGet();
                    } catch (IOException e) {
                        errors.incrementAndGet();
                    }
                    n++;
                }
            } catch (IOException e) {
                errors.incrementAndGet();
            }
        }
    }
}
