package org.fsp.sched;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.UndeclaredThrowableException;
import org.fsp.api.sched.Agent;
import org.fsp.api.sched.FutexAgent;
import org.fsp.api.sched.FutexWaitSet;

/**
 * Every call, cast and type test this bundle makes on an agent from a loop that stays on a thread's stack (a
 * worker's rounds, its stand-in's, an idle step's sleep) goes through here, as a call of a method handle that the JIT
 * cannot treat as a constant.
 *
 * <p>Why: compiled code names the classes it has seen at a call, cast or {@code instanceof} when it inlines or
 * speculates on them, and compiled code that is on a thread's stack keeps every class it names loaded. The thread
 * model ends the threads that drove a detached agent, but the compiled code of the worker loop is shared by all
 * workers, so a new worker would run code that names an agent class of a bundle that was replaced (an upgraded-away
 * ipc-shm's lane worker) and keep its class loader alive. A method handle read from a field that is neither static
 * final nor trusted is no compile-time constant: the JIT can neither inline its target nor speculate on its receiver,
 * so the loops here name only fs-api's types, and the agents' own methods are compiled as usual (their code goes with
 * their bundle). Reading a field and one indirect call per agent call is the cost.
 */
final class AgentDispatch {

    private static final AgentDispatch HANDLES = new AgentDispatch();

    // Deliberately not final: the JIT constant-folds static finals, and would then inline through the handles.
    private MethodHandle doWork;
    private MethodHandle sleep;
    private MethodHandle wakeUp;
    private MethodHandle onClose;
    private MethodHandle roleName;
    private MethodHandle isFutexAgent;
    private MethodHandle beginSleep;
    private MethodHandle endSleep;

    private AgentDispatch() {
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        try {
            doWork = lookup.findVirtual(Agent.class, "doWork", MethodType.methodType(int.class));
            sleep = lookup.findVirtual(Agent.class, "sleep", MethodType.methodType(void.class, long.class));
            wakeUp = lookup.findVirtual(Agent.class, "wakeUp", MethodType.methodType(void.class));
            onClose = lookup.findVirtual(Agent.class, "onClose", MethodType.methodType(void.class));
            roleName = lookup.findVirtual(Agent.class, "roleName", MethodType.methodType(String.class));
            isFutexAgent = lookup.findVirtual(
                            Class.class, "isInstance", MethodType.methodType(boolean.class, Object.class))
                    .bindTo(FutexAgent.class)
                    .asType(MethodType.methodType(boolean.class, Agent.class));
            beginSleep = lookup.findVirtual(
                            FutexAgent.class, "beginSleep", MethodType.methodType(boolean.class, FutexWaitSet.class))
                    .asType(MethodType.methodType(boolean.class, Agent.class, FutexWaitSet.class));
            endSleep = lookup.findVirtual(FutexAgent.class, "endSleep", MethodType.methodType(void.class))
                    .asType(MethodType.methodType(void.class, Agent.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static int doWork(Agent agent) {
        try {
            return (int) HANDLES.doWork.invokeExact(agent);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static void sleep(Agent agent, long maxNanos) {
        try {
            HANDLES.sleep.invokeExact(agent, maxNanos);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static void wakeUp(Agent agent) {
        try {
            HANDLES.wakeUp.invokeExact(agent);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static void onClose(Agent agent) {
        try {
            HANDLES.onClose.invokeExact(agent);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static String roleName(Agent agent) {
        try {
            return (String) HANDLES.roleName.invokeExact(agent);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** Whether the agent's work arrives through futex words, so that its thread may sleep on them with others'. */
    static boolean sleepsOnFutexWords(Agent agent) {
        try {
            return (boolean) HANDLES.isFutexAgent.invokeExact(agent);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** {@link FutexAgent#beginSleep} of an agent for which {@link #sleepsOnFutexWords} is true. */
    static boolean beginSleep(Agent agent, FutexWaitSet set) {
        try {
            return (boolean) HANDLES.beginSleep.invokeExact(agent, set);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** {@link FutexAgent#endSleep} of an agent for which {@link #sleepsOnFutexWords} is true. */
    static void endSleep(Agent agent) {
        try {
            HANDLES.endSleep.invokeExact(agent);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /** The agents' methods declare no checked exception: anything a handle throws is rethrown as it is. */
    private static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new UndeclaredThrowableException(t);
    }
}
