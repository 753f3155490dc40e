package org.fsp.client.nio;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.Watchable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.FileAttributes;

/**
 * A {@link WatchService} that polls: every {@link #POLL_MILLIS} (system property {@code fsp.watch.pollMillis}) a thread
 * of its own lists each watched directory and compares it with the last listing, as the platform's own
 * {@code PollingWatchService} does where the kernel gives no notifications. A name that appears is ENTRY_CREATE, one
 * that goes ENTRY_DELETE, and one whose inode, size, modification or change time differs ENTRY_MODIFY (only stat'ed
 * when ENTRY_MODIFY is asked for, or when the directory itself changed). A change undone within one interval is not
 * seen; a watched directory that goes away cancels its key, as on the platform.
 *
 * <p>Why polling and not fs-core's change notifications: those reach in-process listeners (the FUSE mount) but the
 * channel carries no server-to-client messages yet, and a directory listing is a handful of requests over shared
 * memory, without a system call.
 */
final class FspWatchService implements WatchService {

    /** Milliseconds between two listings of the watched directories. */
    static final long POLL_MILLIS = Long.getLong("fsp.watch.pollMillis", 250);

    /** Events a key holds before it says OVERFLOW instead (the platform's bound). */
    private static final int MAX_EVENTS = 512;

    private static final int READDIR_BATCH = 1024;

    final FspFileSystem fs;
    private final LinkedBlockingDeque<Key> signalled = new LinkedBlockingDeque<>();
    /** Guarded by this. */
    private final Map<String, Key> keys = new HashMap<>();

    private final Thread poller;
    private volatile boolean open = true;
    /** Put on {@link #signalled} by close so that waiters wake and see the service closed. */
    private final Key closedMarker;

    FspWatchService(FspFileSystem fs) {
        this.fs = fs;
        this.closedMarker = new Key(this, null, Set.of(), Map.of());
        this.poller = Thread.ofPlatform().daemon().name("fsp-watch").start(this::pollLoop);
    }

    /** What is known of one name in a directory. */
    private record Entry(long ino, long size, long mtimeNanos, long ctimeNanos) {}

    /** Registers {@code dir} for {@code kinds}; the same directory again gets its key back with the new kinds. */
    WatchKey register(FspPath dir, WatchEvent.Kind<?>[] kinds, WatchEvent.Modifier... modifiers) throws IOException {
        checkOpen();
        Set<WatchEvent.Kind<?>> wanted = new HashSet<>();
        for (WatchEvent.Kind<?> k : kinds) {
            if (k == ENTRY_CREATE || k == ENTRY_DELETE || k == ENTRY_MODIFY) {
                wanted.add(k);
            } else if (k != OVERFLOW) {
                throw new UnsupportedOperationException("event kind " + k.name());
            }
        }
        for (WatchEvent.Modifier m : modifiers) {
            // The platform's sensitivity modifiers (com.sun.nio.file) only tune polling; anything else is unknown.
            if (!m.getClass().getName().equals("com.sun.nio.file.SensitivityWatchEventModifier")) {
                throw new UnsupportedOperationException("watch modifier " + m.name());
            }
        }
        String path = dir.fspPath();
        FileAttributes a = fs.ops().stat(path, true);
        if (!a.isDirectory()) {
            throw new NotDirectoryException(dir.toString());
        }
        Map<String, Entry> snapshot = list(path, wanted.contains(ENTRY_MODIFY));
        synchronized (this) {
            Key k = keys.get(path);
            if (k != null && k.valid) {
                k.kinds = Set.copyOf(wanted);
                k.snapshot = snapshot;
                k.dirStat = a;
                return k;
            }
            k = new Key(this, dir, wanted, snapshot);
            k.dirStat = a;
            keys.put(path, k);
            return k;
        }
    }

    private Map<String, Entry> list(String dir, boolean statEach) throws IOException {
        Map<String, Entry> entries = new HashMap<>();
        long cookie = 0;
        while (true) {
            List<DirEntry> page = fs.ops().readdir(dir, cookie, READDIR_BATCH);
            if (page.isEmpty()) {
                return entries;
            }
            for (DirEntry e : page) {
                Entry known = new Entry(e.ino(), -1, 0, 0);
                if (statEach) {
                    try {
                        FileAttributes a =
                                fs.ops().stat(dir.equals("/") ? "/" + e.name() : dir + "/" + e.name(), false);
                        known = new Entry(a.ino(), a.size(), a.mtimeNanos(), a.ctimeNanos());
                    } catch (NoSuchFileException gone) {
                        continue;
                    }
                }
                entries.put(e.name(), known);
                cookie = e.cookie();
            }
        }
    }

    private void pollLoop() {
        while (open) {
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            List<Key> all;
            synchronized (this) {
                all = new ArrayList<>(keys.values());
            }
            for (Key k : all) {
                if (!open || !fs.isOpen()) {
                    return;
                }
                poll(k);
            }
        }
    }

    /** Lists one key's directory and queues what changed since the last listing. */
    private void poll(Key k) {
        if (!k.valid) {
            return;
        }
        String path = k.dir.fspPath();
        Map<String, Entry> now;
        try {
            FileAttributes a = fs.ops().stat(path, true);
            boolean modify = k.kinds.contains(ENTRY_MODIFY);
            if (!modify && a.equals(k.dirStat)) {
                // Names come and go only with a change of the directory's own times.
                return;
            }
            if (!a.isDirectory() || a.ino() != k.dirStat.ino()) {
                throw new NoSuchFileException(path);
            }
            k.dirStat = a;
            now = list(path, modify);
        } catch (IOException | RuntimeException e) {
            // The directory is gone (or the file system closed): the key is cancelled and signalled, as on Linux.
            k.cancelled();
            return;
        }
        Map<String, Entry> before = k.snapshot;
        for (Map.Entry<String, Entry> e : now.entrySet()) {
            Entry old = before.get(e.getKey());
            if (old == null) {
                k.add(ENTRY_CREATE, e.getKey());
            } else if (!old.equals(e.getValue())) {
                k.add(ENTRY_MODIFY, e.getKey());
            }
        }
        for (String name : before.keySet()) {
            if (!now.containsKey(name)) {
                k.add(ENTRY_DELETE, name);
            }
        }
        k.snapshot = now;
    }

    private void checkOpen() {
        if (!open) {
            throw new ClosedWatchServiceException();
        }
    }

    private synchronized void forget(Key k) {
        keys.remove(k.dir.fspPath(), k);
    }

    @Override
    public void close() {
        if (!open) {
            return;
        }
        open = false;
        poller.interrupt();
        List<Key> all;
        synchronized (this) {
            all = new ArrayList<>(keys.values());
            keys.clear();
        }
        for (Key k : all) {
            k.valid = false;
        }
        signalled.clear();
        signalled.add(closedMarker);
    }

    private Key checked(Key k) {
        if (k == closedMarker || !open) {
            signalled.remove(closedMarker);
            signalled.add(closedMarker);
            throw new ClosedWatchServiceException();
        }
        return k;
    }

    @Override
    public WatchKey poll() {
        checkOpen();
        Key k = signalled.poll();
        return k == null ? null : checked(k);
    }

    @Override
    public WatchKey poll(long timeout, TimeUnit unit) throws InterruptedException {
        checkOpen();
        Key k = signalled.poll(timeout, unit);
        return k == null ? null : checked(k);
    }

    @Override
    public WatchKey take() throws InterruptedException {
        checkOpen();
        return checked(signalled.take());
    }

    /** One watched directory: READY until an event signals it, then SIGNALLED until {@link #reset}. */
    private static final class Key implements WatchKey {
        private final FspWatchService service;
        private final FspPath dir;
        volatile Set<WatchEvent.Kind<?>> kinds;
        volatile Map<String, Entry> snapshot;
        volatile FileAttributes dirStat;
        volatile boolean valid = true;
        /** Guarded by this. */
        private List<WatchEvent<?>> events = new ArrayList<>();

        private boolean signalled;

        Key(FspWatchService service, FspPath dir, Set<WatchEvent.Kind<?>> kinds, Map<String, Entry> snapshot) {
            this.service = service;
            this.dir = dir;
            this.kinds = Set.copyOf(kinds);
            this.snapshot = snapshot;
        }

        synchronized void add(WatchEvent.Kind<Path> kind, String name) {
            if (!kinds.contains(kind)) {
                return;
            }
            Path context = dir.getFileSystem().getPath(name);
            if (events.size() >= MAX_EVENTS) {
                if (events.getLast().kind() != OVERFLOW) {
                    events.add(new Event<>(OVERFLOW, null));
                }
            } else {
                for (WatchEvent<?> e : events) {
                    if (e.kind() == kind
                            && kind == ENTRY_MODIFY
                            && context.equals(e.context())
                            && e instanceof Event<?> m) {
                        m.count++;
                        signal();
                        return;
                    }
                }
                events.add(new Event<>(kind, context));
            }
            signal();
        }

        /** Under this. */
        private void signal() {
            if (!signalled) {
                signalled = true;
                service.signalled.add(this);
            }
        }

        synchronized void cancelled() {
            if (valid) {
                valid = false;
                service.forget(this);
                signal();
            }
        }

        @Override
        public boolean isValid() {
            return valid && service.open;
        }

        @Override
        public synchronized List<WatchEvent<?>> pollEvents() {
            List<WatchEvent<?>> out = events;
            events = new ArrayList<>();
            return out;
        }

        @Override
        public synchronized boolean reset() {
            if (!isValid()) {
                return false;
            }
            if (signalled) {
                if (events.isEmpty()) {
                    signalled = false;
                } else {
                    service.signalled.add(this);
                }
            }
            return true;
        }

        @Override
        public void cancel() {
            if (valid) {
                valid = false;
                service.forget(this);
            }
        }

        @Override
        public Watchable watchable() {
            return dir;
        }
    }

    private static final class Event<T> implements WatchEvent<T> {
        private final Kind<T> kind;
        private final T context;
        int count = 1;

        Event(Kind<T> kind, T context) {
            this.kind = kind;
            this.context = context;
        }

        @Override
        public Kind<T> kind() {
            return kind;
        }

        @Override
        public int count() {
            return count;
        }

        @Override
        public T context() {
            return context;
        }

        @Override
        public String toString() {
            return kind.name() + ": " + context;
        }
    }
}
