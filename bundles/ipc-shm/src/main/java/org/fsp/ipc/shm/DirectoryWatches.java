package org.fsp.ipc.shm;

import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.api.fs.ChangeListener;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.linux.Futex;
import org.fsp.linux.NativeException;
import org.jctools.maps.NonBlockingHashMapLong;

/**
 * The directory watches of every client of one server (channel minor 3, see {@link ChangeEventsDescriptor}): what
 * inotify is to a kernel file system, so that FS Lib's {@code WatchService} is told of changes instead of polling.
 *
 * <p>A typical sequence is: a WATCH_ADD {@link #add}s a watch (it is listed under its directory's inode first, then
 * the directory is read, so that no change between the two is missed); the file system tells this listener of every
 * change ({@link #created}, {@link #removed}, {@link #renamed}, {@link #changed}), which keeps each watch's names with
 * their inodes and appends CREATE, DELETE, MODIFY or GONE records to the watching session's ring, waking the client if
 * it sleeps; WATCH_REMOVE {@link #remove}s it; the client's end ({@link #sessionEnded}) drops its watches without
 * touching its segment; a change of file system or an ipc-shm hand-over ({@link #forgetAll}) drops them all and bumps
 * each session's epoch, after which the client registers again.
 *
 * <p>MODIFY: {@link #changed}{@code (ino)} becomes one event per name the inode has in a watched directory (a file with
 * hard links in two watched directories: one in each). Consecutive MODIFYs of one name that the client has not read
 * yet are one record, as inotify merges them, so that a stream of writes does not fill the ring.
 *
 * <p>Thread safety: listener calls come from the changing operations' threads, adds and removes from lane workers. The
 * watch tables are guarded by this object; a session's ring by its {@link Ring} (lock order: this, then a ring).
 * Listener calls are quick, never block and never call into the file system; {@link #changed}, which runs on every
 * write, returns without a lock when no watch names the inode.
 */
final class DirectoryWatches implements ChangeListener {

    /** Watches one session may hold (inotify's max_user_watches is per user; this bounds what one client costs). */
    static final int MAX_WATCHES_PER_SESSION = 1024;

    private static final int READDIR_BATCH = 1024;

    /** One session's ring: where its events go, the trusted head, and its watches by id. */
    static final class Ring {
        final ClientSession session;
        /** Offset of the session's change-event area in its segment. */
        final long area;

        final int capacity;
        /** Bytes ever written; the server's own copy, never read back from shared memory after the first use. */
        long head;
        /** Watches by id; under {@link DirectoryWatches}. */
        final Map<Integer, Watch> watches = new HashMap<>();
        /** Under {@link DirectoryWatches}. */
        int nextId = 1;
        /** The last record, for merging MODIFYs of one name the client has not read yet; -1: none. */
        long lastStart = -1;

        int lastWatch;
        String lastName;

        Ring(ClientSession session) {
            this.session = session;
            this.area = session.eventArea;
            this.capacity = session.eventRingBytes;
            // A session adopted from a predecessor goes on where it stopped; any value is safe, positions are masked.
            this.head = ChangeEventsDescriptor.head(session.segment, area) & -ChangeEventsDescriptor.RECORD_ALIGNMENT;
        }
    }

    /** One watch: a directory of one session, with its names and their inodes. */
    static final class Watch {
        final Ring ring;
        final int id;
        final long dirIno;
        final Map<String, Long> names = new HashMap<>();
        /** The names of each inode in the directory (hard links: several). */
        final Map<Long, List<String>> namesOf = new HashMap<>();
        /** While the directory is being read: names an event touched meanwhile, which the listing must not revive. */
        Set<String> touchedWhileFilling = new HashSet<>();

        boolean dropped;

        Watch(Ring ring, int id, long dirIno) {
            this.ring = ring;
            this.id = id;
            this.dirIno = dirIno;
        }
    }

    private final Map<ClientSession, Ring> rings = new HashMap<>();
    private final Map<Long, List<Watch>> byDir = new HashMap<>();
    /**
     * Child inode to the watches whose directory holds it. Changed under this; read without the lock by
     * {@link #changed}, so that a write to a file no watch names takes no lock and boxes no key.
     */
    private final NonBlockingHashMapLong<Set<Watch>> byChild = new NonBlockingHashMapLong<>();
    /** Watches held now; read without the lock by {@link #changed}. */
    private volatile int watchCount;
    /** The file system whose changes this hears of (set by the server), or null. */
    private volatile FileSystemService source;

    private final LongAdder eventsSent = new LongAdder();
    private final LongAdder overflows = new LongAdder();

    /** The server made {@code fs} (or none) the file system that tells this of changes. */
    void listeningTo(FileSystemService fs) {
        source = fs;
    }

    /**
     * Watches directory {@code path} for {@code s}: returns the watch id (the same id for a directory it watches
     * already). Runs on a lane worker, not in a listener call, so it may read the directory.
     */
    int add(ClientSession s, FileSystemService fs, Credentials who, String path) throws FsException {
        if (s.eventArea < 0 || !fs.publishesChanges() || fs != source) {
            throw new FsException(Errno.EOPNOTSUPP, "no change events for this session");
        }
        FileAttributes a = fs.stat(who, path);
        if (!a.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, path);
        }
        fs.access(who, path, FileSystemService.R_OK);
        Watch w;
        synchronized (this) {
            Ring r = rings.get(s);
            if (r == null) {
                if (!s.isOpen()) {
                    throw new FsException(Errno.EBADF, "client gone");
                }
                r = new Ring(s);
                rings.put(s, r);
            }
            for (Watch held : r.watches.values()) {
                if (held.dirIno == a.ino()) {
                    return held.id;
                }
            }
            if (r.watches.size() >= MAX_WATCHES_PER_SESSION) {
                throw new FsException(Errno.ENOSPC, "watches of this client");
            }
            int id = r.nextId++;
            w = new Watch(r, id, a.ino());
            r.watches.put(id, w);
            byDir.computeIfAbsent(a.ino(), k -> new ArrayList<>(1)).add(w);
            watchCount++;
        }
        // Listed before the directory is read: a change from here on reaches the watch, and the listing below does not
        // bring back a name such a change removed.
        List<DirEntry> entries = new ArrayList<>();
        try {
            long cookie = 0;
            while (true) {
                List<DirEntry> page = fs.readdir(who, path, cookie, READDIR_BATCH);
                if (page.isEmpty()) {
                    break;
                }
                entries.addAll(page);
                cookie = page.getLast().cookie();
            }
        } catch (FsException | RuntimeException e) {
            synchronized (this) {
                drop(w);
            }
            throw e;
        }
        synchronized (this) {
            if (!w.dropped) {
                for (DirEntry e : entries) {
                    if (!e.name().equals(".") && !e.name().equals("..") && !w.touchedWhileFilling.contains(e.name())) {
                        put(w, e.name(), e.ino());
                    }
                }
                w.touchedWhileFilling = null;
            }
        }
        return w.id;
    }

    /** Ends watch {@code id} of {@code s}: EINVAL if it has none of that id. */
    synchronized void remove(ClientSession s, long id) throws FsException {
        Ring r = rings.get(s);
        Watch w = r == null || id <= 0 || id > Integer.MAX_VALUE ? null : r.watches.get((int) id);
        if (w == null) {
            throw new FsException(Errno.EINVAL, "watch " + id);
        }
        drop(w);
    }

    /** Session {@code s} ended: its watches go (its segment may be unmapped next, so it is not touched). */
    synchronized void sessionEnded(ClientSession s) {
        Ring r = rings.remove(s);
        if (r != null) {
            for (Watch w : List.copyOf(r.watches.values())) {
                drop(w);
            }
        }
    }

    /**
     * Drops every watch and bumps each live session's epoch, waking it: the file system is being replaced (its
     * successor would not tell of changes to these directories) or this server hands its clients to the next version,
     * which starts with none. The clients register again.
     */
    synchronized void forgetAll() {
        for (Ring r : rings.values()) {
            for (Watch w : List.copyOf(r.watches.values())) {
                drop(w);
            }
            synchronized (r) {
                try {
                    ChangeEventsDescriptor.bumpEpoch(r.session.segment, r.area);
                    wakeIfWaiting(r);
                } catch (IllegalStateException unmapped) {
                    // The session went meanwhile: nobody reads its ring.
                }
            }
        }
        rings.clear();
    }

    @Override
    public void created(long dirIno, String name) {}

    @Override
    public void created(long dirIno, String name, long ino) {
        if (watchCount == 0) {
            return;
        }
        synchronized (this) {
            for (Watch w : watchesOf(dirIno)) {
                removeName(w, name);
                put(w, name, ino);
                touched(w, name);
                append(w, ChangeEventsDescriptor.CREATE, name);
            }
        }
    }

    @Override
    public void removed(long dirIno, String name) {}

    @Override
    public void removed(long dirIno, String name, long ino) {
        if (watchCount == 0) {
            return;
        }
        synchronized (this) {
            for (Watch w : watchesOf(dirIno)) {
                removeName(w, name);
                touched(w, name);
                append(w, ChangeEventsDescriptor.DELETE, name);
            }
            // rmdir of a watched directory: its watches end, as inotify's IN_IGNORED after IN_DELETE_SELF.
            for (Watch w : watchesOf(ino)) {
                append(w, ChangeEventsDescriptor.GONE, "");
                drop(w);
            }
        }
    }

    @Override
    public void renamed(
            long fromDirIno, String fromName, long toDirIno, String toName, boolean directory, boolean exchange) {}

    /** A rename is a DELETE of the old name and a CREATE of the new one, as inotify's MOVED_FROM and MOVED_TO. */
    @Override
    public void renamed(
            long fromDirIno,
            String fromName,
            long toDirIno,
            String toName,
            boolean directory,
            boolean exchange,
            long movedIno,
            long exchangedIno) {
        if (watchCount == 0) {
            return;
        }
        synchronized (this) {
            for (Watch w : watchesOf(fromDirIno)) {
                removeName(w, fromName);
                touched(w, fromName);
                append(w, ChangeEventsDescriptor.DELETE, fromName);
                if (exchange) {
                    put(w, fromName, exchangedIno);
                    append(w, ChangeEventsDescriptor.CREATE, fromName);
                }
            }
            for (Watch w : watchesOf(toDirIno)) {
                if (exchange) {
                    removeName(w, toName);
                    append(w, ChangeEventsDescriptor.DELETE, toName);
                } else {
                    removeName(w, toName);
                }
                put(w, toName, movedIno);
                touched(w, toName);
                append(w, ChangeEventsDescriptor.CREATE, toName);
            }
        }
    }

    /** Inode {@code ino} changed: a MODIFY for each name it has in a watched directory. */
    @Override
    public void changed(long ino) {
        if (watchCount == 0 || !byChild.containsKey(ino)) {
            return; // the common case on the write path: no watch names the inode (no lock, no boxed key)
        }
        synchronized (this) {
            Set<Watch> ws = byChild.get(ino);
            if (ws == null) {
                return;
            }
            for (Watch w : ws) {
                List<String> names = w.namesOf.get(ino);
                if (names != null) {
                    for (String name : names) {
                        append(w, ChangeEventsDescriptor.MODIFY, name);
                    }
                }
            }
        }
    }

    /** Watches held now. */
    int held() {
        return watchCount;
    }

    /** Records written to clients' rings since start. */
    long eventsSent() {
        return eventsSent.sum();
    }

    /** Events that did not fit into a client's ring (each an OVERFLOW for that client), since start. */
    long overflows() {
        return overflows.sum();
    }

    private List<Watch> watchesOf(long dirIno) {
        List<Watch> ws = byDir.get(dirIno);
        return ws == null ? List.of() : List.copyOf(ws);
    }

    private static void touched(Watch w, String name) {
        if (w.touchedWhileFilling != null) {
            w.touchedWhileFilling.add(name);
        }
    }

    /** Under this. */
    private void put(Watch w, String name, long ino) {
        w.names.put(name, ino);
        w.namesOf.computeIfAbsent(ino, k -> new ArrayList<>(1)).add(name);
        Set<Watch> ws = byChild.get(ino);
        if (ws == null) {
            ws = new HashSet<>();
            byChild.put(ino, ws);
        }
        ws.add(w);
    }

    /** Under this. */
    private void removeName(Watch w, String name) {
        Long ino = w.names.remove(name);
        if (ino == null) {
            return;
        }
        List<String> names = w.namesOf.get(ino);
        if (names != null) {
            names.remove(name);
            if (names.isEmpty()) {
                w.namesOf.remove(ino);
                Set<Watch> ws = byChild.get(ino);
                if (ws != null) {
                    ws.remove(w);
                    if (ws.isEmpty()) {
                        byChild.remove(ino);
                    }
                }
            }
        }
    }

    /** Under this: ends {@code w} and takes it off every index. */
    private void drop(Watch w) {
        if (w.dropped) {
            return;
        }
        w.dropped = true;
        w.ring.watches.remove(w.id, w);
        List<Watch> ws = byDir.get(w.dirIno);
        if (ws != null) {
            ws.remove(w);
            if (ws.isEmpty()) {
                byDir.remove(w.dirIno);
            }
        }
        for (String name : List.copyOf(w.names.keySet())) {
            removeName(w, name);
        }
        watchCount--;
    }

    /** Under this: appends one record for {@code w} to its session's ring, or marks an overflow. */
    private void append(Watch w, int kind, String name) {
        Ring r = w.ring;
        synchronized (r) {
            try {
                if (append(r, w.id, kind, name)) {
                    eventsSent.increment();
                } else {
                    overflows.increment();
                }
                wakeIfWaiting(r);
            } catch (IllegalStateException unmapped) {
                // The session is being released (its arena closed): its watches go with it.
            }
        }
    }

    /**
     * Caller holds {@code r}: writes one record and publishes the head, or sets the overflow word (false) when it does
     * not fit: the ring is full, or the client's tail is impossible. Package-private for the ring's own test.
     */
    static boolean append(Ring r, int watchId, int kind, String name) {
        var seg = r.session.segment;
        long tail = ChangeEventsDescriptor.tail(seg, r.area);
        long used = r.head - tail;
        if (kind == ChangeEventsDescriptor.MODIFY
                && r.lastStart >= 0
                && tail <= r.lastStart
                && used >= 0
                && used <= r.capacity
                && r.lastWatch == watchId
                && name.equals(r.lastName)) {
            return true; // the same MODIFY is still unread: one is enough
        }
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > ChangeEventsDescriptor.MAX_NAME_BYTES) {
            ChangeEventsDescriptor.setOverflow(seg, r.area);
            return false;
        }
        int need = ChangeEventsDescriptor.recordBytes(bytes.length);
        int at = (int) (r.head & (r.capacity - 1));
        int toEnd = r.capacity - at;
        int padding = need > toEnd ? toEnd : 0;
        // The tail is the client's: one behind a whole ring or ahead of the head counts as a full ring.
        if (used < 0 || used > r.capacity || used + padding + need > r.capacity) {
            ChangeEventsDescriptor.setOverflow(seg, r.area);
            r.lastStart = -1;
            return false;
        }
        if (padding > 0) {
            ChangeEventsDescriptor.putPadding(seg, r.area, at, padding);
            r.head += padding;
            at = 0;
        }
        r.lastStart = kind == ChangeEventsDescriptor.MODIFY ? r.head : -1;
        r.lastWatch = watchId;
        r.lastName = name;
        r.head += ChangeEventsDescriptor.putRecord(seg, r.area, at, watchId, kind, bytes);
        // The record is written before the head that covers it is published.
        ChangeEventsDescriptor.head(seg, r.area, r.head);
        return true;
    }

    /**
     * Caller holds {@code r}: the server's half of the Dekker pair: the head (or overflow, or epoch) is published,
     * fence, then the client's waiting word; if it sleeps, bump the sequence it sleeps on and wake it.
     */
    static void wakeIfWaiting(Ring r) {
        VarHandle.fullFence();
        var seg = r.session.segment;
        if (ChangeEventsDescriptor.waiting(seg, r.area)) {
            ChangeEventsDescriptor.bumpWakeSequence(seg, r.area);
            try {
                Futex.wake(ChangeEventsDescriptor.wakeWord(seg, r.area), Integer.MAX_VALUE, false);
            } catch (NativeException e) {
                // The segment is going away; the client's own time-out covers a lost wake.
            }
        }
    }
}
