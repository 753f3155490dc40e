package org.fsp.bench.jmh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.fsp.bench.BenchHost;
import org.fsp.bench.ChildProcesses;
import org.fsp.bench.ipc.ChannelBenchClient;

/**
 * {@code fsp bench syscalls}: counts the system calls of a client JVM with {@code strace -f -c} (only the client is
 * traced; fspd runs on its RAM driver outside strace) for two runs that differ only in their number of 4 KiB writes
 * ({@code --small}, default 100,000, and {@code --large}, default 1,000,000, each after the same {@code --warmup}) and
 * prints both counts and their difference per extra operation: a request path without system calls leaves the count
 * where JVM start-up, connect and exit put it. The client is {@link ChannelBenchClient} with one thread and no timing.
 * strace is installed with apt-get when it is missing and this runs as root.
 */
public final class SyscallCount {

    private SyscallCount() {}

    public static void main(String[] args) throws Exception {
        long small = 100_000;
        long large = 1_000_000;
        long warmup = 200_000;
        String op = "write";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--small" -> small = Long.parseLong(args[++i]);
                case "--large" -> large = Long.parseLong(args[++i]);
                case "--warmup" -> warmup = Long.parseLong(args[++i]);
                case "--op" -> op = args[++i];
                default -> {
                    System.err.println("usage: fsp bench syscalls [--small N] [--large N] [--warmup N] "
                            + "[--op noop|write|read]");
                    System.exit(2);
                }
            }
        }
        ensureStrace();
        String loadBefore = BenchHost.loadAverage();
        Map<Long, Counts> byOps = new LinkedHashMap<>();
        try (FspdProcess fspd = FspdProcess.startRam()) {
            for (long ops : List.of(small, large)) {
                byOps.put(ops, traceClient(fspd.socket(), op, ops, warmup));
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%nSystem calls of the client JVM (strace -f -c, every thread of it), 1 thread of 4 KiB %s requests "
                        + "after %,d warm-up ones; fspd on its RAM driver, not traced%n",
                op,
                warmup);
        System.out.printf(Locale.ROOT, "load average before: %s, after: %s%n", loadBefore, BenchHost.loadAverage());
        System.out.printf(
                Locale.ROOT, "%12s %14s %14s %18s%n", "operations", "syscalls", "of them futex", "FS Lib futex calls");
        for (Map.Entry<Long, Counts> e : byOps.entrySet()) {
            Counts c = e.getValue();
            System.out.printf(
                    Locale.ROOT, "%,12d %,14d %,14d %,18d%n", e.getKey(), c.total, c.futex, c.requestPathFutexCalls);
        }
        Counts a = byOps.get(small);
        Counts b = byOps.get(large);
        double perOp = (double) (b.total - a.total) / (large - small);
        System.out.printf(
                Locale.ROOT,
                "extra system calls per extra operation: %.6f (%+,d over %,d more operations); request-path futex "
                        + "calls per measured operation: %.6f (target: the count does not grow)%n",
                perOp,
                b.total - a.total,
                large - small,
                (double) b.requestPathFutexCalls / large);
    }

    /** What one traced client run made: all its system calls, its futex calls, and FS Lib's own futex counter. */
    record Counts(long total, long futex, long requestPathFutexCalls) {}

    private static Counts traceClient(Path socket, String op, long ops, long warmup)
            throws IOException, InterruptedException {
        Path summary = Files.createTempFile("fsp-strace-", ".txt");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(
                "strace",
                "-f",
                "-c",
                "-o",
                summary.toString(),
                java,
                "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow",
                "-Xmx256m",
                "-Dfsp.client.spinMicros=" + Long.getLong("fsp.client.spinMicros", 50),
                "-cp",
                System.getProperty("java.class.path"),
                ChannelBenchClient.class.getName(),
                socket.toString(),
                "1",
                op,
                String.valueOf(ops),
                String.valueOf(warmup),
                "--no-timing"));
        System.err.printf(Locale.ROOT, "bench syscalls: %,d %s requests under strace...%n", ops, op);
        Process p = ChildProcesses.start(new ProcessBuilder(command).redirectErrorStream(true));
        String result = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("RESULT ")) {
                    result = line;
                } else {
                    System.err.println("[client] " + line);
                }
            }
        }
        int exit = p.waitFor();
        try {
            if (exit != 0 || result == null) {
                throw new IOException("traced client exited with " + exit + " and printed no result");
            }
            String[] f = result.split(" ");
            long futexCalls = Math.round(Double.parseDouble(f[7]) * ops);
            return parse(Files.readAllLines(summary), futexCalls);
        } finally {
            Files.deleteIfExists(summary);
        }
    }

    /**
     * Reads strace's {@code -c} table: right-aligned columns under the header
     * {@code % time seconds usecs/call calls errors syscall}, the last row "total".
     */
    static Counts parse(List<String> lines, long requestPathFutexCalls) throws IOException {
        String header = lines.stream()
                .filter(l -> l.contains("calls") && l.contains("syscall"))
                .findFirst()
                .orElseThrow(() -> new IOException("no strace -c table in " + lines));
        int callsEnd = header.indexOf("calls") + "calls".length();
        int callsStart = header.lastIndexOf(' ', header.indexOf("calls"));
        while (callsStart > 0 && header.charAt(callsStart - 1) == ' ') {
            callsStart--;
        }
        long total = -1;
        long futex = 0;
        for (String l : lines) {
            if (l.length() < callsEnd || l.startsWith("-")) {
                continue;
            }
            String name = l.substring(l.lastIndexOf(' ') + 1);
            String calls = l.substring(callsStart, callsEnd).strip();
            if (calls.isEmpty() || !calls.chars().allMatch(Character::isDigit)) {
                continue;
            }
            if (name.equals("total")) {
                total = Long.parseLong(calls);
            } else if (name.equals("futex") || name.equals("futex_waitv")) {
                futex += Long.parseLong(calls);
            }
        }
        if (total < 0) {
            throw new IOException("no total row in strace -c output " + lines);
        }
        return new Counts(total, futex, requestPathFutexCalls);
    }

    private static void ensureStrace() throws IOException, InterruptedException {
        if (ChildProcesses.start(new ProcessBuilder("sh", "-c", "command -v strace"))
                        .waitFor()
                == 0) {
            return;
        }
        System.err.println("bench syscalls: strace is missing; installing it (apt-get install -y strace)");
        int exit = ChildProcesses.start(new ProcessBuilder(
                                "sh",
                                "-c",
                                "apt-get install -y strace || (apt-get update && apt-get install -y strace)")
                        .inheritIO())
                .waitFor();
        if (exit != 0) {
            throw new IOException("could not install strace (apt-get exit " + exit + "); install it and run again");
        }
    }
}
