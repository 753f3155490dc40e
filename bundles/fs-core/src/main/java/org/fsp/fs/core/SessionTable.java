package org.fsp.fs.core;

import static org.fsp.fs.core.layout.SessionTableDescriptor.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.fsp.api.fs.SessionRecords.Outcome;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.Checksums;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SessionTableDescriptor;

/**
 * The exactly-once records of client sessions ({@link SessionTableDescriptor}), in memory as an index over the
 * on-disk records, changed only inside the caller's journal transaction: a record written by {@link #write} is
 * durable exactly when the transaction of the change it records is.
 *
 * <p>A typical sequence is: {@link #load} at mount; {@link #claim} when a client says hello with its token; per
 * recorded request {@link #recorded} (answer from the record) or {@link #write} (in the request's transaction);
 * {@link #erase} when a client leaves, and for tokens that did not come back within the grace period after a
 * restart. Also signs and checks re-open tokens with the key kept in the header block. Thread-safe (one lock).
 */
final class SessionTable {

    private record Token(long high, long low) {}

    private record Slot(Token token, int key) {}

    private final BufferCache cache;
    private final long start;
    private final int blocks;
    private final SecretKeySpec key;

    /**
     * Initialised MACs for re-use: {@code Mac.getInstance} plus {@code init} costs far more than the MAC itself, and
     * every open by a recoverable client signs a token. A pool rather than a thread-local, so that no thread keeps
     * anything of this bundle after it is replaced.
     */
    private final ConcurrentLinkedQueue<Mac> macs = new ConcurrentLinkedQueue<>();

    private final Map<Slot, Integer> index = new HashMap<>();
    private final Map<Token, Integer> owners = new HashMap<>();
    /** Tokens found on the device at mount that have not said hello since: erased when the grace period ends. */
    private final Set<Token> awaited = new HashSet<>();

    private final ArrayDeque<Integer> free = new ArrayDeque<>();

    private SessionTable(BufferCache cache, long start, int blocks, byte[] key) {
        this.cache = cache;
        this.start = start;
        this.blocks = blocks;
        this.key = new SecretKeySpec(key, "HmacSHA256");
    }

    /** Reads the table at {@code start} ({@code blocks} blocks, header first) and indexes its records. */
    static SessionTable load(BufferCache cache, long start, int blocks) throws IOException {
        byte[] key = new byte[KEY_BYTES];
        // All blocks at once, so a mount waits for the device once for the whole table rather than once per block.
        cache.prefetch(start, blocks);
        Buffer h = cache.get(start, true);
        try {
            String problem = SessionTableDescriptor.validateHeader(h.data());
            if (problem != null) {
                throw new CorruptMetadataException("block " + start + ": " + problem);
            }
            MemorySegment.copy(h.data(), Layout.BYTE, KEY_OFFSET, key, 0, KEY_BYTES);
        } finally {
            cache.release(h);
        }
        SessionTable t = new SessionTable(cache, start, blocks, key);
        for (int b = 1; b < blocks; b++) {
            Buffer r = cache.get(start + b, true);
            try {
                MemorySegment s = r.data();
                String problem = SessionTableDescriptor.validateRecords(s);
                if (problem != null) {
                    throw new CorruptMetadataException("block " + (start + b) + ": " + problem);
                }
                for (int i = 0; i < RECORDS_PER_BLOCK; i++) {
                    int at = recordOffset(i);
                    Token token = new Token(
                            s.get(Layout.LONG, at + TOKEN_HIGH_OFFSET), s.get(Layout.LONG, at + TOKEN_LOW_OFFSET));
                    int number = (b - 1) * RECORDS_PER_BLOCK + i;
                    if (token.high() == 0 && token.low() == 0) {
                        t.free.add(number);
                        continue;
                    }
                    t.index.put(new Slot(token, s.get(Layout.INT, at + KEY_NUMBER_OFFSET)), number);
                    t.owners.put(token, s.get(Layout.INT, at + UID_OFFSET));
                    t.awaited.add(token);
                }
            } finally {
                cache.release(r);
            }
        }
        return t;
    }

    /** Records the table can hold. */
    int capacity() {
        return (blocks - 1) * RECORDS_PER_BLOCK;
    }

    synchronized int inUse() {
        return index.size();
    }

    /** Tokens with records that have not come back since the mount. */
    synchronized int awaited() {
        return awaited.size();
    }

    /** Binds the token to {@code uid} (in memory until its first record); false if another uid holds it. */
    synchronized boolean claim(long high, long low, int uid) {
        Token t = new Token(high, low);
        Integer owner = owners.putIfAbsent(t, uid);
        if (owner != null && owner != uid) {
            return false;
        }
        awaited.remove(t);
        return true;
    }

    synchronized Outcome recorded(long high, long low, int key, long seq) throws IOException {
        Integer number = index.get(new Slot(new Token(high, low), key));
        if (number == null) {
            return null;
        }
        Buffer b = cache.get(blockOf(number), true);
        try {
            MemorySegment s = b.data();
            int at = recordOffset(number % RECORDS_PER_BLOCK);
            if (s.get(Layout.LONG, at + SEQUENCE_OFFSET) != seq) {
                return null;
            }
            return new Outcome(
                    s.get(Layout.LONG, at + RESULT_OFFSET),
                    s.get(Layout.LONG, at + INO_OR_POSITION_OFFSET),
                    s.get(Layout.INT, at + GENERATION_OFFSET),
                    s.get(Layout.INT, at + FLAGS_OFFSET));
        } finally {
            cache.release(b);
        }
    }

    /**
     * Writes the record of (token, key) in {@code tx}, replacing the key's previous one. When the table is full the
     * oldest record of the same token gives way (its call was answered long ago: one call per key is in flight);
     * failing that the oldest record of all, which is logged by the caller through the false return.
     */
    synchronized boolean write(Transaction tx, long high, long low, int key, long seq, Outcome o, long nowMillis)
            throws IOException {
        Token token = new Token(high, low);
        Slot slot = new Slot(token, key);
        Integer number = index.get(slot);
        boolean room = true;
        if (number == null) {
            number = free.poll();
            if (number == null) {
                number = oldest();
                room = false;
                clear(tx, number);
            }
            index.put(slot, number);
        }
        Integer uid = owners.get(token);
        Buffer b = cache.get(blockOf(number), true);
        try {
            MemorySegment s = b.data();
            int at = recordOffset(number % RECORDS_PER_BLOCK);
            s.set(Layout.LONG, at + TOKEN_HIGH_OFFSET, high);
            s.set(Layout.LONG, at + TOKEN_LOW_OFFSET, low);
            s.set(Layout.INT, at + KEY_NUMBER_OFFSET, key);
            s.set(Layout.INT, at + UID_OFFSET, uid == null ? -1 : uid);
            s.set(Layout.LONG, at + SEQUENCE_OFFSET, seq);
            s.set(Layout.LONG, at + RESULT_OFFSET, o.result());
            s.set(Layout.LONG, at + INO_OR_POSITION_OFFSET, o.inoOrPosition());
            s.set(Layout.INT, at + GENERATION_OFFSET, o.generation());
            s.set(Layout.INT, at + FLAGS_OFFSET, o.flags());
            s.set(Layout.LONG, at + RECORDED_AT_OFFSET, nowMillis);
            Checksums.sealTail(s);
            tx.dirty(b);
        } finally {
            cache.release(b);
        }
        return room;
    }

    /** True if the token has records or an owner: only then is there anything to {@link #erase}. */
    synchronized boolean knows(long high, long low) {
        return owners.containsKey(new Token(high, low));
    }

    /** Erases every record of the token in {@code tx} and forgets its owner; returns how many there were. */
    synchronized int erase(Transaction tx, long high, long low) throws IOException {
        Token token = new Token(high, low);
        List<Slot> gone = new ArrayList<>();
        for (Slot s : index.keySet()) {
            if (s.token().equals(token)) {
                gone.add(s);
            }
        }
        for (Slot s : gone) {
            int number = index.remove(s);
            clear(tx, number);
            free.add(number);
        }
        owners.remove(token);
        awaited.remove(token);
        return gone.size();
    }

    /** The tokens still awaited, which the caller erases when the grace period ends. */
    synchronized List<long[]> awaitedTokens() {
        List<long[]> out = new ArrayList<>();
        for (Token t : awaited) {
            out.add(new long[] {t.high(), t.low()});
        }
        return out;
    }

    /** The 16-byte MAC of a re-open token's fields for the session token. */
    byte[] mac(long high, long low, long ino, int generation, int flags) {
        Mac m = macs.poll();
        try {
            if (m == null) {
                m = Mac.getInstance("HmacSHA256");
                m.init(key);
            }
            byte[] msg = new byte[40];
            MemorySegment w = MemorySegment.ofArray(msg);
            w.set(Layout.LONG, 0, high);
            w.set(Layout.LONG, 8, low);
            w.set(Layout.LONG, 16, ino);
            w.set(Layout.INT, 24, generation);
            w.set(Layout.INT, 28, flags);
            byte[] full = m.doFinal(msg);
            macs.offer(m);
            byte[] out = new byte[16];
            System.arraycopy(full, 0, out, 0, 16);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** Constant-time comparison, so that the time a refusal takes says nothing about how much of a MAC was right. */
    static boolean same(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    private int oldest() throws IOException {
        int best = -1;
        long bestAt = Long.MAX_VALUE;
        for (int number : index.values()) {
            Buffer b = cache.get(blockOf(number), true);
            try {
                long at = b.data().get(Layout.LONG, recordOffset(number % RECORDS_PER_BLOCK) + RECORDED_AT_OFFSET);
                if (at < bestAt) {
                    bestAt = at;
                    best = number;
                }
            } finally {
                cache.release(b);
            }
        }
        int victim = best;
        index.values().removeIf(n -> n == victim);
        return victim;
    }

    private void clear(Transaction tx, int number) throws IOException {
        Buffer b = cache.get(blockOf(number), true);
        try {
            MemorySegment s = b.data();
            s.asSlice(recordOffset(number % RECORDS_PER_BLOCK), RECORD_BYTES).fill((byte) 0);
            Checksums.sealTail(s);
            tx.dirty(b);
        } finally {
            cache.release(b);
        }
    }

    private long blockOf(int number) {
        return start + 1 + number / RECORDS_PER_BLOCK;
    }
}
