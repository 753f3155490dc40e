package org.fsp.bench.jmh;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.bench.ipc.PingPong.ANSWER_OFFSET;
import static org.fsp.bench.ipc.PingPong.DATA_BYTES;
import static org.fsp.bench.ipc.PingPong.DATA_OFFSET;
import static org.fsp.bench.ipc.PingPong.READY_OFFSET;
import static org.fsp.bench.ipc.PingPong.SEQUENCE_OFFSET;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.bench.ChildProcesses;
import org.fsp.bench.ipc.PingPong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The floor of {@link ChannelRoundTrip}: a raw shared-memory ping-pong with a 4 KiB copy between this JVM (the JMH
 * fork) and a peer JVM ({@link PingPong} {@code pong}), through a file in /dev/shm. One round trip copies 4 KiB in,
 * publishes a sequence number and spins until the peer, having copied the 4 KiB out, publishes it back: what a 4 KiB
 * write over shared memory costs with no rings, no validation and no file system. One thread only (one peer).
 */
@State(Scope.Benchmark)
public class ShmPingPong {

    private static final VarHandle LONG = JAVA_LONG.varHandle();

    private Path file;
    private Process peer;
    private Arena arena;
    private MemorySegment shm;
    private MemorySegment data;
    private long sequence;

    @Setup(Level.Trial)
    public void startPeer() throws IOException, InterruptedException {
        file = Path.of("/dev/shm/fsp-jmh-pingpong-" + ProcessHandle.current().pid());
        Files.deleteIfExists(file);
        arena = Arena.ofShared();
        shm = PingPong.map(file, arena);
        data = arena.allocate(DATA_BYTES, 4096);
        String java = ProcessHandle.current().info().command().orElse("java");
        peer = ChildProcesses.start(new ProcessBuilder(List.of(
                        java,
                        "--enable-native-access=ALL-UNNAMED",
                        "-Xmx64m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        PingPong.class.getName(),
                        "pong",
                        file.toString()))
                .inheritIO());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        // Acquire: the peer's ready flag, set after it read the starting sequence.
        while ((long) LONG.getAcquire(shm, READY_OFFSET) != 1L) {
            if (!peer.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("ping-pong peer did not start");
            }
            Thread.sleep(10);
        }
        sequence = (long) LONG.getAcquire(shm, ANSWER_OFFSET);
    }

    @Benchmark
    public long pingPong4k() {
        MemorySegment.copy(data, 0, shm, DATA_OFFSET, DATA_BYTES);
        long seq = ++sequence;
        // Release: the data is in place before the peer sees the number.
        LONG.setRelease(shm, SEQUENCE_OFFSET, seq);
        // Acquire: the peer's copy is done before we overwrite the data in the next round.
        while ((long) LONG.getAcquire(shm, ANSWER_OFFSET) != seq) {
            Thread.onSpinWait();
        }
        return seq;
    }

    @TearDown(Level.Trial)
    public void stopPeer() throws IOException, InterruptedException {
        peer.destroyForcibly();
        peer.waitFor();
        arena.close();
        Files.deleteIfExists(file);
    }
}
