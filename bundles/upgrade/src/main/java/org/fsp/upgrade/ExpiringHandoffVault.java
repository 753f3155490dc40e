package org.fsp.upgrade;

import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.Layer;
import org.fsp.api.handoff.LayerState;
import org.fsp.linux.Libc;
import org.osgi.framework.Bundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link HandoffVault} without its OSGi wiring: one deposit per layer, who claimed it, expiry, and the pauses the
 * layers reported. {@link HandoffVaultComponent} publishes it and feeds it bundle events and the clock ticks.
 *
 * <p>A typical sequence is: the old version of a layer stops and {@link #deposit deposits}; the new version activates
 * and {@link #take takes} the state, which is now claimed by its bundle; the layer above reports the pause with
 * {@link #pauseObserved}; after the expiry time {@link #expire} drops the claimed deposit (the new version owns what it
 * holds). When the new version fails and is stopped without depositing, {@link #claimerStopped} makes the deposit
 * unclaimed again and the old version, started again, takes the same state.
 *
 * <p>A deposit nobody takes (or nobody takes again after its claimer stopped) within the expiry time is released: its
 * descriptors are closed with close(2) and its arenas closed, so that a layer removed for good leaks nothing. A
 * deposit replaced by a newer one of the same layer before anyone took it is released the same way, except for the
 * descriptors and arenas the newer one carries on.
 *
 * <p>Thread-safe: every method holds this object's monitor, which is also what {@link #awaitPause} and
 * {@link #awaitDeposit} wait on.
 */
final class ExpiringHandoffVault implements HandoffVault {

    private static final Logger LOG = LoggerFactory.getLogger(ExpiringHandoffVault.class);

    /** Pauses kept per layer for {@code fsp:upgrades} and the status section. */
    static final int PAUSE_HISTORY = 256;

    /** One pause a layer above reported: {@code sequence} orders reports across layers. */
    record Pause(long sequence, Layer layer, long pauseNanos, long atMillis) {}

    /** A deposit: the state, since when it is in its current claim state, and who claimed it (null: nobody). */
    private static final class Deposit {
        final LayerState state;
        long sinceNanos;
        Bundle claimer;
        /** Taken at least once: {@link #awaitDeposit} waits for a fresh deposit instead. */
        boolean taken;
        /** When it was deposited, on System.nanoTime (the takers' clock, not the expiry clock). */
        final long depositedNanos = System.nanoTime();

        Deposit(LayerState state, long sinceNanos) {
            this.state = state;
            this.sinceNanos = sinceNanos;
        }
    }

    private final long expiryNanos;
    private final LongSupplier nanoClock;
    private final Map<Layer, Deposit> deposits = new EnumMap<>(Layer.class);
    private final Map<Layer, ArrayDeque<Pause>> pauses = new EnumMap<>(Layer.class);
    private long pauseSequence;
    /** Set by {@link #releaseAll}: waiting takers return empty-handed. */
    private boolean closed;

    /**
     * @param expiryNanos how long a deposit stays unclaimed (or claimed) before {@link #expire} releases (or drops) it
     * @param nanoClock {@link System#nanoTime} in the product; a settable clock in tests
     */
    ExpiringHandoffVault(long expiryNanos, LongSupplier nanoClock) {
        if (expiryNanos <= 0) {
            throw new IllegalArgumentException("expiry must be positive: " + expiryNanos + " ns");
        }
        this.expiryNanos = expiryNanos;
        this.nanoClock = nanoClock;
    }

    @Override
    public synchronized void deposit(Layer layer, LayerState state) {
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(state, "state");
        Deposit previous = deposits.put(layer, new Deposit(state, nanoClock.getAsLong()));
        LOG.info(
                "{} deposited its state: {} descriptors, {} arenas",
                layer,
                state.descriptors().size(),
                state.arenas().size());
        if (previous != null && previous.claimer == null && previous.state != state) {
            // Nobody took the earlier state: what the new deposit does not carry on would leak.
            release(layer, previous.state, state);
        }
        UpgradeHaltPoints.reach(UpgradeHaltPoints.DEPOSITED);
        // A new version standing by in awaitDeposit takes it at once.
        notifyAll();
    }

    @Override
    public synchronized <T extends LayerState> T take(Layer layer, Class<T> type, Bundle taker) {
        Deposit d = deposits.get(layer);
        if (d == null) {
            return null;
        }
        if (!type.isInstance(d.state)) {
            LOG.warn(
                    "{}: {} asked for a {}, the deposit is a {}: it starts afresh",
                    layer,
                    taker,
                    type.getName(),
                    d.state.getClass().getName());
            return null;
        }
        if (d.claimer != null && isRunning(d.claimer) && d.claimer.getBundleId() != taker.getBundleId()) {
            LOG.warn("{}: {} asked for the state {} holds; it starts afresh", layer, taker, d.claimer);
            return null;
        }
        d.claimer = taker;
        d.taken = true;
        d.sinceNanos = nanoClock.getAsLong();
        return type.cast(d.state);
    }

    @Override
    public synchronized <T extends LayerState> T awaitDeposit(
            Layer layer, Class<T> type, Bundle taker, long depositedAfterNanos, long timeoutNanos)
            throws InterruptedException {
        // Deadline on the real clock: the settable test clock drives expiry, not waiting.
        long deadline = System.nanoTime() + timeoutNanos;
        while (!closed) {
            Deposit d = deposits.get(layer);
            if (d != null
                    && d.depositedNanos - depositedAfterNanos > 0
                    && (!d.taken || (d.claimer != null && d.claimer.getBundleId() == taker.getBundleId()))) {
                return take(layer, type, taker);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return null;
    }

    @Override
    public synchronized void pauseObserved(Layer layer, long pauseNanos) {
        ArrayDeque<Pause> history = pauses.computeIfAbsent(layer, l -> new ArrayDeque<>());
        if (history.size() == PAUSE_HISTORY) {
            history.removeFirst();
        }
        history.addLast(new Pause(++pauseSequence, layer, pauseNanos, System.currentTimeMillis()));
        notifyAll();
    }

    /**
     * The bundle {@code b} stopped: deposits it claimed become unclaimed again, for the version that starts next (the
     * old one after a rollback) to take. A claimer that deposited anew before stopping has already replaced its claim.
     */
    synchronized void claimerStopped(Bundle b) {
        long now = nanoClock.getAsLong();
        for (Map.Entry<Layer, Deposit> e : deposits.entrySet()) {
            Deposit d = e.getValue();
            if (d.claimer != null && d.claimer.getBundleId() == b.getBundleId()) {
                LOG.info("{}: {} stopped without depositing anew; its state can be taken again", e.getKey(), b);
                d.claimer = null;
                d.sinceNanos = now;
            }
        }
    }

    /**
     * Releases deposits unclaimed for the expiry time and forgets claimed ones held that long (their claimer owns what
     * they hold); returns how many deposits were released.
     */
    synchronized int expire() {
        long now = nanoClock.getAsLong();
        int released = 0;
        for (Iterator<Map.Entry<Layer, Deposit>> it = deposits.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Layer, Deposit> e = it.next();
            Layer layer = e.getKey();
            Deposit d = e.getValue();
            if (now - d.sinceNanos < expiryNanos) {
                continue;
            }
            it.remove();
            if (d.claimer != null && isRunning(d.claimer)) {
                LOG.debug("{}: the hand-over to {} is complete", layer, d.claimer);
            } else {
                LOG.warn("{}: nobody took the deposited state within the expiry time; released", layer);
                release(layer, d.state, null);
                released++;
            }
        }
        return released;
    }

    /** Releases every deposit not held by a running claimer: the vault itself is going away. */
    synchronized void releaseAll() {
        closed = true;
        notifyAll();
        for (Map.Entry<Layer, Deposit> e : deposits.entrySet()) {
            Deposit d = e.getValue();
            if (d.claimer == null || !isRunning(d.claimer)) {
                release(e.getKey(), d.state, null);
            }
        }
        deposits.clear();
    }

    /** Layers with a deposit not yet handed over for good, and whether it is claimed, for the status section. */
    synchronized Map<Layer, String> deposits() {
        Map<Layer, String> out = new EnumMap<>(Layer.class);
        deposits.forEach((layer, d) -> out.put(layer, d.claimer == null ? "unclaimed" : "claimed by " + d.claimer));
        return out;
    }

    /** The sequence number of the latest pause reported by any layer (0 before the first). */
    synchronized long pauseSequence() {
        return pauseSequence;
    }

    /** The pauses reported for {@code layer}, oldest first. */
    synchronized List<Pause> pauses(Layer layer) {
        ArrayDeque<Pause> history = pauses.get(layer);
        return history == null ? List.of() : List.copyOf(history);
    }

    /**
     * Waits up to {@code timeoutMillis} for a pause of {@code layer} reported after sequence {@code after} and returns
     * the first such, or null.
     */
    synchronized Pause awaitPause(Layer layer, long after, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (true) {
            ArrayDeque<Pause> history = pauses.get(layer);
            if (history != null) {
                for (Pause p : history) {
                    if (p.sequence() > after) {
                        return p;
                    }
                }
            }
            long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
            if (leftMillis <= 0) {
                return null;
            }
            wait(leftMillis);
        }
    }

    private static boolean isRunning(Bundle b) {
        return (b.getState() & (Bundle.ACTIVE | Bundle.STARTING)) != 0;
    }

    /** Closes what {@code state} owns, except what {@code keep} (a newer deposit, or null) carries on. */
    private static void release(Layer layer, LayerState state, LayerState keep) {
        Set<Integer> keptDescriptors = keep == null ? Set.of() : new HashSet<>(keep.descriptors());
        Set<Arena> keptArenas = Collections.newSetFromMap(new IdentityHashMap<>());
        if (keep != null) {
            keptArenas.addAll(keep.arenas());
        }
        List<String> problems = new ArrayList<>();
        int closed = 0;
        for (int fd : state.descriptors()) {
            if (keptDescriptors.contains(fd)) {
                continue;
            }
            try {
                Libc.close(fd);
                closed++;
            } catch (RuntimeException e) {
                problems.add("fd " + fd + ": " + e.getMessage());
            }
        }
        int arenas = 0;
        for (Arena arena : state.arenas()) {
            if (keptArenas.contains(arena)) {
                continue;
            }
            try {
                arena.close();
                arenas++;
            } catch (RuntimeException e) {
                // A global or automatic arena cannot be closed; a confined one only by its owner thread.
                problems.add("arena " + arena + ": " + e);
            }
        }
        LOG.info("{}: released a deposit: {} descriptors and {} arenas closed", layer, closed, arenas);
        if (!problems.isEmpty()) {
            LOG.warn("{}: parts of a released deposit could not be closed: {}", layer, problems);
        }
    }
}
