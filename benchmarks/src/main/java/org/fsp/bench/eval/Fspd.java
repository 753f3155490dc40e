package org.fsp.bench.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.bench.ChildProcesses;
import org.fsp.client.FspClient;

/**
 * fspd as a child process of a benchmark: {@code bin/fspd --headless} on a fresh image (or the RAM driver), with
 * its own socket under the work directory; {@link #close()} stops it with SIGTERM (an orderly stop that flushes) and
 * waits for it. Every benchmark that measures a real fspd starts it here (the eval, fairness and sched benches), so
 * that they wait for it to accept clients, and stop it, the same way. A typical sequence is: {@link #start}, then
 * clients on {@link #socket}, then {@link #close()}, then deleting {@link #image}.
 */
public final class Fspd implements AutoCloseable {

    final String name;
    /** The socket clients connect to. */
    public final Path socket;
    /** The image file (created by fspd for the io_uring driver; unused by the RAM driver); the caller deletes it. */
    public final Path image;

    final Path log;
    private final Process process;

    private Fspd(String name, Path socket, Path image, Path log, Process process) {
        this.name = name;
        this.socket = socket;
        this.image = image;
        this.log = log;
        this.process = process;
    }

    /**
     * Starts {@code fspd} with {@code driver} ("io_uring" on a new image file of {@code size}, or "ram") and waits
     * until a client can connect; {@code extra} are further fspd options ({@code --mount DIR}).
     */
    public static Fspd start(Path fspdBin, Path workDir, String name, String driver, String size, String... extra)
            throws IOException {
        return startWithJvmOptions(fspdBin, workDir, name, driver, size, "", extra);
    }

    /** {@link #start} with {@code jvmOptions} in FSP_OPTS (framework properties such as fsp.fuse.transport). */
    static Fspd startWithJvmOptions(
            Path fspdBin, Path workDir, String name, String driver, String size, String jvmOptions, String... extra)
            throws IOException {
        Path image = workDir.resolve(name + ".img");
        Path socket = workDir.resolve(name + ".sock");
        Path out = workDir.resolve(name + ".out");
        Files.deleteIfExists(image);
        List<String> command = new ArrayList<>(List.of(
                fspdBin.toString(),
                "--headless",
                "--device",
                image.toString(),
                "--size",
                size,
                "--socket",
                socket.toString(),
                "--driver",
                driver));
        command.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(command);
        if (!jvmOptions.isEmpty()) {
            pb.environment().merge("FSP_OPTS", jvmOptions, (a, b) -> a + " " + b);
        }
        Process p = ChildProcesses.start(pb.redirectErrorStream(true).redirectOutput(out.toFile()));
        Fspd fspd = new Fspd(name, socket, image, out, p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            if (!p.isAlive()) {
                throw new IOException("fspd exited with " + p.exitValue() + ": "
                        + Files.readString(out).strip());
            }
            if (Files.exists(socket)) {
                try (FspClient probe = FspClient.connect(socket)) {
                    probe.noop();
                    return fspd;
                } catch (IOException notYet) {
                    // the socket file exists before the server accepts
                }
            }
            if (System.nanoTime() > deadline) {
                fspd.close();
                throw new IOException("fspd did not accept clients within 120 s; see " + out);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fspd.close();
                throw new IOException("interrupted while fspd started", e);
            }
        }
    }

    /** The process id of fspd (bin/fspd execs the JVM, so this is the daemon itself). */
    public long pid() {
        return process.pid();
    }

    FileApi connect(int lanes) throws IOException {
        return FspFileApi.connect(socket, lanes, "FSP");
    }

    @Override
    public void close() {
        process.destroy(); // SIGTERM: bin/fspd execs the JVM, whose handler stops Felix in order
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                System.err.println("bench: fspd " + name + " did not stop within 60 s after SIGTERM; killing it");
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
