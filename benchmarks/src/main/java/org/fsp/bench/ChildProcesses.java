package org.fsp.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.fsp.linux.CpuAffinity;
import org.fsp.linux.NativeException;

/**
 * Starts the benchmarks' child processes (fspd, fio, git, tar, client JVMs) on every online CPU. A process inherits
 * the CPU set of the thread that starts it, and FS Lib keeps a thread that has called FSP off the server's worker
 * CPUs; without this, a child started from such a thread would run on fewer CPUs than its baseline (one of two
 * here), the kernel file systems' baselines included. The starting thread's own CPU set is put back afterwards.
 */
public final class ChildProcesses {

    private ChildProcesses() {}

    /** {@code builder.start()} from a thread briefly allowed on every online CPU (CPUs 0-63). */
    public static Process start(ProcessBuilder builder) throws IOException {
        long online = onlineCpus();
        long mine;
        try {
            mine = CpuAffinity.current();
        } catch (NativeException | UnsatisfiedLinkError e) {
            return builder.start();
        }
        if (online == 0 || (mine & online) == online) {
            return builder.start();
        }
        try {
            CpuAffinity.set(online);
        } catch (NativeException e) {
            // A cpuset that does not allow every online CPU: the child gets this thread's CPUs.
            return builder.start();
        }
        try {
            return builder.start();
        } finally {
            CpuAffinity.set(mine);
        }
    }

    /** The online CPUs 0-63 as a mask ({@code /sys/devices/system/cpu/online}), 0 if unknown. */
    static long onlineCpus() {
        try {
            return parseCpuList(Files.readString(Path.of("/sys/devices/system/cpu/online")));
        } catch (IOException | IllegalArgumentException e) {
            return 0;
        }
    }

    /** A kernel CPU list such as {@code 0-3,5} as a mask of CPUs 0-63. */
    static long parseCpuList(String list) {
        long mask = 0;
        for (String part : list.strip().split(",")) {
            if (part.isEmpty()) {
                continue;
            }
            int dash = part.indexOf('-');
            int from = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
            int to = dash < 0 ? from : Integer.parseInt(part.substring(dash + 1));
            for (int cpu = from; cpu <= Math.min(to, 63); cpu++) {
                mask |= 1L << cpu;
            }
        }
        return mask;
    }
}
