package org.fsp.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.linux.CpuAffinity;
import org.junit.jupiter.api.Test;

class WorkerCpusTest {

    @Test
    void shouldHandOutTheHighestCpusAndLeaveTheClientsOne() {
        WorkerCpus cpus = new WorkerCpus(0b1011);
        assertEquals(3, cpus.claim());
        assertEquals(1, cpus.claim());
        assertEquals(-1, cpus.claim(), "CPU 0 stays the clients'");
        assertEquals(0b1010, cpus.mask());
        cpus.release(3);
        assertEquals(0b0010, cpus.mask());
        assertEquals(3, cpus.claim());
    }

    @Test
    void shouldClaimNothingOnOneCpuOrWhenOff() {
        assertEquals(-1, new WorkerCpus(0b100).claim());
        WorkerCpus off = WorkerCpus.off();
        assertEquals(-1, off.claim());
        assertEquals(0, off.mask());
    }

    @Test
    void shouldPinTheWorkerThreadToTheCpuItPublishes() throws Exception {
        long process = CpuAffinity.current();
        try (PollingThreadModel model = new PollingThreadModel(
                1, IdleStrategyKind.FUTEX, new IdleSettings(100, 5, 50_000_000L), true, new WorkerCpus(process))) {
            if (Long.bitCount(process) < 2) {
                assertEquals(0, model.workerCpuMask(), "one CPU: nothing to keep apart");
                return;
            }
            long expected = Long.highestOneBit(process);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (model.workerCpuMask() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(expected, model.workerCpuMask());
            CompletableFuture<Long> seen = new CompletableFuture<>();
            Agent agent = new Agent() {
                @Override
                public int doWork() {
                    if (!seen.isDone()) {
                        seen.complete(CpuAffinity.current());
                    }
                    return 0;
                }

                @Override
                public String roleName() {
                    return "affinity-probe";
                }
            };
            model.attach(agent);
            assertEquals(expected, seen.get(10, TimeUnit.SECONDS), "the worker runs on the CPU it published");
            model.detach(agent);
        }
    }
}
