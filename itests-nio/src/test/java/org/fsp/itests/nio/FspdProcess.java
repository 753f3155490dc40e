package org.fsp.itests.nio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.client.FspClient;

/**
 * The distribution's real {@code bin/fspd} on a device image of its own, and {@code bin/fsp-java} to run application
 * JVMs against it, as a user runs them from the README.
 */
final class FspdProcess implements AutoCloseable {

    static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    final Path work;
    final Path device;
    final Path socket;
    private final Path log;
    private Process daemon;
    private int starts;

    FspdProcess(Path work) {
        this.work = work;
        this.device = work.resolve("dev.img");
        this.socket = work.resolve("fsp.sock");
        this.log = work.resolve("fspd.out");
    }

    static Path distribution() {
        Path dist = Path.of(System.getProperty("fsp.dist", "../distribution/target/fsp"))
                .toAbsolutePath()
                .normalize();
        if (!Files.isExecutable(dist.resolve("bin/fsp-java"))) {
            throw new IllegalStateException("no built distribution with bin/fsp-java at " + dist);
        }
        return dist;
    }

    static Path workDirectory(String suite) throws IOException {
        Path base = Path.of(System.getProperty("fsp.itests.work", "target/it-work"));
        Path dir = base.resolve(suite + "-" + System.nanoTime());
        return Files.createDirectories(dir).toAbsolutePath();
    }

    /** Starts fspd (formatting a 512 MiB image on the first start) and waits until a client can connect. */
    FspdProcess start() throws Exception {
        starts++;
        List<String> cmd = new ArrayList<>(List.of(
                distribution().resolve("bin/fspd").toString(),
                "--headless",
                "--device",
                device.toString(),
                "--socket",
                socket.toString()));
        if (!Files.exists(device)) {
            cmd.addAll(List.of("--size", "512M"));
        }
        daemon = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!daemon.isAlive()) {
                throw new AssertionError("fspd exited with " + daemon.exitValue() + ":\n" + Files.readString(log));
            }
            if (Files.exists(socket)) {
                try (FspClient c = FspClient.connect(socket)) {
                    c.noop();
                    c.stat("/");
                    return this;
                } catch (IOException notYet) {
                    // the socket is there before the file system is mounted
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError(
                "fspd not ready within " + START_TIMEOUT + " (start " + starts + "):\n" + Files.readString(log));
    }

    /** SIGKILL: no unmount, no flush on the way out. */
    void kill() throws InterruptedException {
        daemon.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor();
            }
        }
    }

    /** The command that runs {@code mainClass} of the test class path through bin/fsp-java against this fspd. */
    List<String> fspJava(String mainClass, String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                distribution().resolve("bin/fsp-java").toString(),
                "-Dfsp.socket=" + socket,
                "-Xmx512m",
                "-cp",
                System.getProperty("java.class.path"),
                mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The same program on the kernel, with the same JVM and no FSP provider: the reference run. */
    static List<String> plainJava(String mainClass, String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
