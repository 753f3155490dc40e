package org.fsp.client.nio;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.Watchable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;

/**
 * The default file system's watch service in default-provider mode: directories under the FSP prefix are watched by
 * an {@link FspWatchService}, all others by the platform's, and the keys of both come out of this one service with
 * the routed directory as their watchable and routed names as their events' contexts. A forwarding thread per
 * underlying service moves its signalled keys here.
 */
final class RoutingWatchService implements WatchService {

    private final RoutingFileSystem fs;
    private final WatchService platform;
    /** Made on the first FSP directory registered; guarded by this. */
    private WatchService fsp;

    private final LinkedBlockingDeque<WatchKey> ready = new LinkedBlockingDeque<>();
    private final Map<WatchKey, Key> keys = new ConcurrentHashMap<>();
    private final WatchKey closedMarker = new Key(null, null);
    private volatile boolean open = true;

    RoutingWatchService(RoutingFileSystem fs, WatchService platform) {
        this.fs = fs;
        this.platform = platform;
        forward(platform, "fsp-watch-platform");
    }

    private void forward(WatchService from, String name) {
        Thread.ofPlatform().daemon().name(name).start(() -> {
            while (open) {
                WatchKey k;
                try {
                    k = from.take();
                } catch (InterruptedException | ClosedWatchServiceException e) {
                    return;
                }
                Key routed = keys.get(k);
                if (routed != null) {
                    ready.add(routed);
                }
            }
        });
    }

    WatchKey register(RoutingPath dir, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers)
            throws IOException {
        if (!open) {
            throw new ClosedWatchServiceException();
        }
        String routed = fs.provider().route(dir);
        WatchKey k;
        if (routed == null) {
            k = dir.delegate.register(platform, events, modifiers);
        } else {
            FspFileSystem target = fs.provider().fsp();
            WatchService w;
            synchronized (this) {
                if (fsp == null) {
                    fsp = target.newWatchService();
                    forward(fsp, "fsp-watch-fsp");
                }
                w = fsp;
            }
            k = target.getPath(routed).register(w, events, modifiers);
        }
        return keys.computeIfAbsent(k, d -> new Key(d, dir));
    }

    static RoutingWatchService check(WatchService w) {
        if (w instanceof RoutingWatchService r) {
            return r;
        }
        throw new ProviderMismatchException("not a WatchService of the default file system: " + w);
    }

    private WatchKey checked(WatchKey k) {
        if (k == closedMarker || !open) {
            ready.remove(closedMarker);
            ready.add(closedMarker);
            throw new ClosedWatchServiceException();
        }
        return k;
    }

    @Override
    public WatchKey poll() {
        if (!open) {
            throw new ClosedWatchServiceException();
        }
        WatchKey k = ready.poll();
        return k == null ? null : checked(k);
    }

    @Override
    public WatchKey poll(long timeout, TimeUnit unit) throws InterruptedException {
        if (!open) {
            throw new ClosedWatchServiceException();
        }
        WatchKey k = ready.poll(timeout, unit);
        return k == null ? null : checked(k);
    }

    @Override
    public WatchKey take() throws InterruptedException {
        if (!open) {
            throw new ClosedWatchServiceException();
        }
        return checked(ready.take());
    }

    @Override
    public void close() throws IOException {
        if (!open) {
            return;
        }
        open = false;
        platform.close();
        synchronized (this) {
            if (fsp != null) {
                fsp.close();
            }
        }
        keys.clear();
        ready.clear();
        ready.add(closedMarker);
    }

    /** A key of an underlying service, showing the routed directory and routed names. */
    private final class Key implements WatchKey {
        private final WatchKey delegate;
        private final RoutingPath dir;

        Key(WatchKey delegate, RoutingPath dir) {
            this.delegate = delegate;
            this.dir = dir;
        }

        @Override
        public boolean isValid() {
            return open && delegate.isValid();
        }

        @Override
        public List<WatchEvent<?>> pollEvents() {
            List<WatchEvent<?>> out = new ArrayList<>();
            for (WatchEvent<?> e : delegate.pollEvents()) {
                Object c = e.context();
                out.add(new Event(e.kind(), c instanceof Path p ? fs.getPath(p.toString()) : c, e.count()));
            }
            return out;
        }

        @Override
        public boolean reset() {
            return open && delegate.reset();
        }

        @Override
        public void cancel() {
            delegate.cancel();
            keys.remove(delegate);
        }

        @Override
        public Watchable watchable() {
            return dir;
        }
    }

    private static final class Event implements WatchEvent<Object> {
        private final Kind<?> kind;
        private final Object context;
        private final int count;

        Event(Kind<?> kind, Object context, int count) {
            this.kind = kind;
            this.context = context;
            this.count = count;
        }

        @SuppressWarnings("unchecked")
        @Override
        public Kind<Object> kind() {
            return (Kind<Object>) kind;
        }

        @Override
        public int count() {
            return count;
        }

        @Override
        public Object context() {
            return context;
        }

        @Override
        public String toString() {
            return kind.name() + ": " + context;
        }
    }
}
