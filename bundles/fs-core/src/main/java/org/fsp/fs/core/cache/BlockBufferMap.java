package org.fsp.fs.core.cache;

import java.util.function.Consumer;

/**
 * The buffer cache's index: block number to {@link Buffer}, safe for many threads, without boxing the key.
 *
 * <p>Every data read and write looks blocks up here (the file's block, its inode's table block, read-ahead), so a
 * {@code ConcurrentHashMap<Long, Buffer>} allocated a {@code Long} per lookup on the request path. This map keeps the
 * keys in {@code long[]} tables: the blocks are spread over {@link #STRIPES} stripes by a mixed hash, each stripe an
 * open-addressing table (linear probing, backward-shift deletion, so no tombstones) guarded by its own monitor.
 * Lookups lock their stripe briefly; with 64 stripes, threads working on different blocks rarely meet.
 *
 * <p>A typical sequence is: {@code get(block)}; if null, {@code putIfAbsent(block, buffer)}; later {@code
 * remove(block, buffer)} when the buffer is reused for another block.
 */
final class BlockBufferMap {

    /** Number of independently locked tables (a power of two). */
    private static final int STRIPES = 64;
    /** Slots a stripe starts with (a power of two); it doubles when more than half full. */
    private static final int INITIAL_SLOTS = 64;

    private final Stripe[] stripes = new Stripe[STRIPES];

    BlockBufferMap() {
        for (int s = 0; s < STRIPES; s++) {
            stripes[s] = new Stripe();
        }
    }

    /** The buffer holding {@code block}, or null. */
    Buffer get(long block) {
        long hash = mix(block);
        Stripe s = stripe(hash);
        synchronized (s) {
            return s.get(block, hash);
        }
    }

    boolean containsKey(long block) {
        return get(block) != null;
    }

    /** Maps {@code block} to {@code buffer} unless it is mapped already; returns the buffer already there, or null. */
    Buffer putIfAbsent(long block, Buffer buffer) {
        long hash = mix(block);
        Stripe s = stripe(hash);
        synchronized (s) {
            Buffer present = s.get(block, hash);
            if (present == null) {
                s.put(block, hash, buffer);
            }
            return present;
        }
    }

    /** Removes {@code block} if it maps to {@code buffer}; true if it did. */
    boolean remove(long block, Buffer buffer) {
        long hash = mix(block);
        Stripe s = stripe(hash);
        synchronized (s) {
            return s.remove(block, hash, buffer);
        }
    }

    /** Calls {@code action} with every buffer mapped, a stripe at a time (not a snapshot of the whole map). */
    void forEachBuffer(Consumer<Buffer> action) {
        for (Stripe s : stripes) {
            Buffer[] values;
            synchronized (s) {
                values = s.values.clone();
            }
            for (Buffer b : values) {
                if (b != null) {
                    action.accept(b);
                }
            }
        }
    }

    void clear() {
        for (Stripe s : stripes) {
            synchronized (s) {
                s.keys = new long[INITIAL_SLOTS];
                s.values = new Buffer[INITIAL_SLOTS];
                s.size = 0;
            }
        }
    }

    private Stripe stripe(long hash) {
        return stripes[(int) (hash >>> 58) & (STRIPES - 1)];
    }

    /** Murmur3's 64-bit finaliser: consecutive blocks (the common case) land in different stripes and slots. */
    private static long mix(long key) {
        key ^= key >>> 33;
        key *= 0xff51afd7ed558ccdL;
        key ^= key >>> 33;
        key *= 0xc4ceb9fe1a85ec53L;
        key ^= key >>> 33;
        return key;
    }

    /** One open-addressing table; a slot is free when its value is null. Guarded by its own monitor. */
    private static final class Stripe {
        long[] keys = new long[INITIAL_SLOTS];
        Buffer[] values = new Buffer[INITIAL_SLOTS];
        int size;

        Buffer get(long key, long hash) {
            int mask = values.length - 1;
            for (int i = (int) hash & mask; ; i = (i + 1) & mask) {
                Buffer v = values[i];
                if (v == null || keys[i] == key) {
                    return v;
                }
            }
        }

        /** The key is known to be absent. */
        void put(long key, long hash, Buffer value) {
            if (2 * (size + 1) > values.length) {
                grow();
            }
            int mask = values.length - 1;
            int i = (int) hash & mask;
            while (values[i] != null) {
                i = (i + 1) & mask;
            }
            keys[i] = key;
            values[i] = value;
            size++;
        }

        boolean remove(long key, long hash, Buffer value) {
            int mask = values.length - 1;
            int i = (int) hash & mask;
            while (true) {
                Buffer v = values[i];
                if (v == null) {
                    return false;
                }
                if (keys[i] == key) {
                    if (v != value) {
                        return false;
                    }
                    break;
                }
                i = (i + 1) & mask;
            }
            // Backward-shift deletion: move later entries of the probe run into the hole so that every lookup still
            // reaches its key before a free slot.
            int hole = i;
            for (int j = (hole + 1) & mask; values[j] != null; j = (j + 1) & mask) {
                int home = (int) mix(keys[j]) & mask;
                boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
                if (movable) {
                    keys[hole] = keys[j];
                    values[hole] = values[j];
                    hole = j;
                }
            }
            values[hole] = null;
            keys[hole] = 0;
            size--;
            return true;
        }

        private void grow() {
            long[] oldKeys = keys;
            Buffer[] oldValues = values;
            keys = new long[oldKeys.length * 2];
            values = new Buffer[oldValues.length * 2];
            size = 0;
            for (int i = 0; i < oldValues.length; i++) {
                if (oldValues[i] != null) {
                    put(oldKeys[i], mix(oldKeys[i]), oldValues[i]);
                }
            }
        }
    }
}
