package org.fsp.ipc.shm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.api.fs.ChangeListener;

/**
 * The read leases of every client of one server (channel minor 2, see {@link ChannelHeaderDescriptor}): a client that
 * holds one on an open file answers its reads of data it already got from its own memory, without a round trip,
 * as uFS's {@code fs_cached_pread} does; the lease ends, before the changing call is answered, as soon as any caller
 * (another client, the FUSE mount, this client itself) changes the file's data or size.
 *
 * <p>A lease is a word of the client's channel header holding a generation. A typical sequence is: a PREAD that asks
 * for one, before the data is read, {@link #grant}s it (the word gets a fresh generation and the lease is listed under
 * the file's inode); the answer names word and generation; the file system tells {@link #changed} of every change of
 * the inode (this is its {@link ChangeListener}), which clears the words of the inode's leases; closing the handle
 * ({@link #released}), the client's end ({@link #sessionEnded}) and a change of file system or of server version
 * ({@link #revokeAll}) clear them too.
 *
 * <p>Why granting before reading is enough: a change that the grant did not find listed had already made its change
 * and was telling its listeners, so the read after the grant sees its data; a change that comes later finds the
 * lease and clears the word. Either way a client never keeps data older than a change whose call has returned.
 *
 * <p>Thread safety: grants, releases and changes come from any worker and from the changing operations' threads. A
 * session's words are guarded by its {@link Words}; the inode lists are a concurrent map whose per-inode updates are
 * atomic. Lock order: a session's words, then the map.
 */
final class ReadLeases implements ChangeListener {

    /** One granted lease: word {@code word} of {@code session}'s header holds {@code generation}. */
    private record Lease(ClientSession session, long clientHandle, long ino, int word, long generation) {}

    /** A session's lease words: which lease each holds, which lease each handle has, each handle's inode. */
    private static final class Words {
        final Lease[] byWord = new Lease[ChannelHeaderDescriptor.LEASE_WORDS];
        final Map<Long, Lease> byHandle = new HashMap<>();
        boolean ended;
    }

    private final Map<Long, Set<Lease>> byInode = new ConcurrentHashMap<>();
    private final Map<ClientSession, Words> sessions = new ConcurrentHashMap<>();
    private final AtomicLong generations = new AtomicLong();
    private final LongAdder granted = new LongAdder();
    private final LongAdder revoked = new LongAdder();

    /**
     * A lease on inode {@code ino}, open as {@code clientHandle} of {@code s}, for the data a read is about to get:
     * the handle's lease if it still holds, else a new one; 0 (none) when every word of the session is taken.
     *
     * @return the lease as the answer carries it ({@link SlotDescriptor#lease(long, int)}), or 0
     */
    long grant(ClientSession s, long clientHandle, long ino) {
        Words w = sessions.computeIfAbsent(s, k -> new Words());
        synchronized (w) {
            if (w.ended) {
                return 0;
            }
            Lease held = w.byHandle.get(clientHandle);
            if (held != null && held.ino() == ino && w.byWord[held.word()] == held) {
                return SlotDescriptor.lease(held.generation(), held.word());
            }
            if (held != null) {
                drop(w, held);
            }
            int word = freeWord(w);
            if (word < 0) {
                return 0;
            }
            Lease lease = new Lease(s, clientHandle, ino, word, generations.incrementAndGet());
            w.byWord[word] = lease;
            w.byHandle.put(clientHandle, lease);
            ChannelHeaderDescriptor.leaseWord(s.segment, word, lease.generation());
            byInode.compute(ino, (k, set) -> {
                Set<Lease> leases = set == null ? new HashSet<>() : set;
                leases.add(lease);
                return leases;
            });
            granted.increment();
            return SlotDescriptor.lease(lease.generation(), word);
        }
    }

    /** Inode {@code ino}'s data or attributes changed: every lease on it ends before the changing call returns. */
    @Override
    public void changed(long ino) {
        if (byInode.isEmpty()) {
            return; // the common case on the write path: no lease anywhere, and no boxed key for the lookup
        }
        Set<Lease> leases = byInode.remove(ino);
        if (leases == null) {
            return;
        }
        for (Lease l : leases) {
            Words w = sessions.get(l.session());
            if (w != null) {
                synchronized (w) {
                    if (!w.ended && w.byWord[l.word()] == l) {
                        end(w, l);
                        revoked.increment();
                    }
                }
            }
        }
    }

    /** Names do not matter to a lease: it covers an open file's data. */
    @Override
    public void removed(long dirIno, String name) {}

    @Override
    public void renamed(
            long fromDirIno, String fromName, long toDirIno, String toName, boolean directory, boolean exchange) {}

    /** Handle {@code clientHandle} of {@code s} was closed: its lease ends. */
    void released(ClientSession s, long clientHandle) {
        Words w = sessions.get(s);
        if (w == null) {
            return;
        }
        synchronized (w) {
            Lease l = w.byHandle.get(clientHandle);
            if (l != null) {
                drop(w, l);
            }
        }
    }

    /** Session {@code s} ended: its leases go (its segment may be unmapped next, so its words are not touched). */
    void sessionEnded(ClientSession s) {
        Words w = sessions.remove(s);
        if (w == null) {
            return;
        }
        synchronized (w) {
            w.ended = true;
            for (Lease l : List.copyOf(w.byHandle.values())) {
                unlist(l);
            }
            w.byHandle.clear();
        }
    }

    /**
     * Ends every lease: the file system is being replaced (its successor does not know whom to tell of changes) or
     * this server hands its clients to the next version, which starts with none.
     */
    void revokeAll() {
        for (Map.Entry<ClientSession, Words> e : sessions.entrySet()) {
            Words w = e.getValue();
            synchronized (w) {
                for (Lease l : new ArrayList<>(w.byHandle.values())) {
                    if (!w.ended) {
                        drop(w, l);
                        revoked.increment();
                    }
                }
            }
        }
    }

    /** Leases granted since start. */
    long granted() {
        return granted.sum();
    }

    /** Leases ended by a change of their file or a change of file system, since start. */
    long revoked() {
        return revoked.sum();
    }

    /** Leases held now. */
    int held() {
        int n = 0;
        for (Words w : sessions.values()) {
            synchronized (w) {
                n += w.byHandle.size();
            }
        }
        return n;
    }

    /** Caller holds {@code w}: ends {@code l} and takes it off its inode's list. */
    private void drop(Words w, Lease l) {
        end(w, l);
        unlist(l);
    }

    /**
     * Caller holds {@code w}, whose session has not ended: clears {@code l}'s word, so the client stops answering from
     * its copy.
     */
    private static void end(Words w, Lease l) {
        if (w.byWord[l.word()] == l) {
            w.byWord[l.word()] = null;
            try {
                ChannelHeaderDescriptor.leaseWord(l.session().segment, l.word(), 0L);
            } catch (IllegalStateException unmapped) {
                // The segment went with its session: nobody reads the word any more.
            }
        }
        w.byHandle.remove(l.clientHandle(), l);
    }

    private void unlist(Lease l) {
        byInode.computeIfPresent(l.ino(), (k, set) -> {
            set.remove(l);
            return set.isEmpty() ? null : set;
        });
    }

    private static int freeWord(Words w) {
        for (int i = 0; i < w.byWord.length; i++) {
            if (w.byWord[i] == null) {
                return i;
            }
        }
        return -1;
    }
}
