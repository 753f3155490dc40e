package org.fsp.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A load client running in a JVM of its own (a {@link SwapLoadClient} or an {@link UpgradeLoadClient}): its output
 * lines, collected by a reader thread. The client prints progress lines, runs until its standard input closes and ends
 * with a verdict line starting {@code "verified "}, or exits non-zero.
 */
record LoadClientJvm(Process process, BlockingQueue<String> lines, List<String> seen, Thread reader) {

    /** Starts {@code mainClass} with {@code args} on the test JVM's class path, which holds FS Lib and the clients. */
    static LoadClientJvm start(Class<?> mainClass, String name, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC",
                "-Xmx64m",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                mainClass.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofPlatform().daemon().name(name).start(() -> {
            try (var r = p.inputReader(StandardCharsets.UTF_8)) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("<output lost: " + e + ">");
            }
        });
        return new LoadClientJvm(p, lines, new ArrayList<>(), reader);
    }

    void awaitLine(String expected, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (!seen.contains(expected)) {
            String line = lines.poll(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            if (line == null) {
                process.destroyForcibly();
                throw new AssertionError("client JVM did not print '" + expected + "'; it printed " + seen);
            }
            seen.add(line);
        }
    }

    /** Closes its standard input (the signal to stop), waits for its verdict and returns its last line. */
    String finish(long timeoutMillis) throws Exception {
        process.getOutputStream().close();
        if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("client JVM did not stop; it printed " + seen + lines);
        }
        reader.join(timeoutMillis);
        lines.drainTo(seen);
        assertEquals("client JVM failed: " + seen, 0, process.exitValue());
        String verdict = seen.getLast();
        assertTrue(verdict, verdict.startsWith("verified "));
        return verdict;
    }
}
