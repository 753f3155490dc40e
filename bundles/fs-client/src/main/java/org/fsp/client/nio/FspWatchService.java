package org.fsp.client.nio;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
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
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.client.ChangeEvents;
import org.fsp.client.FspClient;

/**
 * A {@link WatchService} told of changes by the server: each registered directory is a watch of FS Lib
 * ({@link FspClient#addWatch}), whose events fs-core's change listener sends through the channel's change-event ring,
 * as inotify does for the platform's service on Linux. No thread polls. A name made in the directory (create, mkdir,
 * link, symlink, a rename into it) is ENTRY_CREATE, one that goes (unlink, rmdir, a rename out of it) ENTRY_DELETE, a
 * rename within it both, and a change of the data or attributes of what a name refers to ENTRY_MODIFY (for a
 * subdirectory that includes a change of its entries, which touches its times).
 *
 * <p>OVERFLOW: when events may have been lost (the client's ring was full, the server forgot the watches at a
 * hand-over or a change of file system, or FS Lib reconnected to a restarted server), FS Lib registers the directory
 * again and the key gets an OVERFLOW event: whoever watches lists the directory again. A watched directory that goes
 * away, or that cannot be registered again, cancels its key and signals it, as on Linux.
 */
final class FspWatchService implements WatchService {

    /** Events a key holds before it says OVERFLOW instead (the platform's bound). */
    private static final int MAX_EVENTS = 512;

    final FspFileSystem fs;
    private final LinkedBlockingDeque<Key> signalled = new LinkedBlockingDeque<>();
    /** Guarded by this. */
    private final Map<String, Key> keys = new HashMap<>();

    private volatile boolean open = true;
    /** Put on {@link #signalled} by close so that waiters wake and see the service closed. */
    private final Key closedMarker;

    FspWatchService(FspFileSystem fs) {
        this.fs = fs;
        this.closedMarker = new Key(this, null, Set.of());
    }

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
        synchronized (this) {
            Key k = keys.get(path);
            if (k != null && k.valid) {
                k.kinds = Set.copyOf(wanted);
                return k;
            }
        }
        Key k = new Key(this, dir, wanted);
        // Not under this: FS Lib's event thread may be calling a key, which takes this to forget itself. The server
        // checks the path: ENOENT, ENOTDIR, EACCES, as the platform's register throws them.
        k.watchId = fs.client().addWatch(path, k);
        synchronized (this) {
            Key raced = keys.get(path);
            if (raced == null || !raced.valid) {
                keys.put(path, k);
                return k;
            }
            raced.kinds = Set.copyOf(wanted);
        }
        k.valid = false;
        k.unwatch();
        return keys.get(path);
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
        List<Key> all;
        synchronized (this) {
            all = new ArrayList<>(keys.values());
            keys.clear();
        }
        for (Key k : all) {
            k.valid = false;
            k.unwatch();
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

    /**
     * One watched directory: READY until an event signals it, then SIGNALLED until {@link #reset}. It is its watch's
     * sink: FS Lib's event thread calls it.
     */
    private static final class Key implements WatchKey, ChangeEvents.Sink {
        private final FspWatchService service;
        private final FspPath dir;
        volatile Set<WatchEvent.Kind<?>> kinds;
        volatile boolean valid = true;
        /** FS Lib's id of the watch; 0 before registration. */
        volatile int watchId;
        /** Guarded by this. */
        private List<WatchEvent<?>> events = new ArrayList<>();

        private boolean signalled;

        Key(FspWatchService service, FspPath dir, Set<WatchEvent.Kind<?>> kinds) {
            this.service = service;
            this.dir = dir;
            this.kinds = Set.copyOf(kinds);
        }

        @Override
        public void event(int kind, String name) {
            switch (kind) {
                case ChangeEventsDescriptor.CREATE -> add(ENTRY_CREATE, name);
                case ChangeEventsDescriptor.DELETE -> add(ENTRY_DELETE, name);
                case ChangeEventsDescriptor.MODIFY -> add(ENTRY_MODIFY, name);
                default -> {
                    // A kind of a newer server: nothing this key reports.
                }
            }
        }

        @Override
        public synchronized void overflow() {
            if (!valid) {
                return;
            }
            if (events.isEmpty() || events.getLast().kind() != OVERFLOW) {
                events.add(new Event<>(OVERFLOW, null));
            }
            signal();
        }

        @Override
        public void gone() {
            cancelled();
        }

        /** Ends the server's watch (nothing if it ended already). */
        void unwatch() {
            int id = watchId;
            if (id != 0) {
                try {
                    service.fs.client().removeWatch(id);
                } catch (IOException e) {
                    // The connection is closing or gone: the watch goes with it.
                }
            }
        }

        synchronized void add(WatchEvent.Kind<Path> kind, String name) {
            if (!valid || !kinds.contains(kind)) {
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
                unwatch();
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
