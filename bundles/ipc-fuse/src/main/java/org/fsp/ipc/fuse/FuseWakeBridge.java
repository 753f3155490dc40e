package org.fsp.ipc.fuse;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.List;
import org.fsp.linux.Epoll;
import org.fsp.linux.Futex;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a request queued on a mount's {@code /dev/fuse} descriptors into a futex wake-up, so that a thread-model worker
 * that drives FUSE channels beside shm lanes sleeps on all of them with one {@code futex_waitv} instead of waking every
 * 200 us to poll the descriptors: {@code futex_waitv} cannot wait for a descriptor, and polling keeps an idle mount
 * busy.
 *
 * <p>Each channel has a private 32-bit word here. A worker about to sleep reads the word, puts it into its wait set and
 * {@linkplain Wake#rearm rearms} the channel's descriptor in this bridge's epoll instance, one-shot; the bridge's thread
 * waits in {@code epoll_wait}, and when a descriptor becomes readable it increments that channel's word and wakes it.
 * One-shot: a descriptor reports once per sleep, so a busy mount, whose worker does not sleep, costs this thread
 * nothing. A request already queued when the worker rearms is reported at once, and the word then no longer holds
 * what the worker expects, so its sleep ends at once: no wake-up is lost.
 *
 * <p>A typical sequence is: {@link #start} before the channels are attached to the thread model, {@link #stop} after
 * they are detached (the words' memory goes with it).
 */
final class FuseWakeBridge {

    private static final Logger LOG = LoggerFactory.getLogger(FuseWakeBridge.class);

    private static final VarHandle WORD = ValueLayout.JAVA_INT.varHandle();

    /** How long the thread waits before it looks at its stop flag; bounds the pause {@link #stop} adds. */
    private static final int WAIT_MILLIS = 50;

    private final int epfd;
    private final int[] fds;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment words;
    private final MemorySegment events;
    private volatile boolean stopping;
    private Thread thread;

    /** What one channel's sleep needs: its word, and the rearm of its descriptor. */
    static final class Wake {
        private final FuseWakeBridge bridge;
        private final int index;
        private final MemorySegment word;

        private Wake(FuseWakeBridge bridge, int index) {
            this.bridge = bridge;
            this.index = index;
            this.word = bridge.words.asSlice(index * 4L, 4);
        }

        /** The word the sleep waits on (process-private). */
        MemorySegment word() {
            return word;
        }

        /** The word's value now: read before {@link #rearm}, so a request that comes in between ends the sleep. */
        int value() {
            return (int) WORD.getVolatile(word, 0L);
        }

        /** Asks for one report of the descriptor's next readiness (at once if a request is queued already). */
        void rearm() {
            Epoll.rearm(bridge.epfd, bridge.fds[index], Epoll.EPOLLIN | Epoll.EPOLLONESHOT, index);
        }
    }

    private FuseWakeBridge(int[] fds) {
        this.fds = fds.clone();
        this.words = arena.allocate(Math.max(1, fds.length) * 4L, 4);
        this.events = arena.allocate((long) Math.max(1, fds.length) * Epoll.EVENT_BYTES, 8);
        this.epfd = Epoll.create();
    }

    /** Starts a bridge for {@code channels} and gives each its {@link Wake}. */
    static FuseWakeBridge start(String name, List<FuseChannel> channels) {
        int[] fds = new int[channels.size()];
        for (int i = 0; i < fds.length; i++) {
            fds[i] = channels.get(i).fd();
        }
        FuseWakeBridge bridge = new FuseWakeBridge(fds);
        try {
            for (int i = 0; i < fds.length; i++) {
                // Registered silent (no event asked for): the first sleep's rearm asks.
                Epoll.add(bridge.epfd, fds[i], Epoll.EPOLLONESHOT, i);
            }
        } catch (NativeException e) {
            bridge.close();
            throw e;
        }
        bridge.thread = Thread.ofPlatform().daemon().name(name).start(bridge::run);
        for (int i = 0; i < fds.length; i++) {
            channels.get(i).sleepThrough(new Wake(bridge, i));
        }
        return bridge;
    }

    private void run() {
        int max = fds.length;
        while (!stopping) {
            int n;
            try {
                n = Epoll.await(epfd, events, max, WAIT_MILLIS);
            } catch (NativeException e) {
                LOG.error("epoll_wait on the FUSE descriptors failed; workers fall back to their sleep time-outs", e);
                return;
            }
            for (int i = 0; i < n; i++) {
                int index = (int) Epoll.data(events, i);
                MemorySegment word = words.asSlice(index * 4L, 4);
                WORD.getAndAdd(word, 0L, 1);
                Futex.wake(word, Integer.MAX_VALUE, true);
            }
        }
    }

    /** Ends the thread and frees the words; only once no worker sleeps on them (the channels are detached). */
    void stop() {
        stopping = true;
        Thread t = thread;
        if (t != null) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.warn("{} did not stop within 5 s", t.getName());
                return;
            }
        }
        close();
    }

    private void close() {
        Libc.close(epfd);
        arena.close();
    }
}
