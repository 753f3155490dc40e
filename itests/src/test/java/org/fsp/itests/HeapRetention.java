package org.fsp.itests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Explains why a class loader that should have been collected is not: dumps this JVM's heap (jcmd) and has
 * {@link HeapRetentionWalker}, in a JVM of its own (its heap walker is on the test class path, not in the framework),
 * print for every class loader that defined a class of a given package the chain of references from a GC root to it.
 */
public final class HeapRetention {

    private HeapRetention() {}

    /** Dumps this JVM's live heap to {@code dir}; returns the report on loaders of classes named {@code prefix}*. */
    static String explain(Path dir, String prefix) {
        try {
            Files.createDirectories(dir);
            Path dump = dir.resolve("retention-" + System.currentTimeMillis() + ".hprof");
            String bin = System.getProperty("java.home") + "/bin/";
            // One dumper thread: the heap walker cannot read every dump the parallel dumpers write.
            run(List.of(
                    bin + "jcmd",
                    Long.toString(ProcessHandle.current().pid()),
                    "GC.heap_dump",
                    "-parallel=1",
                    dump.toString()));
            String report = run(List.of(
                    bin + "java",
                    "-Xmx2g",
                    "-cp",
                    System.getProperty("java.class.path"),
                    HeapRetentionWalker.class.getName(),
                    dump.toString(),
                    prefix));
            Files.deleteIfExists(dump);
            return report;
        } catch (IOException | InterruptedException | RuntimeException e) {
            return "<no heap report: " + e + ">";
        }
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(command.getFirst() + " failed: " + new String(out, StandardCharsets.UTF_8));
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
