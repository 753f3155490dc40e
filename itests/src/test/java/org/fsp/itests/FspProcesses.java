package org.fsp.itests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the distribution's real {@code bin/fspd} and {@code bin/fsp} as processes, as a user would. */
final class FspProcesses {

    /** What a finished command printed and returned. */
    record Result(int exitCode, String stdout, String stderr) {
        String all() {
            return stdout + stderr;
        }
    }

    private FspProcesses() {}

    static Path bin(String name) {
        return FspBundleSet.distribution().resolve("bin").resolve(name);
    }

    /** Starts {@code bin/fspd} headless with its output going to {@code log}. */
    static Process startDaemon(Path log, String... args) throws IOException {
        return startDaemonWithJvmOptions(log, "", args);
    }

    /** {@link #startDaemon(Path, String...)} with {@code jvmOptions} in FSP_OPTS (e.g. framework properties). */
    static Process startDaemonWithJvmOptions(Path log, String jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(bin("fspd").toString(), "--headless"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (!jvmOptions.isEmpty()) {
            pb.environment().merge("FSP_OPTS", jvmOptions, (a, b) -> a + " " + b);
        }
        return pb.redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
    }

    /** Waits until a daemon answers on its admin socket, or fails with its log. */
    static void awaitReady(Process daemon, Path clientSocket, Path log, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!daemon.isAlive()) {
                throw new AssertionError("fspd exited with " + daemon.exitValue() + ":\n" + Files.readString(log));
            }
            if (Files.exists(Path.of(clientSocket + ".admin"))
                    && fsp(clientSocket, "shell", "-c", "fsp:status").exitCode() == 0) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("fspd not ready within " + timeout + ":\n" + Files.readString(log));
    }

    /** Runs {@code bin/fspd --headless args...} to completion: for starts that are expected to be refused. */
    static Result fspdExpectingExit(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(bin("fspd").toString(), "--headless"));
        cmd.addAll(List.of(args));
        return run(cmd, Duration.ofSeconds(60));
    }

    /** Runs {@code bin/fsp --socket S args...} to completion. */
    static Result fsp(Path clientSocket, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(bin("fsp").toString(), "--socket", clientSocket.toString()));
        cmd.addAll(List.of(args));
        return run(cmd, Duration.ofSeconds(60));
    }

    /** Runs a command to completion with a bound on its time; it is killed if it overruns. */
    static Result run(List<String> cmd, Duration timeout) throws Exception {
        Path out = Files.createTempFile("fsp-out", ".txt");
        Path err = Files.createTempFile("fsp-err", ".txt");
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .redirectInput(
                            ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(cmd + " did not finish within " + timeout);
            }
            return new Result(
                    p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** SIGTERM, then SIGKILL if it has not stopped in time; returns the exit code. */
    static int stop(Process daemon, Duration timeout) throws InterruptedException {
        daemon.destroy();
        if (!daemon.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            daemon.destroyForcibly().waitFor();
            throw new AssertionError("fspd did not stop within " + timeout + " of SIGTERM");
        }
        return daemon.exitValue();
    }
}
