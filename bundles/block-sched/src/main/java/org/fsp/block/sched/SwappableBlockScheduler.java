package org.fsp.block.sched;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.handoff.LayerGate;
import org.fsp.api.sched.ManagedBlocking;

/**
 * The {@link BlockScheduler} service object: it forwards to the scheduler of the current device and survives a device
 * swap. A swap {@link #install installs} a scheduler for the new device (new requests go there) and
 * {@link #retire retires} the old one, which finishes its queued and in-flight requests on the old device before that
 * device closes. Until then, {@link #issue()}, {@link #poll()} and {@link #await} drive both, so a request waited on
 * across the swap still completes.
 *
 * <p>The boundary is a {@link LayerGate}: between the old device leaving and the new one arriving (a device bundle
 * update stops one component before it starts the next), requests wait there for a device for up to the configured
 * time instead of failing: callers see a pause.
 */
final class SwappableBlockScheduler implements BlockScheduler {

    /** Current first, then retiring ones. */
    private final List<AbstractBlockScheduler> live = new CopyOnWriteArrayList<>();

    private final String policy;
    private final LayerGate<AbstractBlockScheduler> gate;

    /**
     * @param policy the configured policy name
     * @param deviceWaitNanos how long a request waits for a device while none is bound
     */
    SwappableBlockScheduler(String policy, long deviceWaitNanos) {
        this.policy = policy;
        this.gate = new LayerGate<>("block device", deviceWaitNanos);
    }

    /** Stops waiting for devices: requests that find none fail at once. */
    void close() {
        gate.shutDown();
    }

    /** Makes {@code next} the target of new requests. */
    synchronized void install(AbstractBlockScheduler next) {
        live.add(0, next);
        gate.bind(next);
    }

    /**
     * Stops {@code old} taking requests (returning once no thread is inside its enqueue), drives it until it has
     * nothing pending (or the timeout passed), and forgets it.
     *
     * @return requests abandoned because the timeout passed (0 normally)
     */
    int retire(AbstractBlockScheduler old, long timeoutNanos) {
        gate.unbind(old);
        // Nothing can reach it through the gate any more; refusing is what a stray caller would now get.
        old.retire();
        int left = old.drain(timeoutNanos);
        live.remove(old);
        return left;
    }

    /** The scheduler taking new requests, or null while no device is bound. */
    AbstractBlockScheduler current() {
        return gate.current();
    }

    /** Schedulers still draining after a swap. */
    int retiring() {
        return live.size() - (gate.isOpen() ? 1 : 0);
    }

    /** Enters the current scheduler, waiting for a device while none is bound. */
    private LayerGate.Entry<AbstractBlockScheduler> enterCurrent() {
        LayerGate.Entry<AbstractBlockScheduler> in = gate.enter();
        if (in != null) {
            return in;
        }
        if (gate.isShutDown()) {
            throw new IllegalStateException("the block scheduler is stopped");
        }
        throw new IllegalStateException("no block device bound to the scheduler within "
                + TimeUnit.NANOSECONDS.toMillis(gate.waitLimitNanos()) + " ms");
    }

    @Override
    public BlockDevice device() {
        LayerGate.Entry<AbstractBlockScheduler> in = enterCurrent();
        try {
            return in.service().device();
        } finally {
            in.exit();
        }
    }

    @Override
    public void enqueue(BlockRequest request) {
        LayerGate.Entry<AbstractBlockScheduler> in = enterCurrent();
        try {
            in.service().enqueue(request);
        } finally {
            in.exit();
        }
    }

    @Override
    public int issue() {
        int n = 0;
        for (AbstractBlockScheduler s : live) {
            n += s.issue();
        }
        return n;
    }

    @Override
    public int poll() {
        int n = 0;
        for (AbstractBlockScheduler s : live) {
            n += s.poll();
        }
        return n;
    }

    /**
     * Spins, then parks in the device as {@link AbstractBlockScheduler#await} does (announcing the park through
     * {@link ManagedBlocking}); while a retiring scheduler still
     * drains, the request may be on either device, so it yields instead of parking on one.
     */
    @Override
    public int await(BlockRequest request) {
        long idleSince = AbstractBlockScheduler.NOT_IDLE;
        boolean blocking = false;
        try {
            while (!request.isDone()) {
                if (issue() + poll() > 0) {
                    idleSince = AbstractBlockScheduler.NOT_IDLE;
                    continue;
                }
                if (!blocking && AbstractBlockScheduler.longWait(request, idleSince)) {
                    ManagedBlocking.begin();
                    blocking = true;
                }
                AbstractBlockScheduler only = null;
                int devices = 0;
                for (AbstractBlockScheduler s : live) {
                    only = s;
                    devices++;
                }
                idleSince =
                        devices == 1 ? only.idle(request, idleSince) : AbstractBlockScheduler.backOff(null, idleSince);
            }
        } finally {
            if (blocking) {
                ManagedBlocking.end();
            }
        }
        return request.result();
    }

    @Override
    public int pending() {
        int n = 0;
        for (AbstractBlockScheduler s : live) {
            n += s.pending();
        }
        return n;
    }

    @Override
    public String policy() {
        return policy;
    }

    /** Status of the current scheduler plus the number still draining. */
    Map<String, Object> status() {
        AbstractBlockScheduler s = gate.current();
        Map<String, Object> m = s == null ? new LinkedHashMap<>() : s.status();
        if (s == null) {
            m.put("policy", policy);
            m.put("device", "none bound");
        }
        m.put("retiring", retiring());
        return m;
    }
}
