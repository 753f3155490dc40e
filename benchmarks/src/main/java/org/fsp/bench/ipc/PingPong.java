package org.fsp.bench.ipc;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * The floor: a raw shared-memory ping-pong between two JVMs through a file in /dev/shm, with the same 4 KiB copy a
 * write request makes. The pinger copies 4 KiB into the shared buffer and publishes a sequence number; the ponger
 * spins on it, copies the 4 KiB out and publishes the same number back. No rings, no validation, no file system.
 *
 * <pre>
 *  0     sequence (pinger, 64 bits, own cache line)
 *  128   answer   (ponger, 64 bits, own cache line)
 *  4096  4 KiB data
 * </pre>
 *
 * {@code PingPong ping FILE ROUNDS WARMUP} prints {@code RESULT pingpong 1 p50ns p99ns meanNs roundTripsPerSecond}.
 */
public final class PingPong {

    static final long SIZE = 8192;
    private static final VarHandle LONG = JAVA_LONG.varHandle();

    private PingPong() {}

    static MemorySegment map(Path file, Arena arena) throws IOException {
        try (FileChannel ch =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, SIZE, arena);
        }
    }

    /** Answers every sequence number until {@code stop} is set or the thread is interrupted. */
    static void pong(MemorySegment shm, java.util.function.BooleanSupplier stop) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment privateCopy = arena.allocate(4096, 4096);
            long last = 0;
            while (!stop.getAsBoolean()) {
                // Acquire: the data the pinger copied before publishing the number is visible.
                long seq = (long) LONG.getAcquire(shm, 0L);
                if (seq == last) {
                    Thread.onSpinWait();
                    continue;
                }
                MemorySegment.copy(shm, 4096, privateCopy, 0, 4096);
                last = seq;
                // Release: our copy is done before the pinger may overwrite the data.
                LONG.setRelease(shm, 128L, seq);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[1]);
        int rounds = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        try (Arena arena = Arena.ofShared();
                Arena local = Arena.ofConfined()) {
            MemorySegment shm = map(file, arena);
            MemorySegment data = local.allocate(4096, 4096);
            Histogram h = new Histogram(3_600_000_000L, 3);
            long seq = (long) LONG.getAcquire(shm, 128L);
            long start = 0;
            for (int i = 0; i < warmup + rounds; i++) {
                if (i == warmup) {
                    start = System.nanoTime();
                }
                long t0 = System.nanoTime();
                MemorySegment.copy(data, 0, shm, 4096, 4096);
                seq++;
                // Release: the data is in place before the ponger sees the number.
                LONG.setRelease(shm, 0L, seq);
                while ((long) LONG.getAcquire(shm, 128L) != seq) {
                    Thread.onSpinWait();
                }
                if (i >= warmup) {
                    h.recordValue(System.nanoTime() - t0);
                }
            }
            double perSecond = rounds / ((System.nanoTime() - start) / 1e9);
            System.out.printf(
                    Locale.ROOT,
                    "RESULT pingpong 1 %d %d %.0f %.0f%n",
                    h.getValueAtPercentile(50),
                    h.getValueAtPercentile(99),
                    h.getMean(),
                    perSecond);
        }
    }
}
