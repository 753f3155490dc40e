package org.fsp.client;

import static org.fsp.api.channel.ChannelOpcodes.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.channel.PayloadCodec;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.OpenFlags;

/**
 * What FS Lib holds for each open handle so that it outlives a restart of the server (docs/recovery.md): the server's
 * number for it now, its re-open token, flags and position, the byte-range locks it set, and the bytes written since
 * its last fsync (within {@link #REPLAY_BYTES}); and the re-attachment of all of them to the next server.
 *
 * <p>A typical sequence is: {@link #add} when an open is answered; {@link #server} for each call on the handle; the
 * position, locks and {@link #keepUnsynced unsynced writes} kept as calls are answered, and
 * {@link #dropUnsynced dropped} when an fsync or sync covers them; {@link #forget} at close; {@link #reattach} on a
 * fresh channel after a reconnect. Thread safe: each handle's lists are guarded by the handle.
 */
final class ClientHandles {

    /**
     * Bytes of unsynced writes kept per client to write again after a restart of the server: by default a sixteenth
     * of the heap, at most 64 MiB, so that keeping them never costs an application its heap.
     */
    static final long REPLAY_BYTES = Long.getLong(
            "fsp.client.replayBytes", Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16));

    /** A write not yet covered by an fsync of its handle: where it landed and its bytes. */
    record Unsynced(long offset, byte[] bytes) {}

    /** What FS Lib holds for one open handle, to re-open it on a restarted server. */
    /**
     * Positioned reads of a handle that go without a read lease before it asks for one: a handle read once and closed
     * (a whole small file, then the probe for its end) gains nothing from a lease and would pay for the grant and the
     * copy; a handle read again and again (a database, an index) asks from its third read on.
     */
    static final int LEASE_AFTER_READS = 2;

    static final class OpenHandle {
        /** The server's number for the handle now (changes when it is re-opened). */
        volatile long server;
        /** The re-open token from the last OPEN or REOPEN; null if the server gave none. */
        volatile byte[] token;

        final int flags;
        /** The handle's position after its last read or write, bytes. */
        volatile long position;
        /** Lock requests in the order they succeeded: type, start, length. */
        final List<long[]> locks = new ArrayList<>();

        final List<Unsynced> unsynced = new ArrayList<>();
        /** Unsynced writes were dropped (past {@link #REPLAY_BYTES}) or could not be written again. */
        boolean unsyncedLost;
        /** The server lost the file across a restart (its creation was not durable): calls fail with EIO. */
        volatile boolean stale;
        /**
         * Positioned reads through this handle that missed the read cache, counted up to {@link #LEASE_AFTER_READS}
         * (races between threads only shift when the count gets there).
         */
        int readsMissed;

        OpenHandle(long server, byte[] token, int flags) {
            this.server = server;
            this.token = token;
            this.flags = flags;
        }
    }

    private final Map<Long, OpenHandle> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    /** Unsynced bytes kept for all handles, against {@link #REPLAY_BYTES}. */
    private final AtomicLong unsyncedBytes = new AtomicLong();

    /** Enters a handle the server opened; returns this client's number for it. */
    long add(long server, byte[] token, int flags) {
        long h = nextHandle.getAndIncrement();
        handles.put(h, new OpenHandle(server, token, flags));
        return h;
    }

    /** The handle {@code handle}, or null. */
    OpenHandle get(long handle) {
        return handles.get(handle);
    }

    /** The handles open now. */
    List<OpenHandle> snapshot() {
        return List.copyOf(handles.values());
    }

    /** The server's number for a handle of this client; EIO for a handle the restarted server lost. */
    long server(long handle) throws IOException {
        OpenHandle o = handles.get(handle);
        if (o == null) {
            throw FspExceptions.of(Errno.EBADF, "handle " + handle, null);
        }
        if (o.stale) {
            throw FspExceptions.of(
                    Errno.EIO, "handle " + handle, null, "its file was lost when the FSP server restarted");
        }
        return o.server;
    }

    void forget(long handle) {
        OpenHandle o = handles.remove(handle);
        if (o != null) {
            synchronized (o) {
                dropUnsynced(o, o.unsynced.size());
            }
        }
    }

    /** Forgets the first {@code count} unsynced writes of {@code o}: an fsync or sync covered them. */
    void dropUnsynced(OpenHandle o, int count) {
        synchronized (o) {
            List<Unsynced> done = o.unsynced.subList(0, Math.min(count, o.unsynced.size()));
            for (Unsynced u : done) {
                unsyncedBytes.addAndGet(-u.bytes().length);
            }
            done.clear();
        }
    }

    /** Keeps a copy of written bytes until an fsync covers them, within {@link #REPLAY_BYTES}. */
    void keepUnsynced(OpenHandle o, long offset, MemorySegment from, long at, int n) {
        if (n <= 0) {
            return;
        }
        synchronized (o) {
            if (unsyncedBytes.addAndGet(n) > REPLAY_BYTES) {
                unsyncedBytes.addAndGet(-n);
                o.unsyncedLost = true;
                return;
            }
            byte[] copy = new byte[n];
            MemorySegment.copy(from, ValueLayout.JAVA_BYTE, at, copy, 0, n);
            o.unsynced.add(new Unsynced(offset, copy));
        }
    }

    /**
     * Re-opens every handle on {@code fresh} with its token at its position, sets its locks again and writes its
     * unsynced data again where it landed. A handle the server cannot re-open (its file is gone) becomes stale.
     */
    void reattach(ChannelProxy fresh) throws IOException {
        for (OpenHandle o : handles.values()) {
            if (o.stale) {
                continue;
            }
            byte[] token = o.token;
            if (token == null) {
                o.stale = true;
                continue;
            }
            int flags = MemorySegment.ofArray(token).get(ValueLayout.JAVA_INT_UNALIGNED, 12);
            long server = reopenOn(fresh, token, flags, o.position, o);
            if (server < 0) {
                o.stale = true;
                continue;
            }
            o.server = server;
            synchronized (o) {
                for (long[] l : o.locks) {
                    FspClient.setlkOn(fresh, server, (int) l[0], l[1], l[2]);
                }
                if (o.unsyncedLost || o.unsynced.isEmpty()) {
                    continue;
                }
                // Written again through a handle without O_APPEND: each at the offset where it landed the first time.
                boolean append = (flags & OpenFlags.O_APPEND) != 0;
                long target = append ? reopenOn(fresh, token, flags & ~OpenFlags.O_APPEND, 0, null) : server;
                if (target < 0) {
                    o.unsyncedLost = true;
                    continue;
                }
                for (Unsynced u : o.unsynced) {
                    pwriteOn(fresh, target, u.offset(), u.bytes());
                }
                if (append) {
                    closeOn(fresh, target);
                }
            }
        }
    }

    /** REOPEN on {@code ch}: the server's new handle, or minus the errno; {@code o} takes the new token if not null. */
    private static long reopenOn(ChannelProxy ch, byte[] token, int flags, long position, OpenHandle o)
            throws IOException {
        ChannelProxy.Call c = ch.begin();
        try {
            MemorySegment.copy(token, 0, ch.segment, ValueLayout.JAVA_BYTE, c.dataOffset, token.length);
            c.request.opcode(REOPEN).flags(flags).fileOffset(position).length(token.length);
            long result = ch.submit(c);
            if (result >= 0 && o != null) {
                byte[] next = tokenOf(ch, c);
                if (next != null) {
                    o.token = next;
                }
            }
            return result;
        } catch (IllegalStateException e) {
            throw ch.closedOr(e);
        } finally {
            ch.end(c);
        }
    }

    private static void pwriteOn(ChannelProxy ch, long server, long offset, byte[] bytes) throws IOException {
        int done = 0;
        while (done < bytes.length) {
            int chunk = Math.min(bytes.length - done, ch.layout.slotDataBytes());
            ChannelProxy.Call c = ch.begin();
            try {
                MemorySegment.copy(bytes, done, ch.segment, ValueLayout.JAVA_BYTE, c.dataOffset, chunk);
                c.request
                        .opcode(PWRITE)
                        .handle(server)
                        .fileOffset(offset + done)
                        .length(chunk);
                FspClient.check(ch.submit(c), null, null);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
            done += chunk;
        }
    }

    private static void closeOn(ChannelProxy ch, long server) throws IOException {
        ChannelProxy.Call c = ch.begin();
        try {
            c.request.opcode(CLOSE).handle(server);
            ch.submit(c);
        } catch (IllegalStateException e) {
            throw ch.closedOr(e);
        } finally {
            ch.end(c);
        }
    }

    /** The re-open token an OPEN or REOPEN answered, or null. */
    static byte[] tokenOf(ChannelProxy ch, ChannelProxy.Call c) {
        if (c.response.payloadLength() != PayloadCodec.REOPEN_TOKEN_BYTES) {
            return null;
        }
        byte[] token = new byte[PayloadCodec.REOPEN_TOKEN_BYTES];
        MemorySegment.copy(ch.segment, ValueLayout.JAVA_BYTE, c.dataOffset, token, 0, token.length);
        return token;
    }
}
