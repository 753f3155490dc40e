package org.fsp.sched;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;

/**
 * Every call, cast and type test this bundle makes on an agent goes through here (AgentCallsBytecodeTest holds the
 * rest of the bundle to that), and fspd's JVM is told never to compile these methods
 * ({@code -XX:CompileCommand=exclude,org.fsp.sched.AgentCalls::*} and {@code dontinline}, in bin/fspd and the test
 * JVMs).
 *
 * <p>Why: the code that calls an agent runs on threads that outlive the agent's bundle. A worker's loop never returns,
 * so its compiled frame never leaves the stack, and an idle worker sleeps inside the agent's {@code sleep} for as long
 * as no client posts. The JIT writes the classes it has seen at a call, cast or {@code instanceof} into the compiled
 * code (an inlined callee, the guard of a devirtualised call, the speculated type of a cast), and compiled code on a
 * stack keeps every class it names alive. A profile taken before an upgrade names the old version's agent class, so
 * after ipc-shm is replaced its class loader could stay reachable for good: the frame that names it is the one the
 * worker idles in. Interpreted code names no class: the interpreter dispatches on the receiver it is given. So these
 * few one-line methods are interpreted, the agent's own methods are compiled as usual (their code goes with their
 * bundle), and the loops that call in here name no class of another bundle. The cost is an interpreted call per
 * agent per round (within the noise of {@code fsp bench ipc} and {@code fsp bench sched}: see the README). The
 * thread model also replaces a worker that drove a detached agent with a fresh thread
 * ({@link PollingThreadModel#renew}) and a worker drops its agents when it ends; UpgradeIT checks the result.
 */
final class AgentCalls {

    private AgentCalls() {}

    static int doWork(Agent agent) {
        return agent.doWork();
    }

    static void sleep(Agent agent, long maxNanos) {
        agent.sleep(maxNanos);
    }

    static void wakeUp(Agent agent) {
        agent.wakeUp();
    }

    static void onClose(Agent agent) {
        agent.onClose();
    }

    static String roleName(Agent agent) {
        return agent.roleName();
    }

    /** Whether the agent's work arrives through futex words, so that its thread may sleep on them with others'. */
    static boolean sleepsOnFutexWords(Agent agent) {
        return agent instanceof FutexAgent;
    }

    /** {@link FutexAgent#beginSleep} of an agent for which {@link #sleepsOnFutexWords} is true. */
    static boolean beginSleep(Agent agent, FutexWaitSet set) {
        return ((FutexAgent) agent).beginSleep(set);
    }

    /** {@link FutexAgent#endSleep} of an agent for which {@link #sleepsOnFutexWords} is true. */
    static void endSleep(Agent agent) {
        ((FutexAgent) agent).endSleep();
    }
}
