package org.fsp.bench.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CloserTest {

    @Test
    void aRunClosesWhatItStartedLastFirstAndDeletesItsWorkDirectory(@TempDir Path dir) throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        List<String> closed = new ArrayList<>();
        Closer closer = new Closer();
        boolean completed = closer.runCleaningUp(work, "test-cleanup", () -> {
            closer.add(() -> closed.add("fspd"));
            closer.add(() -> closed.add("mount"));
            Files.writeString(work.resolve("image"), "x");
        });
        assertTrue(completed);
        assertEquals(List.of("mount", "fspd"), closed);
        assertFalse(Files.exists(work));
    }

    @Test
    void aFailedRunStillCleansUpAndSaysWhy(@TempDir Path dir) throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        List<String> closed = new ArrayList<>();
        Closer closer = new Closer();
        IOException e = assertThrows(
                IOException.class,
                () -> closer.runCleaningUp(work, "test-cleanup", () -> {
                    closer.add(() -> closed.add("fspd"));
                    throw new IOException("no loop device");
                }));
        assertEquals("no loop device", e.getMessage());
        assertEquals(List.of("fspd"), closed);
        assertFalse(Files.exists(work));
    }

    @Test
    void anInterruptedRunEndsQuietlyAndLeavesTheCleanUpToTheHook(@TempDir Path dir) throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Closer closer = new Closer();
        boolean completed = closer.runCleaningUp(work, "test-cleanup", () -> {
            closer.interrupted(); // what the shutdown hook does first on Ctrl-C
            throw new IllegalStateException("interrupted: everything started has been stopped");
        });
        assertFalse(completed);
        assertTrue(Files.exists(work), "the hook deletes it, not the run");
    }
}
