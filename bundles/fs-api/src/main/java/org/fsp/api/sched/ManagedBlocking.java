package org.fsp.api.sched;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Managed blocking, as {@code ForkJoinPool.managedBlock} does it: code that is about to block its thread for a device
 * I/O tells the thread's owner, so that a thread-model worker can lend its other agents to a stand-in thread for the
 * duration instead of leaving their requests waiting behind one device round trip.
 *
 * <p>A typical sequence: the thread model {@link #install}s a {@link Blocker} on each worker thread it starts; the
 * block scheduler, when a wait outlasts its spin and is about to sleep in the device, calls {@link #begin()}, then
 * {@link #end()} in a {@code finally} once the request is done. On any other thread (no blocker installed) both are
 * no-ops that cost one thread-local read.
 */
public final class ManagedBlocking {

    /** What the owner of a thread does around a blocking wait on that thread. Implemented by the thread model. */
    @ProviderType
    public interface Blocker {

        /** The calling thread (the one the blocker is installed on) is about to block. */
        void beginBlocking();

        /** The wait that {@link #beginBlocking()} announced is over; called on the same thread. */
        void endBlocking();
    }

    private static final ThreadLocal<Blocker> BLOCKER = new ThreadLocal<>();

    private ManagedBlocking() {}

    /** Makes {@code blocker} the calling thread's blocker until {@link #uninstall()} or the thread ends. */
    public static void install(Blocker blocker) {
        BLOCKER.set(blocker);
    }

    /** Removes the calling thread's blocker. */
    public static void uninstall() {
        BLOCKER.remove();
    }

    /** Announces that the calling thread is about to block. Calls must pair with {@link #end()}; nesting is allowed. */
    public static void begin() {
        Blocker b = BLOCKER.get();
        if (b != null) {
            b.beginBlocking();
        }
    }

    /** Announces that the wait begun with {@link #begin()} is over. */
    public static void end() {
        Blocker b = BLOCKER.get();
        if (b != null) {
            b.endBlocking();
        }
    }
}
