package org.fsp.bench.jmh;

import java.io.IOException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Round trips through FS Lib to a separate fspd process on its RAM driver: a no-op request, a 4 KiB pwrite and a 4 KiB
 * pread. The JMH fork is the client JVM; fspd is started per trial and stopped after it. Each benchmark thread has its
 * own file of 256 blocks (1 MiB), written once in set-up, and cycles through its blocks, so that writes overwrite
 * allocated blocks and reads hit the file system's cache, as a steady-state workload does. The connection asks for as
 * many lanes as there are benchmark threads, so threads do not share a lane.
 *
 * <p>Run through {@link ChannelJmh}, which also runs the floor ({@link ShmPingPong}) and prints the ratios.
 */
public class ChannelRoundTrip {

    static final int BLOCK_BYTES = 4096;
    static final int BLOCKS_PER_FILE = 256;
    /** How long a trial's set-up drives fspd before measuring: nanoseconds. */
    static final long SERVER_WARMUP_NANOS = Long.getLong("fsp.bench.serverWarmupMillis", 5_000) * 1_000_000;

    /** fspd and the one connection that every benchmark thread shares. */
    @State(Scope.Benchmark)
    public static class Server {
        FspdProcess fspd;
        FspClient client;

        @Setup(Level.Trial)
        public void start(BenchmarkParams params) throws IOException, InterruptedException {
            fspd = FspdProcess.startRam();
            client = FspClient.connect(fspd.socket(), params.getThreads());
            warmUpServer(client);
        }

        /**
         * A fresh fspd runs its request path interpreted until its JIT has compiled it, which on a loaded 2-core
         * machine takes seconds and made the first trials' round trips 200 us (the client's whole spin, then a futex
         * sleep): every operation is sent for {@link #SERVER_WARMUP_NANOS} before JMH's own warm-up begins.
         */
        private static void warmUpServer(FspClient client) throws IOException {
            String path = "/jmh-server-warmup";
            long handle = client.open(path, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
            byte[] block = new byte[BLOCK_BYTES];
            long deadline = System.nanoTime() + SERVER_WARMUP_NANOS;
            for (int i = 0; System.nanoTime() < deadline; i++) {
                long position = (long) (i & (BLOCKS_PER_FILE - 1)) * BLOCK_BYTES;
                client.noop();
                client.pwrite(handle, position, block, 0, BLOCK_BYTES);
                client.pread(handle, position, block, 0, BLOCK_BYTES);
            }
            client.close(handle);
            client.unlink(path);
        }

        @TearDown(Level.Trial)
        public void stop() throws IOException {
            try {
                if (client != null) {
                    client.close();
                }
            } finally {
                fspd.close();
            }
        }
    }

    /** One benchmark thread's open file, buffer and next block. */
    @State(Scope.Thread)
    public static class ThreadFile {
        final byte[] block = new byte[BLOCK_BYTES];
        long handle;
        int next;

        @Setup(Level.Trial)
        public void create(Server server, ThreadParams thread) throws IOException {
            handle = server.client.open(
                    "/jmh-" + thread.getThreadIndex(), OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
            for (int i = 0; i < BLOCKS_PER_FILE; i++) {
                block[0] = (byte) i;
                server.client.pwrite(handle, (long) i * BLOCK_BYTES, block, 0, BLOCK_BYTES);
            }
        }

        long nextPosition() {
            return (long) (next++ & (BLOCKS_PER_FILE - 1)) * BLOCK_BYTES;
        }
    }

    @Benchmark
    public void noop(Server server) throws IOException {
        server.client.noop();
    }

    @Benchmark
    public int write4k(Server server, ThreadFile file) throws IOException {
        return server.client.pwrite(file.handle, file.nextPosition(), file.block, 0, BLOCK_BYTES);
    }

    @Benchmark
    public int read4k(Server server, ThreadFile file) throws IOException {
        return server.client.pread(file.handle, file.nextPosition(), file.block, 0, BLOCK_BYTES);
    }
}
