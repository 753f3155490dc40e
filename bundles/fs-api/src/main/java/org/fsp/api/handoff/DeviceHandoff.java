package org.fsp.api.handoff;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * What block-nvme hands to its successor when the device lives in the FS process's memory (the RAM driver): the
 * memory itself, so that the file system on it survives the upgrade. A device on a file or disk needs no hand-off: its
 * successor opens it again.
 *
 * @param memory the device's contents, block 0 first
 * @param arena owns {@code memory}
 * @param quiescedAtNanos {@link System#nanoTime()} when the outgoing version stopped taking requests
 */
public record DeviceHandoff(MemorySegment memory, Arena arena, long quiescedAtNanos) implements LayerState {

    @Override
    public List<Arena> arenas() {
        return List.of(arena);
    }
}
