package org.fsp.sched;

import org.fsp.api.sched.Agent;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;

/**
 * Every call a worker makes into an agent goes through here, and fspd's JVM is told never to inline these methods
 * ({@code -XX:CompileCommand=dontinline,org.fsp.sched.AgentCalls::*}, in bin/fspd and the test JVMs).
 *
 * <p>Why: a worker's loop runs for the life of the thread, so its compiled frame never leaves the stack, and the JIT
 * would put the agent's class into that frame (inlined, or as the type guard of a devirtualised call). A compiled frame
 * on a stack keeps every class it names alive, so after ipc-shm is upgraded the old version's class loader could never
 * be collected. Behind these trampolines the type guard lives in the trampoline's own small frame, which is on the
 * stack only while the agent runs; the loop's frame names no class of another bundle. The cost is one call.
 */
final class AgentCalls {

    private AgentCalls() {}

    static int doWork(Agent agent) {
        return agent.doWork();
    }

    static boolean beginSleep(FutexAgent agent, FutexWaitSet set) {
        return agent.beginSleep(set);
    }

    static void endSleep(FutexAgent agent) {
        agent.endSleep();
    }

    static void wakeUp(Agent agent) {
        agent.wakeUp();
    }
}
