package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A client in a separate JVM (a real process with its own pid and address space), started with this JVM's java
 * binary and a given class path. Its output lines are collected so that tests can wait for them; {@link #close}
 * kills it with SIGKILL if it still runs, so tests put it in try-with-resources.
 */
final class ChildJvm implements AutoCloseable {

    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();

    private ChildJvm(Process process) {
        this.process = process;
        Thread.ofPlatform().daemon().name("child-" + process.pid()).start(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("<output lost: " + e + ">");
            }
        });
    }

    /** This JVM's test class path. */
    static String testClassPath() {
        return System.getProperty("java.class.path");
    }

    /** Starts {@code main} with {@code args}, as this user, with this JVM's class path. */
    static ChildJvm start(Class<?> main, String... args) throws IOException {
        return start(List.of(), testClassPath(), main, args);
    }

    /** Starts {@code main} behind {@code prefix} (e.g. setpriv ...) with {@code classPath}. */
    static ChildJvm start(List<String> prefix, String classPath, Class<?> main, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC",
                "-Xmx64m",
                "-XX:-UsePerfData",
                "-cp",
                classPath,
                main.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        return new ChildJvm(pb.start());
    }

    long pid() {
        return process.pid();
    }

    /** Waits for a line starting with {@code prefix} and returns it; fails with all output on time-out or exit. */
    String awaitLine(String prefix, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            long left = deadline - System.nanoTime();
            String line =
                    lines.poll(Math.max(0, Math.min(left, TimeUnit.MILLISECONDS.toNanos(100))), TimeUnit.NANOSECONDS);
            if (line != null) {
                seen.add(line);
                if (line.startsWith(prefix)) {
                    return line;
                }
                continue;
            }
            if (left <= 0) {
                fail("child " + pid() + " printed no '" + prefix + "' within " + timeoutMillis + " ms; output: "
                        + seen);
            }
            if (!process.isAlive() && lines.isEmpty()) {
                fail("child " + pid() + " exited (" + process.exitValue() + ") without '" + prefix + "'; output: "
                        + seen);
            }
        }
    }

    /** Waits for a normal exit and returns the exit code; kills the child and fails on time-out. */
    int waitFor(long timeoutMillis) throws InterruptedException {
        if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            kill();
            fail("child " + pid() + " did not exit within " + timeoutMillis + " ms; output: " + seen + lines);
        }
        return process.exitValue();
    }

    /** SIGKILL, then waits until the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
