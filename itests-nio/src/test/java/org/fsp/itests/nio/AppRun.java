package org.fsp.itests.nio;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A child JVM running an application workload: its output lines as they come, its stderr to a file. */
final class AppRun implements AutoCloseable {

    private final Process process;
    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    private final Thread reader;
    private final Path err;

    AppRun(List<String> cmd, Path err) throws IOException {
        this.err = err;
        this.process = new ProcessBuilder(cmd)
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        this.reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the process is gone; what it printed is in lines
            }
        });
    }

    /** Runs to completion (bounded) and returns its output; fails with its stderr if it fails. */
    static List<String> run(List<String> cmd, Path err, long timeoutSeconds) throws Exception {
        try (AppRun r = new AppRun(cmd, err)) {
            if (!r.process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                r.process.destroyForcibly();
                throw new AssertionError(cmd + " did not finish in " + timeoutSeconds + " s:\n" + r.stderr());
            }
            r.reader.join(10_000);
            if (r.process.exitValue() != 0) {
                throw new AssertionError("exit " + r.process.exitValue() + " of " + cmd + ":\n" + r.stderr()
                        + "\nstdout:\n" + String.join("\n", r.lines()));
            }
            return r.lines();
        }
    }

    /** Waits until a printed line matches, failing if the process ends first. */
    void awaitLines(Predicate<List<String>> enough, long timeoutSeconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!enough.test(lines())) {
            if (!process.isAlive()) {
                reader.join(10_000);
                if (enough.test(lines())) {
                    return;
                }
                throw new AssertionError("workload ended with " + process.exitValue() + ":\n" + stderr());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("workload too slow:\n" + stderr());
            }
            Thread.sleep(50);
        }
    }

    /** SIGKILL, then everything it printed before it died. */
    List<String> kill() throws Exception {
        process.destroyForcibly().waitFor();
        reader.join(10_000);
        return lines();
    }

    List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    String stderr() throws IOException {
        return Files.exists(err) ? Files.readString(err) : "";
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor();
        }
    }
}
