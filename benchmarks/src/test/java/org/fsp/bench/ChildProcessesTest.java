package org.fsp.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.fsp.linux.CpuAffinity;
import org.junit.jupiter.api.Test;

class ChildProcessesTest {

    @Test
    void parsesKernelCpuLists() {
        assertEquals(0b1L, ChildProcesses.parseCpuList("0\n"));
        assertEquals(0b1111L, ChildProcesses.parseCpuList("0-3"));
        assertEquals(0b10_1101L, ChildProcesses.parseCpuList("0,2-3,5"));
    }

    @Test
    void childOfANarrowedThreadRunsOnEveryOnlineCpuAndTheThreadStaysNarrowed() throws Exception {
        long online = ChildProcesses.onlineCpus();
        assumeTrue(Long.bitCount(online) >= 2, "needs two online CPUs");
        assumeTrue((CpuAffinity.current() & online) == online, "needs a JVM allowed on every online CPU");
        long narrowed = Long.lowestOneBit(online);
        AtomicReference<String> childCpus = new AtomicReference<>();
        AtomicReference<Long> afterwards = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                CpuAffinity.set(narrowed);
                Process p = ChildProcesses.start(new ProcessBuilder("sleep", "5"));
                try {
                    childCpus.set(Files.readAllLines(Path.of("/proc/" + p.pid() + "/status")).stream()
                            .filter(l -> l.startsWith("Cpus_allowed_list:"))
                            .findFirst()
                            .orElseThrow()
                            .substring("Cpus_allowed_list:".length())
                            .strip());
                } finally {
                    p.destroyForcibly().waitFor();
                }
                afterwards.set(CpuAffinity.current());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.start();
        t.join();
        assertEquals(online, ChildProcesses.parseCpuList(childCpus.get()));
        assertEquals(narrowed, afterwards.get());
    }
}
