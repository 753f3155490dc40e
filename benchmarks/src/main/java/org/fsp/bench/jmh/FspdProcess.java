package org.fsp.bench.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.fsp.bench.BenchHost;
import org.fsp.bench.ChildProcesses;
import org.fsp.client.FspClient;

/**
 * {@code bin/fspd --headless --driver ram} of the distribution at {@code fsp.home} as a child process with its own
 * socket in a fresh temporary directory; {@link #close()} stops it with SIGTERM and removes the directory.
 */
public final class FspdProcess implements AutoCloseable {

    /** The distribution whose {@code bin/fspd} is started: {@code -Dfsp.home} (bin/fsp sets it), else the build's. */
    public static Path home() {
        return BenchHost.distribution().toAbsolutePath();
    }

    private final Process process;
    private final Path dir;
    private final Path socket;

    private FspdProcess(Process process, Path dir, Path socket) {
        this.process = process;
        this.dir = dir;
        this.socket = socket;
    }

    /** Starts fspd on its RAM driver and returns once a client's no-op request is answered. */
    public static FspdProcess startRam() throws IOException, InterruptedException {
        Path fspd = home().resolve("bin/fspd");
        if (!Files.isExecutable(fspd)) {
            throw new IOException(fspd + " not found: build the distribution or pass -Dfsp.home=DIST");
        }
        Path dir = Files.createTempDirectory("fsp-jmh-");
        Path socket = dir.resolve("fsp.sock");
        Path out = dir.resolve("fspd.out");
        Process p = ChildProcesses.start(new ProcessBuilder(
                        List.of(fspd.toString(), "--headless", "--driver", "ram", "--socket", socket.toString()))
                .redirectErrorStream(true)
                .redirectOutput(out.toFile()));
        FspdProcess fspdProcess = new FspdProcess(p, dir, socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            if (!p.isAlive()) {
                String why = Files.readString(out).strip();
                fspdProcess.close();
                throw new IOException("fspd exited with " + p.exitValue() + ": " + why);
            }
            if (Files.exists(socket)) {
                try (FspClient probe = FspClient.connect(socket, 1)) {
                    probe.noop();
                    return fspdProcess;
                } catch (IOException notYet) {
                    // the socket file exists a moment before the server accepts
                }
            }
            if (System.nanoTime() > deadline) {
                fspdProcess.close();
                throw new IOException("fspd did not accept clients within 120 s");
            }
            Thread.sleep(50);
        }
    }

    public Path socket() {
        return socket;
    }

    public long pid() {
        return process.pid();
    }

    @Override
    public void close() throws IOException {
        process.destroy(); // SIGTERM: bin/fspd execs the JVM, whose handler stops Felix in order
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
