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
     * Records the pause requests saw at {@code layer}'s boundary during its last hand-over, as measured by the layer
     * above (which held them): from the moment it stopped passing requests down to the moment it resumed.
     */
    void pauseObserved(Layer layer, long pauseNanos);
}
