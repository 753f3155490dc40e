package org.fsp.fs.core.testing;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Test double in the CrashMonkey manner: records every write and flush after {@link #startRecording()} so that a
 * test can build the device states a crash could leave. A write that completed before a completed flush is
 * durable; writes since the last flush may each have reached the medium or not, in any combination.
 *
 * <p>A typical sequence is: format and mount on it, {@link #startRecording()}, run a workload noting
 * {@link #events()} at each point whose durability is promised, then for a chosen cut point and subset call
 * {@link #crashState} and mount the result.
 */
public final class RecordingBlockDeviceTestDouble extends HeapBlockDeviceTestDouble {

    /** One recorded event: a write (with its data) or a flush ({@code data == null}). */
    public record Event(long block, byte[] data) {
        public boolean isFlush() {
            return data == null;
        }
    }

    private final List<Event> events = new ArrayList<>();
    private byte[] base;
    private boolean recording;
    private MemorySegment durable;
    private int durableUpTo;
    private volatile long flushDelayNanos;

    public RecordingBlockDeviceTestDouble(long blocks) {
        super(blocks);
    }

    /** Snapshots the current contents as the base state and starts recording. */
    public synchronized void startRecording() {
        base = storage.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        events.clear();
        recording = true;
    }

    /** Events recorded so far: a cut point is an index into this list. */
    public synchronized int events() {
        return events.size();
    }

    public synchronized Event event(int i) {
        return events.get(i);
    }

    @Override
    protected void onWrite(long block, MemorySegment buffer) {
        if (recording) {
            for (long k = 0; k < buffer.byteSize() / BLOCK; k++) {
                events.add(new Event(
                        block + k, buffer.asSlice(k * BLOCK, BLOCK).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
            }
        }
    }

    /** Makes every flush take {@code nanos} (the device is held meanwhile), as a real device's flush does. */
    public void setFlushDelay(long nanos) {
        flushDelayNanos = nanos;
    }

    @Override
    protected void onFlush() {
        if (recording) {
            events.add(new Event(-1, null));
        }
        long delay = flushDelayNanos;
        if (delay > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(delay);
        }
    }

    /** Index of the first event after the last flush before {@code cut}: writes from here to cut are volatile. */
    public synchronized int volatileStart(int cut) {
        for (int i = cut - 1; i >= 0; i--) {
            if (events.get(i).isFlush()) {
                return i + 1;
            }
        }
        return 0;
    }

    /**
     * A device as a crash at {@code cut} could leave it: the base, every write before the last flush preceding the
     * cut, and of the writes after that flush only those whose bit (counted from that flush) is set in {@code keep}.
     * Calls with non-decreasing cuts reuse the durable prefix built for the previous call.
     */
    public synchronized HeapBlockDeviceTestDouble crashState(int cut, BitSet keep) {
        int from = volatileStart(cut);
        if (durable == null || from < durableUpTo) {
            durable = MemorySegment.ofArray(base.clone());
            durableUpTo = 0;
        }
        for (int i = durableUpTo; i < from; i++) {
            Event e = events.get(i);
            if (!e.isFlush()) {
                MemorySegment.copy(MemorySegment.ofArray(e.data()), 0, durable, e.block() * BLOCK, BLOCK);
            }
        }
        durableUpTo = from;
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(blockCount());
        MemorySegment s = d.storage();
        MemorySegment.copy(durable, 0, s, 0, durable.byteSize());
        for (int i = from; i < cut; i++) {
            Event e = events.get(i);
            if (!e.isFlush() && keep.get(i - from)) {
                MemorySegment.copy(MemorySegment.ofArray(e.data()), 0, s, e.block() * BLOCK, BLOCK);
            }
        }
        return d;
    }
}
