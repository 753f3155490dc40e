package org.fsp.client;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.api.channel.ChannelOpcodes;
import org.fsp.api.fs.Errno;
import org.fsp.linux.Futex;

/**
 * The directory watches of one {@link FspClient}: the server tells of changes in a watched directory through the
 * channel's change-event ring ({@link ChangeEventsDescriptor}), and one daemon thread of this client, started at the
 * first watch, reads the ring and hands each event to its watch's {@link Sink}. Nothing polls: the thread sleeps on the
 * ring's wake word (with a 1 s time-out, to notice a server that went away while nobody called).
 *
 * <p>A typical sequence is: {@link FspClient#addWatch} (WATCH_ADD; its id here stays the same for the watch's life),
 * events to {@link Sink#event}, {@link FspClient#removeWatch}. When events may have been lost, each sink is told
 * {@link Sink#overflow()}: after the ring overflowed (the watches go on), and after the server forgot the session's
 * watches (it bumped the ring's epoch) or the client reconnected to a restarted server, when every watch is first
 * registered again by its path; a watch whose
 * directory went ({@link ChangeEventsDescriptor#GONE}) or that cannot be registered again is told {@link Sink#gone()}
 * and ends.
 *
 * <p>Thread safety: the watch table and the sink calls are under this object's lock; sinks are called on the event
 * thread, in the order the server wrote the events, and must be quick.
 */
public final class ChangeEvents {

    /** Where the events of one watch go. Called on the event thread, one call at a time per client. */
    public interface Sink {
        /**
         * Entry {@code name} of the watched directory was made ({@link ChangeEventsDescriptor#CREATE}), removed
         * ({@link ChangeEventsDescriptor#DELETE}) or changed ({@link ChangeEventsDescriptor#MODIFY}).
         */
        void event(int kind, String name);

        /** Events of this watch may have been lost; the watch goes on. */
        void overflow();

        /** The watched directory went, or can no longer be watched: no call follows. */
        void gone();
    }

    private static final System.Logger LOG = System.getLogger(ChangeEvents.class.getName());
    /** How long the event thread sleeps at most before it looks whether its server is still there. */
    static final long SLEEP_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** One watch as the client keeps it: its own id, the path to register again, and the server's id now. */
    private static final class Watch {
        final int id;
        final String path;
        final Sink sink;
        int serverId;

        Watch(int id, String path, Sink sink) {
            this.id = id;
            this.path = path;
            this.sink = sink;
        }
    }

    private final Reconnecting session;
    /** Under this: watches by this client's id, and by the server's id on {@link #channel}. */
    private final Map<Integer, Watch> watches = new HashMap<>();

    private final Map<Integer, Watch> byServerId = new HashMap<>();
    private int nextId = 1;
    /** Under this: the channel whose ring the watches are registered on, and its epoch then. */
    private ChannelProxy channel;

    private int epoch;
    private Thread thread;
    private volatile boolean closed;

    ChangeEvents(Reconnecting session) {
        this.session = session;
    }

    /** Watches directory {@code path}; returns this client's id of the watch. */
    synchronized int add(String path, Sink sink) throws IOException {
        if (closed) {
            throw new java.nio.channels.ClosedChannelException();
        }
        ChannelProxy ch = session.channel();
        if (channel == null) {
            adopt(ch);
        } else if (ch != channel) {
            // A reconnect the event thread has not seen yet: the watches held are not on the new server.
            reregister();
        }
        Watch w = new Watch(nextId++, path, sink);
        w.serverId = register(path);
        watches.put(w.id, w);
        byServerId.put(w.serverId, w);
        if (thread == null) {
            thread = Thread.ofPlatform().daemon().name("fsp-change-events").start(this::run);
        }
        return w.id;
    }

    /** Ends watch {@code id} (nothing if it ended already). */
    synchronized void remove(int id) throws IOException {
        Watch w = watches.remove(id);
        if (w == null) {
            return;
        }
        if (byServerId.get(w.serverId) == w) {
            byServerId.remove(w.serverId);
            // Another watch of the same directory shares the server's id: the server's watch stays for it.
            for (Watch other : watches.values()) {
                if (other.serverId == w.serverId) {
                    byServerId.put(w.serverId, other);
                    return;
                }
            }
            try {
                call(ChannelOpcodes.WATCH_REMOVE, null, w.serverId);
            } catch (IOException e) {
                // EINVAL: the server forgot it already (a hand-over, its directory removed meanwhile).
                LOG.log(System.Logger.Level.DEBUG, "watch of {0} was gone on the server: {1}", w.path, e);
            }
        }
    }

    /** Stops the event thread; the watches end with the channel. */
    void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null) {
            t.interrupt();
        }
    }

    /** Watches held now. */
    synchronized int size() {
        return watches.size();
    }

    /** WATCH_ADD on the current channel: the server's id. */
    private int register(String path) throws IOException {
        return (int) call(ChannelOpcodes.WATCH_ADD, path, 0);
    }

    private long call(int opcode, String path, long handle) throws IOException {
        return session.retrying(ch -> {
            if (ch.eventArea < 0 && opcode != ChannelOpcodes.NOOP) {
                throw FspExceptions.of(Errno.EOPNOTSUPP, path, null, "the FSP server sends no change events");
            }
            ChannelProxy.Call c = ch.begin();
            try {
                if (path != null) {
                    ch.putPath(c, path, false);
                }
                c.request.opcode(opcode).handle(handle);
                return FspClient.check(ch.submit(c), path, null);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /**
     * Under this: makes {@code ch} the channel whose ring is read, from its head now on. Records before it belong to
     * a registration the server forgot.
     */
    private void adopt(ChannelProxy ch) {
        channel = ch;
        if (ch.eventArea >= 0) {
            epoch = ChangeEventsDescriptor.epoch(ch.segment, ch.eventArea);
            ChangeEventsDescriptor.tail(
                    ch.segment, ch.eventArea, ChangeEventsDescriptor.head(ch.segment, ch.eventArea));
            ChangeEventsDescriptor.takeOverflow(ch.segment, ch.eventArea);
        }
        byServerId.clear();
    }

    /**
     * Under this: the server's registrations are lost or events were: registers every watch again by its path on the
     * current channel and tells each sink that events may be lost, or that its watch ended.
     */
    private void reregister() {
        adopt(session.channel());
        for (Watch w : List.copyOf(watches.values())) {
            try {
                w.serverId = register(w.path);
                byServerId.put(w.serverId, w);
                w.sink.overflow();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "watch of {0} ends: {1}", w.path, e);
                watches.remove(w.id);
                w.sink.gone();
            }
            if (channel != session.channel()) {
                // The server went away meanwhile: begin again on the next one.
                reregister();
                return;
            }
        }
    }

    private void run() {
        while (!closed) {
            try {
                if (!poll()) {
                    await();
                }
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                // A segment unmapped under us (a reconnect replaced the channel): the next round sees the new one.
                LOG.log(System.Logger.Level.DEBUG, "change events: {0}", e);
            }
        }
    }

    /** Delivers what the ring holds; true if it did anything (look again before sleeping). */
    private synchronized boolean poll() {
        ChannelProxy ch = session.channel();
        if (ch != channel || ch.eventArea < 0) {
            if (ch.eventArea < 0 && watches.isEmpty()) {
                return false;
            }
            reregister();
            return true;
        }
        MemorySegment seg = ch.segment;
        long area = ch.eventArea;
        if (ChangeEventsDescriptor.epoch(seg, area) != epoch) {
            reregister();
            return true;
        }
        long head = ChangeEventsDescriptor.head(seg, area);
        long tail = ChangeEventsDescriptor.tail(seg, area);
        boolean any = false;
        while (tail != head) {
            int at = (int) (tail & (ch.eventRingBytes - 1));
            int bytes = ChangeEventsDescriptor.recordBytesAt(seg, area, at);
            if (!sane(ch, at, bytes, head - tail)) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "change-event ring of {0} holds a malformed record; starting again",
                        session.socket());
                reregister();
                return true;
            }
            int id = ChangeEventsDescriptor.watchIdAt(seg, area, at);
            if (id != 0) {
                int kind = ChangeEventsDescriptor.kindAt(seg, area, at);
                int length = ChangeEventsDescriptor.nameLengthAt(seg, area, at);
                if (ChangeEventsDescriptor.RECORD_NAME_OFFSET + length > bytes) {
                    reregister();
                    return true;
                }
                String name = new String(ChangeEventsDescriptor.nameAt(seg, area, at, length), StandardCharsets.UTF_8);
                deliver(id, kind, name);
            }
            tail += bytes;
            any = true;
        }
        // The records are read before the space goes back to the server.
        ChangeEventsDescriptor.tail(seg, area, tail);
        if (ChangeEventsDescriptor.takeOverflow(seg, area)) {
            for (Watch w : List.copyOf(watches.values())) {
                w.sink.overflow();
            }
            any = true;
        }
        return any;
    }

    private static boolean sane(ChannelProxy ch, int at, int bytes, long unread) {
        return bytes >= ChangeEventsDescriptor.RECORD_ALIGNMENT
                && bytes % ChangeEventsDescriptor.RECORD_ALIGNMENT == 0
                && bytes <= ch.eventRingBytes - at
                && bytes <= unread;
    }

    /** Under this. */
    private void deliver(int serverId, int kind, String name) {
        Watch w = byServerId.get(serverId);
        if (w == null) {
            return; // removed, or an event of a registration that has not returned yet
        }
        if (kind == ChangeEventsDescriptor.GONE) {
            byServerId.remove(serverId);
            for (Watch each : List.copyOf(watches.values())) {
                if (each.serverId == serverId) {
                    watches.remove(each.id);
                    each.sink.gone();
                }
            }
            return;
        }
        for (Watch each : watches.values()) {
            if (each.serverId == serverId) {
                each.sink.event(kind, name);
            }
        }
    }

    /**
     * Sleeps until the server writes (the client's half of the Dekker pair: read the wake sequence, set waiting,
     * fence, look at the ring again, only then sleep on the sequence), at most {@link #SLEEP_NANOS}; after a
     * time-out, looks whether the server went away and, if so, reconnects so that the watches can be registered anew.
     */
    private void await() {
        ChannelProxy ch;
        synchronized (this) {
            ch = channel;
        }
        if (ch == null || ch.eventArea < 0) {
            sleepOrReconnect(ch);
            return;
        }
        MemorySegment seg = ch.segment;
        long area = ch.eventArea;
        int seq = ChangeEventsDescriptor.wakeSequence(seg, area);
        ChangeEventsDescriptor.waiting(seg, area, true);
        VarHandle.fullFence();
        boolean quiet = ChangeEventsDescriptor.head(seg, area) == ChangeEventsDescriptor.tail(seg, area)
                && ChangeEventsDescriptor.epoch(seg, area) == epoch;
        boolean woken = true;
        if (quiet && !closed) {
            // A segment of global scope: an unmap by a reconnect meanwhile makes the call fail, not wait on the arena.
            MemorySegment word = MemorySegment.ofAddress(
                            ChangeEventsDescriptor.wakeWord(seg, area).address())
                    .reinterpret(4);
            woken = Futex.await(word, seq, SLEEP_NANOS);
        }
        ChangeEventsDescriptor.waiting(seg, area, false);
        if (!woken && ch.serverGone()) {
            sleepOrReconnect(ch);
        }
    }

    /** Makes a call that reconnects if the server of {@code ch} is gone; sleeps a while if there is no ring to wait on. */
    private void sleepOrReconnect(ChannelProxy ch) {
        try {
            if (ch == null || ch.serverGone()) {
                call(ChannelOpcodes.NOOP, null, 0);
            }
            if (ch != null && ch.eventArea < 0) {
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(SLEEP_NANOS));
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "change events: waiting for the server: {0}", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
