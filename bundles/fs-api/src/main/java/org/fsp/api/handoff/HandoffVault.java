package org.fsp.api.handoff;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Keeps the state a layer leaves behind when its bundle stops while the FS process runs on, until the next version of
 * that layer takes it. Registered by the upgrade bundle; layers reference it optionally (without a vault they shut down
 * cleanly and start afresh, as on a daemon restart).
 *
 * <p>Rules for what is deposited: plain data only, of types from fs-api or the JDK ({@code MemorySegment},
 * {@code Arena}, arrays, records of this package). Nothing that reaches a class of the depositing bundle, or its
 * class loader stays alive after the upgrade. The state must be enough on its own: the depositing component is gone
 * when it is taken.
 *
 * <p>A deposit that nobody takes within the vault's expiry time is released: file descriptors listed by
 * {@link LayerState#descriptors()} are closed and arenas listed by {@link LayerState#arenas()} are closed. A layer must
 * therefore deposit only state whose loss is safe (the file system writes everything home before it deposits).
 *
 * <p>A taken deposit stays known to the vault as claimed by the taker's bundle: if that bundle stops without
 * depositing anew (a failed upgrade being rolled back), the next {@link #take} returns the same state again.
 */
@ProviderType
public interface HandoffVault {

    /** Leaves {@code state} for the next version of {@code layer}; replaces an earlier deposit of that layer. */
    void deposit(Layer layer, LayerState state);

    /**
     * The state the previous version of {@code layer} left, or null when there is none (first start, or the previous
     * version shut down without a vault) or it is of another type (a version with an incompatible state: start
     * afresh).
     *
     * @param taker the bundle taking it, for a rollback to find it again; its symbolic name should be the layer's
     */
    <T extends LayerState> T take(Layer layer, Class<T> type, org.osgi.framework.Bundle taker);

    /**
     * Waits up to {@code timeoutNanos} for a deposit of {@code layer} made after {@code depositedAfterNanos} (on
     * {@link System#nanoTime()}) that nobody has taken yet, and takes it as
     * {@link #take} does (it is then claimed by {@code taker}); null at the time-out, or when the deposit is of another
     * type. This is the make-before-break hand-over: the new version of a layer starts while the old one still serves,
     * stands by here, and carries on the moment the old one has deposited. Unlike {@link #take} it never returns the
     * state of an earlier hand-over (taken once already, by a bundle that has stopped since, or left before the
     * caller started waiting while another version served): only a fresh deposit. A caller passes the time it saw the
     * serving version still serving.
     *
     * <p>The default polls {@link #take} (for vaults that cannot wait, and that do not know when a deposit was made);
     * the upgrade bundle's vault wakes the caller as soon as the deposit is made.
     *
     * @param taker the bundle taking it, as for {@link #take}
     * @throws InterruptedException when the waiting thread is interrupted (the taker is being stopped)
     * @since 0.2.0
     */
    default <T extends LayerState> T awaitDeposit(
            Layer layer, Class<T> type, org.osgi.framework.Bundle taker, long depositedAfterNanos, long timeoutNanos)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            T state = take(layer, type, taker);
            if (state != null) {
                return state;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            Thread.sleep(Math.max(1, Math.min(10, left / 1_000_000)));
        }
    }

    /**
     * Records the pause requests saw at {@code layer}'s boundary during its last hand-over, as measured by the layer
     * above (which held them): from the moment it stopped passing requests down to the moment it resumed.
     */
    void pauseObserved(Layer layer, long pauseNanos);
}
