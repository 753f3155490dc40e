package org.fsp.client;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.api.fs.Errno;

/**
 * The channel of one {@link FspClient} to the server it talks to now, and the way to the next server when that one
 * goes away (docs/recovery.md): a call runs as an attempt on the current channel; an attempt that finds the server
 * gone ({@link ServerGoneException}) waits for the next server on the same socket, re-attaches every handle there
 * ({@link ClientHandles#reattach}) and runs again on the new channel, with the same sequence and record key for a
 * recorded call. A typical sequence is: {@code retrying(ch -> ...)} for an idempotent call, {@code invoke(true,
 * (ch, seq, key) -> ...)} for one that must apply once.
 */
final class Reconnecting {

    /** Record keys this client uses at most (calls in flight with a sequence). */
    private static final int KEYS = Math.min(1024, SlotDescriptor.RECORD_KEYS);

    /** One attempt of a call on a channel; retried on the next channel if the server went away. */
    @FunctionalInterface
    interface Attempt<T> {
        T run(ChannelProxy ch) throws IOException;
    }

    private volatile ChannelProxy channel;
    private final Path socket;
    private final int lanes;
    private final long tokenHigh;
    private final long tokenLow;
    private final ClientHandles handles;
    private final Object reconnectLock = new Object();
    private final AtomicLong sequences = new AtomicLong();
    /**
     * Free record keys, lowest first and given back to the front: a client uses only as many keys (and so server
     * records) as it has recorded calls in flight at once.
     */
    private final LinkedBlockingDeque<Integer> keys = new LinkedBlockingDeque<>(KEYS);

    private final AtomicLong reconnects = new AtomicLong();
    private volatile boolean closed;

    Reconnecting(ChannelProxy channel, Path socket, int lanes, long tokenHigh, long tokenLow, ClientHandles handles) {
        this.channel = channel;
        this.socket = socket;
        this.lanes = lanes;
        this.tokenHigh = tokenHigh;
        this.tokenLow = tokenLow;
        this.handles = handles;
        for (int k = 0; k < KEYS; k++) {
            keys.add(k);
        }
    }

    /** The channel to the current server (replaced when it goes away). */
    ChannelProxy channel() {
        return channel;
    }

    Path socket() {
        return socket;
    }

    /** Times this client re-attached to a restarted server. */
    long reconnects() {
        return reconnects.get();
    }

    /** Ends the channel; calls in progress fail, none reconnects. */
    void close() {
        closed = true;
        channel.close();
    }

    /** Connects, again a few times (10 ms doubling) while a server going away cuts the handshake. */
    static ChannelProxy connectAcrossHandOff(Path socket, int lanes, long high, long low) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return ChannelProxy.connect(socket, lanes, high, low);
            } catch (ChannelProxy.HandshakeCutException e) {
                if (attempt == 5) {
                    throw e;
                }
                try {
                    Thread.sleep(10L << attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted reconnecting to " + socket);
                }
            }
        }
    }

    /** A call that carries a sequence and key when {@code recorded} (see {@code docs/recovery.md}). */
    @FunctionalInterface
    interface RecordedAttempt<T> {
        T run(ChannelProxy ch, long seq, int key) throws IOException;
    }

    /**
     * Runs {@code a}, with a fresh sequence and a record key if {@code recorded} and the server keeps records, until
     * it gets an answer: a server that goes away meanwhile is waited for and the same request (same sequence and key)
     * is sent to the next one.
     */
    <T> T invoke(boolean recorded, RecordedAttempt<T> a) throws IOException {
        if (!recorded || !channel.recordsKept) {
            return retrying(ch -> a.run(ch, 0, 0));
        }
        Integer key;
        try {
            key = keys.takeFirst();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted waiting for a record key");
        }
        try {
            long seq = sequences.incrementAndGet();
            return retrying(ch -> a.run(ch, seq, key));
        } finally {
            keys.addFirst(key);
        }
    }

    <T> T retrying(Attempt<T> a) throws IOException {
        while (true) {
            ChannelProxy ch = channel;
            try {
                return a.run(ch);
            } catch (ServerGoneException e) {
                reconnect(ch, e);
            }
        }
    }

    /**
     * Replaces {@code dead} by a channel to the next server on the same socket, unless another thread did already:
     * retries the connection with back-off (10 ms doubling to 500 ms) until {@link FspClient#RECONNECT_TIMEOUT_NANOS}, then
     * re-opens every handle on the new server.
     */
    private void reconnect(ChannelProxy dead, ServerGoneException cause) throws IOException {
        synchronized (reconnectLock) {
            if (channel != dead) {
                return;
            }
            if (closed) {
                throw new ClosedChannelException();
            }
            dead.abandon();
            long deadline = System.nanoTime() + FspClient.RECONNECT_TIMEOUT_NANOS;
            long backoffMillis = 10;
            while (true) {
                ChannelProxy fresh = null;
                try {
                    fresh = ChannelProxy.connect(socket, lanes, tokenHigh, tokenLow);
                    // A server answered: the limit counts from here again if it goes away during the re-attach.
                    deadline = System.nanoTime() + FspClient.RECONNECT_TIMEOUT_NANOS;
                    handles.reattach(fresh);
                    channel = fresh;
                    reconnects.incrementAndGet();
                    return;
                } catch (IOException e) {
                    if (fresh != null) {
                        fresh.abandon();
                    }
                    if (System.nanoTime() > deadline) {
                        IOException eio = FspExceptions.of(
                                Errno.EIO,
                                socket.toString(),
                                null,
                                "the FSP server went away (" + cause.getMessage() + ") and did not come back within "
                                        + TimeUnit.NANOSECONDS.toMillis(FspClient.RECONNECT_TIMEOUT_NANOS) + " ms");
                        eio.addSuppressed(e);
                        throw eio;
                    }
                    try {
                        Thread.sleep(backoffMillis);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("interrupted waiting for the FSP server");
                    }
                    backoffMillis = Math.min(backoffMillis * 2, 500);
                }
            }
        }
    }
}
