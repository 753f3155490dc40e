package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Looks in {@code /proc} for what a killed daemon may leave behind: its own process (a zombie whose threads cannot
 * exit, as io_uring workers stuck in the kernel would make it) and tasks in uninterruptible sleep (D state) waiting on
 * a FUSE connection nobody serves.
 */
final class HungTasks {

    private HungTasks() {}

    /** Fails unless process {@code pid} and all its threads are gone within {@code timeout}. */
    static void assertGone(long pid, Duration timeout) throws Exception {
        Path proc = Path.of("/proc", Long.toString(pid));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (Files.exists(proc) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        if (Files.exists(proc)) {
            fail("process " + pid + " is still there after its SIGKILL: " + describe(proc));
        }
    }

    /** Fails if some task stays in D state for all of {@code window} (a short D state is ordinary disk I/O). */
    static void assertNone(Duration window) throws Exception {
        List<String> stuck = dStateTasks();
        long deadline = System.nanoTime() + window.toNanos();
        while (!stuck.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(500);
            List<String> now = dStateTasks();
            now.retainAll(stuck);
            stuck = now;
        }
        if (!stuck.isEmpty()) {
            fail("tasks in D state for " + window + ": " + stuck);
        }
    }

    /** "pid/tid comm wchan" of every task in D state now. */
    static List<String> dStateTasks() throws IOException {
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                Path tasks = p.resolve("task");
                try (DirectoryStream<Path> ts = Files.newDirectoryStream(tasks)) {
                    for (Path t : ts) {
                        String stat = read(t.resolve("stat"));
                        int close = stat.lastIndexOf(')');
                        if (close > 0 && stat.length() > close + 2 && stat.charAt(close + 2) == 'D') {
                            found.add(p.getFileName() + "/" + t.getFileName() + " "
                                    + stat.substring(stat.indexOf('(') + 1, close) + " "
                                    + read(t.resolve("wchan")));
                        }
                    }
                } catch (IOException e) {
                    // The process ended while we looked.
                }
            }
        }
        return found;
    }

    private static String describe(Path proc) {
        try {
            return read(proc.resolve("status"))
                            .lines()
                            .filter(l -> l.startsWith("State:") || l.startsWith("Threads:"))
                            .toList()
                    + " " + dStateTasks();
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).trim();
        } catch (IOException e) {
            return "";
        }
    }
}
