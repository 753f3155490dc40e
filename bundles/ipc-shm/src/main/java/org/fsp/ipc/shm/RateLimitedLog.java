package org.fsp.ipc.shm;

import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * One log line per kind of event per interval, however often the event happens: what a hostile client can trigger at
 * will (refused hellos, dropped connections, a full descriptor table) must not flood the log. The first event of a
 * kind is logged at once; later ones within {@code intervalNanos} are only counted, and the next line of that kind
 * says how many there were. Every event is counted in {@link #count} whether logged or not, for the shell.
 *
 * <p>A typical sequence is: {@code log.warn("hello-timeout", "dropped {} ...", fd)} at each event, {@link #counts()}
 * for {@code fsp:clients}. Thread-safe.
 */
final class RateLimitedLog {

    /** Default interval between two lines of one kind: 10 s. */
    static final long DEFAULT_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final class Kind {
        final AtomicLong total = new AtomicLong();
        final AtomicLong suppressed = new AtomicLong();
        /** nanoTime before which lines of this kind are suppressed; Long.MIN_VALUE before the first. */
        final AtomicLong quietUntil = new AtomicLong(Long.MIN_VALUE);
    }

    private final Logger log;
    private final long intervalNanos;
    private final LongSupplier clock;
    private final ConcurrentHashMap<String, Kind> kinds = new ConcurrentHashMap<>();

    RateLimitedLog(Logger log) {
        this(log, DEFAULT_INTERVAL_NANOS, System::nanoTime);
    }

    /** With an injected clock ({@code nanoTime}-like), for tests. */
    RateLimitedLog(Logger log, long intervalNanos, LongSupplier clock) {
        this.log = log;
        this.intervalNanos = intervalNanos;
        this.clock = clock;
    }

    /**
     * Counts an event of {@code kind} and logs it at WARN unless a line of that kind was logged less than the interval
     * ago; returns whether it logged. The line ends with how many events of the kind went unlogged since the last one.
     */
    boolean warn(String kind, String format, Object... args) {
        Kind k = kinds.computeIfAbsent(kind, x -> new Kind());
        k.total.incrementAndGet();
        long now = clock.getAsLong();
        long until = k.quietUntil.get();
        if ((until != Long.MIN_VALUE && now - until < 0) || !k.quietUntil.compareAndSet(until, now + intervalNanos)) {
            k.suppressed.incrementAndGet();
            return false;
        }
        long unlogged = k.suppressed.getAndSet(0);
        String line = "[" + kind + "] " + format
                + (unlogged > 0 ? " (and " + unlogged + " more since the last line of this kind)" : "");
        log.warn(line, args);
        return true;
    }

    /** Events of {@code kind} so far, logged or not. */
    long count(String kind) {
        Kind k = kinds.get(kind);
        return k == null ? 0 : k.total.get();
    }

    /** Events per kind so far, kinds in name order. */
    SortedMap<String, Long> counts() {
        TreeMap<String, Long> out = new TreeMap<>();
        kinds.forEach((name, k) -> out.put(name, k.total.get()));
        return out;
    }
}
