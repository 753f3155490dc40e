package org.fsp.api.handoff;

import java.lang.foreign.Arena;
import java.util.List;

/**
 * The state one layer hands to its successor (see {@link HandoffVault}). Implementations are records of this package.
 */
public interface LayerState {

    /** {@link System#nanoTime()} when the depositing layer stopped serving; the successor measures its pause from it. */
    long quiescedAtNanos();

    /** File descriptors the state owns, closed by the vault if nobody takes the state. */
    default List<Integer> descriptors() {
        return List.of();
    }

    /** Arenas (mapped segments) the state owns, closed by the vault if nobody takes the state. */
    default List<Arena> arenas() {
        return List.of();
    }
}
