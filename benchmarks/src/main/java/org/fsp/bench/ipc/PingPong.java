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
 *  256   ready    (ponger, 64 bits: 1 once it answers)
 *  4096  4 KiB data
 * </pre>
 *
 * {@code PingPong ping FILE ROUNDS WARMUP} prints {@code RESULT pingpong 1 p50ns p99ns meanNs roundTripsPerSecond};
 * {@code PingPong pong FILE} answers until it is killed (the peer process of the JMH floor,
 * {@code org.fsp.bench.jmh.ShmPingPong}).
 */
public final class PingPong {

    static final long SIZE = 8192;
    /** Offsets of the layout above. */
    public static final long SEQUENCE_OFFSET = 0;

    public static final long ANSWER_OFFSET = 128;
    public static final long READY_OFFSET = 256;
    public static final long DATA_OFFSET = 4096;
    public static final int DATA_BYTES = 4096;
    private static final VarHandle LONG = JAVA_LONG.varHandle();

    private PingPong() {}

    public static MemorySegment map(Path file, Arena arena) throws IOException {
        try (FileChannel ch =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, SIZE, arena);
        }
    }

    /** Answers every sequence number until {@code stop} is set or the thread is interrupted. */
    static void pong(MemorySegment shm, java.util.function.BooleanSupplier stop) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment privateCopy = arena.allocate(4096, 4096);
            long last = (long) LONG.getAcquire(shm, SEQUENCE_OFFSET);
            // Release: the pinger may start once this is visible (it waits for it).
            LONG.setRelease(shm, READY_OFFSET, 1L);
            while (!stop.getAsBoolean()) {
                // Acquire: the data the pinger copied before publishing the number is visible.
                long seq = (long) LONG.getAcquire(shm, SEQUENCE_OFFSET);
                if (seq == last) {
                    Thread.onSpinWait();
                    continue;
                }
                MemorySegment.copy(shm, DATA_OFFSET, privateCopy, 0, DATA_BYTES);
                last = seq;
                // Release: our copy is done before the pinger may overwrite the data.
                LONG.setRelease(shm, ANSWER_OFFSET, seq);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[1]);
        if (args[0].equals("pong")) {
            try (Arena arena = Arena.ofShared()) {
                pong(map(file, arena), () -> false);
            }
            return;
        }
        int rounds = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        try (Arena arena = Arena.ofShared();
                Arena local = Arena.ofConfined()) {
            MemorySegment shm = map(file, arena);
            MemorySegment data = local.allocate(4096, 4096);
            Histogram h = new Histogram(3_600_000_000L, 3);
            long seq = (long) LONG.getAcquire(shm, ANSWER_OFFSET);
            long start = 0;
            for (int i = 0; i < warmup + rounds; i++) {
                if (i == warmup) {
                    start = System.nanoTime();
                }
                long t0 = System.nanoTime();
                MemorySegment.copy(data, 0, shm, DATA_OFFSET, DATA_BYTES);
                seq++;
                // Release: the data is in place before the ponger sees the number.
                LONG.setRelease(shm, SEQUENCE_OFFSET, seq);
                while ((long) LONG.getAcquire(shm, ANSWER_OFFSET) != seq) {
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
