package org.fsp.bench.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.bench.ChildProcesses;

/** Runs a set-up command (mkfs.ext4, losetup, mount, jcmd) and returns its output, failing with its message. */
final class Shell {

    private Shell() {}

    static String run(String... command) throws IOException {
        Process p = ChildProcesses.start(new ProcessBuilder(command).redirectErrorStream(true));
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": timed out");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + ": exit " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", List.of(command)) + ": interrupted", e);
        }
    }

    /** Like {@link #run} but only reports a failure on stderr: for clean-up in finally blocks. */
    static void quietly(String... command) {
        try {
            run(command);
        } catch (IOException e) {
            System.err.println("eval: clean-up: " + e.getMessage());
        }
    }
}
