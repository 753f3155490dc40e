package org.fsp.client;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.SlotDescriptor;

/**
 * FS Lib's copy of file data it read under a read lease (channel minor 2, see {@link ChannelHeaderDescriptor}): a
 * positioned read of whole blocks it holds is answered from memory, with no round trip, while the lease's word in the
 * channel header still holds the lease's generation. The server clears that word before it answers any call that
 * changes the file (this client's own writes included), so a read that starts after such a call returned misses and
 * asks the server again, as uFS's {@code fs_cached_pread} does.
 *
 * <p>What is kept: whole 4 KiB blocks of the file, per handle, that one answer covered entirely (a block at the end of
 * the file that the answer cut short is not kept, so end of file is always the server's answer); a miss reads a
 * slot's window around the read, or 256 KiB through a bulk buffer once the handle's copy answers most of its reads
 * ({@link #window}); up to
 * {@code fsp.client.readCacheBytes} (default 64 MiB) for the whole client. A copy belongs to the channel it was read
 * on: after a reconnect (a new server) nothing old is used. {@code -Dfsp.client.readCache=false} turns it off.
 *
 * <p>A typical sequence is: {@link #read} (hit: the bytes, or -1); on a miss the caller asks the server with
 * {@link org.fsp.api.channel.ChannelOpcodes#PREAD_WANTS_LEASE} and, if the answer carries a lease, {@link #fill}s; {@link #forget} at
 * close. Thread safe.
 */
final class ClientReadCache {

    /** Whether FS Lib keeps read data under leases ({@code -Dfsp.client.readCache=false}: it does not). */
    static final boolean ENABLED = !"false".equals(System.getProperty("fsp.client.readCache"));

    static final int BLOCK = 4096;
    /** The window a handle whose reads mostly hit reads on a miss, through a bulk buffer. */
    static final int WIDE_WINDOW = 256 << 10;
    /** Hits per miss of a handle's copy past which its misses read {@link #WIDE_WINDOW}. */
    static final int HITS_PER_MISS_FOR_WIDE = 1;

    private final long budgetBytes;
    private final AtomicLong bytes = new AtomicLong();
    private final Map<Long, Entry> byHandle = new ConcurrentHashMap<>();
    private final LongAdder hits = new LongAdder();

    /** The blocks of one handle read under one lease of one channel. */
    private static final class Entry {
        final ChannelProxy channel;
        final int word;
        final long generation;
        final Blocks blocks = new Blocks();
        /** Reads answered from this copy and windows read into it; racy counts, they only steer the window. */
        volatile int hits;

        volatile int misses;

        Entry(ChannelProxy channel, int word, long generation) {
            this.channel = channel;
            this.word = word;
            this.generation = generation;
        }

        boolean valid(ChannelProxy current) {
            return channel == current && holds();
        }

        /** Whether the lease still holds; false once its channel is gone (its segment unmapped). */
        boolean holds() {
            try {
                return ChannelHeaderDescriptor.leaseWord(channel.segment, word) == generation;
            } catch (IllegalStateException closed) {
                return false;
            }
        }
    }

    /**
     * One handle's blocks by block number, in pages of {@link #PAGE_BLOCKS}: a hit is two array loads (acquire), with
     * no lock and no boxed key, since it stands in for a read that allocates nothing. Writers (fills, clears) hold the
     * monitor. Blocks past {@link #MAX_PAGES} pages (256 GiB into the file) are not kept.
     */
    static final class Blocks {
        static final int PAGE_BLOCKS = 1024;
        static final int MAX_PAGES = 1 << 16;
        private static final VarHandle BLOCK_IN_PAGE = MethodHandles.arrayElementVarHandle(byte[][].class);
        private static final VarHandle PAGE_IN_TOP = MethodHandles.arrayElementVarHandle(byte[][][].class);

        private volatile byte[][][] pages = new byte[1][][];
        private int count;

        byte[] get(long block) {
            byte[][][] top = pages;
            long p = block / PAGE_BLOCKS;
            if (p >= top.length) {
                return null;
            }
            byte[][] page = (byte[][]) PAGE_IN_TOP.getAcquire(top, (int) p);
            return page == null ? null : (byte[]) BLOCK_IN_PAGE.getAcquire(page, (int) (block % PAGE_BLOCKS));
        }

        /** Keeps {@code data} as {@code block}; false if it replaced a kept one or lies past the last page. */
        synchronized boolean put(long block, byte[] data) {
            long p = block / PAGE_BLOCKS;
            if (p >= MAX_PAGES) {
                return false;
            }
            byte[][][] top = pages;
            if (p >= top.length) {
                top = Arrays.copyOf(top, (int) Math.min(MAX_PAGES, Math.max(p + 1, 2L * top.length)));
                pages = top;
            }
            byte[][] page = top[(int) p];
            if (page == null) {
                page = new byte[PAGE_BLOCKS][];
                PAGE_IN_TOP.setRelease(top, (int) p, page);
            }
            int i = (int) (block % PAGE_BLOCKS);
            boolean fresh = page[i] == null;
            BLOCK_IN_PAGE.setRelease(page, i, data);
            if (fresh) {
                count++;
            }
            return fresh;
        }

        /** Drops every block; returns how many there were. */
        synchronized int clear() {
            int n = count;
            pages = new byte[1][][];
            count = 0;
            return n;
        }
    }

    ClientReadCache() {
        this(Long.getLong("fsp.client.readCacheBytes", 64L << 20));
    }

    ClientReadCache(long budgetBytes) {
        this.budgetBytes = budgetBytes;
    }

    /**
     * Copies {@code size} bytes at {@code position} of {@code handle} into {@code dst} (or, when null, {@code array}
     * from {@code offset}) if every block they touch is kept under a lease that holds on {@code current}.
     *
     * @return {@code size}, or -1 (ask the server)
     */
    int read(long handle, ChannelProxy current, long position, MemorySegment dst, byte[] array, int offset, int size) {
        Entry e = byHandle.get(handle);
        if (e == null || size == 0 || !e.valid(current)) {
            return -1;
        }
        long first = position / BLOCK;
        long last = (position + size - 1) / BLOCK;
        int done = 0;
        for (long b = first; b <= last; b++) {
            byte[] block = e.blocks.get(b);
            if (block == null) {
                return -1;
            }
            int in = (int) (b == first ? position % BLOCK : 0);
            int n = Math.min(size - done, BLOCK - in);
            if (dst != null) {
                MemorySegment.copy(block, in, dst, ValueLayout.JAVA_BYTE, done, n);
            } else {
                System.arraycopy(block, in, array, offset + done, n);
            }
            done += n;
        }
        // The copy may have raced a change: the lease's word is cleared before the changing call is answered, so a
        // copy that began after that answer sees it here, and one that began before may return either data.
        if (!e.valid(current)) {
            return -1;
        }
        hits.increment();
        e.hits++;
        return size;
    }

    /**
     * How much a miss of {@code handle} should read: {@link #WIDE_WINDOW} once its copy answers most reads (a file
     * read again and again, which fits), else {@code slotBytes}, so that random reads of a large file with little
     * reuse do not read 64 times what they need. Counts the miss.
     */
    int window(long handle, int slotBytes) {
        Entry e = byHandle.get(handle);
        if (e == null) {
            return slotBytes;
        }
        int misses = ++e.misses;
        return e.hits >= HITS_PER_MISS_FOR_WIDE * misses ? WIDE_WINDOW : slotBytes;
    }

    /**
     * Keeps the whole blocks of an answer to a read of {@code got} bytes at {@code position} of {@code handle}, which
     * lie at {@code from} in {@code channel}'s segment, under {@code lease} (as the answer carries it; 0: none).
     */
    void fill(long handle, ChannelProxy channel, long lease, long position, long from, int got) {
        if (lease == 0 || got < BLOCK) {
            return;
        }
        int word = SlotDescriptor.leaseWord(lease);
        long generation = SlotDescriptor.leaseGeneration(lease);
        if (word >= ChannelHeaderDescriptor.LEASE_WORDS) {
            return;
        }
        Entry[] replaced = new Entry[1];
        Entry e = byHandle.compute(handle, (k, cur) -> {
            if (cur != null && cur.channel == channel && cur.word == word && cur.generation == generation) {
                return cur;
            }
            replaced[0] = cur;
            return new Entry(channel, word, generation);
        });
        if (replaced[0] != null) {
            release(replaced[0]);
        }
        long start = (position + BLOCK - 1) / BLOCK * BLOCK;
        for (long at = start; at + BLOCK <= position + got; at += BLOCK) {
            if (!reserve()) {
                return;
            }
            byte[] block = new byte[BLOCK];
            MemorySegment.copy(channel.segment, ValueLayout.JAVA_BYTE, from + (at - position), block, 0, BLOCK);
            if (!e.blocks.put(at / BLOCK, block)) {
                bytes.addAndGet(-BLOCK);
            }
        }
    }

    /** The handle was closed: its copy goes. */
    void forget(long handle) {
        Entry e = byHandle.remove(handle);
        if (e != null) {
            release(e);
        }
    }

    /** Reads answered from memory since start. */
    long hits() {
        return hits.sum();
    }

    /** Bytes kept now. */
    long bytes() {
        return bytes.get();
    }

    /** Room for one more block, dropping copies whose lease has ended first when the budget is spent. */
    private boolean reserve() {
        if (bytes.addAndGet(BLOCK) <= budgetBytes) {
            return true;
        }
        for (Map.Entry<Long, Entry> x : byHandle.entrySet()) {
            Entry e = x.getValue();
            if (!e.holds() && byHandle.remove(x.getKey(), e)) {
                release(e);
            }
        }
        if (bytes.get() <= budgetBytes) {
            return true;
        }
        bytes.addAndGet(-BLOCK);
        return false;
    }

    private void release(Entry e) {
        bytes.addAndGet(-(long) BLOCK * e.blocks.clear());
    }
}
