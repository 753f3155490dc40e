package org.fsp.api.block;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The completion tags of one {@link BlockDevice}, held by one submitter at a time. A device reports each completion
 * to whichever thread polls it, identified only by the tag its submitter chose, so two schedulers on one device (the
 * old and the new version during a block-sched upgrade) that each number their requests from tag 0 would take each
 * other's completions. Whoever submits therefore holds the device's tag space while it has requests on the device,
 * and lets it go when the last of them has completed; the next submitter takes it then. That is the hand-over of the
 * tags from one scheduler to the next, and the only place the rule is kept.
 *
 * <p>A typical sequence in a scheduler: before the first submission of a batch, {@link #tryHold} (false: another
 * scheduler's requests are still on the device; submit nothing now and drive the queue again later); after a poll that
 * left nothing in flight, {@link #release}. Polling the device is only right while holding the tag space.
 */
public final class TagSpace {

    /** One per device, for as long as the device object lives (weakly keyed by identity of the device object). */
    private static final Map<BlockDevice, TagSpace> SPACES = Collections.synchronizedMap(new WeakHashMap<>());

    private final AtomicReference<Object> holder = new AtomicReference<>();

    private TagSpace() {}

    /** The tag space of {@code device}. */
    public static TagSpace of(BlockDevice device) {
        Objects.requireNonNull(device);
        return SPACES.computeIfAbsent(device, d -> new TagSpace());
    }

    /**
     * Takes the tag space for {@code who}, unless another holds it.
     *
     * @return true if {@code who} holds it now (it did already, or it was free)
     */
    public boolean tryHold(Object who) {
        Object h = holder.get();
        return h == who || (h == null && holder.compareAndSet(null, who));
    }

    /** Lets the tag space go if {@code who} holds it: {@code who} has nothing on the device any more. */
    public void release(Object who) {
        holder.compareAndSet(who, null);
    }

    /** True while {@code who} holds the tag space. */
    public boolean heldBy(Object who) {
        return holder.get() == who;
    }

    /** True while nobody holds it: no request of any submitter is on the device. */
    public boolean isFree() {
        return holder.get() == null;
    }
}
