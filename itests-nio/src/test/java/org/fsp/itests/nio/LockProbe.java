package org.fsp.itests.nio;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A second process for lock tests: opens the file given by URI (a {@code file:} or an {@code fsp:} one), tries an
 * exclusive lock on all of it, and prints "locked" or "busy".
 */
public final class LockProbe {

    private LockProbe() {}

    public static void main(String[] args) throws IOException {
        Path p = Path.of(URI.create(args[0]));
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            System.out.println(l == null ? "busy" : "locked");
        }
    }

    /** Runs the probe in a child JVM on {@code file} and returns what it printed. */
    static String probe(Path file) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        for (String property :
                new String[] {"java.nio.file.spi.DefaultFileSystemProvider", "fsp.socket", "fsp.prefix"}) {
            String value = System.getProperty(property);
            if (value != null) {
                cmd.add("-D" + property + "=" + value); // the probe sees the files the way this JVM does
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LockProbe.class.getName());
        cmd.add(file.toUri().toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("lock probe did not finish");
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.exitValue() != 0) {
            throw new AssertionError("lock probe failed: " + out);
        }
        return out.lines().reduce((a, b) -> b).orElse("");
    }
}
