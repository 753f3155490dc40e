package org.fsp.client;

import org.fsp.linux.CpuAffinity;
import org.fsp.linux.NativeException;

/**
 * Keeps a client thread off the CPUs the server's polling workers are pinned to
 * ({@link org.fsp.api.channel.ChannelHeaderDescriptor#SERVER_CPUS_OFFSET}), once per thread and channel, at the
 * thread's first call. A client thread that shares a CPU with the worker serving it makes every hand-off a context
 * switch (its spin only delays the worker); kept apart, a hand-off is a cache line. The kernel would otherwise often
 * put them together: a futex wake pulls the woken thread towards the waker's CPU.
 *
 * <p>The thread's new affinity is the CPUs this JVM could use when FS Lib was loaded minus the server's, so that a
 * thread narrowed for one server is widened again for a restarted one that pinned a different CPU. Nothing changes
 * when that would leave no CPU, when the server pinned nothing, or with {@code -Dfsp.client.avoidServerCpus=false}.
 */
final class ServerCpuAvoidance {

    /** Whether client threads keep off the server's CPUs ({@code -Dfsp.client.avoidServerCpus=false}: they do not). */
    static final boolean ENABLED = !"false".equals(System.getProperty("fsp.client.avoidServerCpus"));

    /** CPUs 0-63 this JVM's loading thread could use when this class was loaded. */
    private static final long PROCESS_CPUS = ENABLED ? CpuAffinity.current() : 0;

    private ServerCpuAvoidance() {}

    /** The calling thread's affinity from now on: off {@code serverCpus} (one or two system calls, or none). */
    static void keepCallingThreadOff(long serverCpus) {
        long target = target(PROCESS_CPUS, serverCpus);
        if (!ENABLED || target == 0) {
            return;
        }
        try {
            if (CpuAffinity.current() != target) {
                CpuAffinity.set(target);
            }
        } catch (NativeException e) {
            // A cpuset that forbids the change: the thread runs where it did, which is only slower.
        }
    }

    /** The CPUs of {@code processCpus} off {@code serverCpus}; 0 (leave the thread alone) if none would remain. */
    static long target(long processCpus, long serverCpus) {
        if (serverCpus == 0) {
            return 0;
        }
        return processCpus & ~serverCpus;
    }
}
