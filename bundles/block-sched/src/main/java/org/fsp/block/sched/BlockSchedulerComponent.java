package org.fsp.block.sched;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.HandoverMethod;
import org.fsp.api.handoff.Layer;
import org.fsp.api.status.StatusContributor;
import org.osgi.annotation.bundle.Header;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the {@link BlockScheduler} service for the bound {@link BlockDevice} and its {@code "block-scheduler"}
 * section of {@code fsp:status}.
 *
 * <p>The device reference is optional, dynamic and greedy: when a better device appears, or the device bundle is
 * updated, a scheduler for the new device is installed behind the same service object and the old one finishes its
 * requests on the old device before that device closes; while no device is bound, requests wait for one (up to
 * {@link Config#deviceWaitMillis()}) rather than fail (see {@link SwappableBlockScheduler}). Consumers keep their
 * reference throughout.
 *
 * <p>The services are registered by this component rather than by SCR so that the policy service property
 * ({@link BlockScheduler#PROP_POLICY}) carries the configured value.
 */
@Header(name = HandoverMethod.HEADER, value = "make-before-break")
@Component(
        immediate = true,
        configurationPid = BlockSchedulerComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {})
@Designate(ocd = BlockSchedulerComponent.Config.class)
public final class BlockSchedulerComponent {

    /** Configuration PID. */
    public static final String PID = "org.fsp.block.scheduler";

    private static final Logger LOG = LoggerFactory.getLogger(BlockSchedulerComponent.class);

    /** The scheduler's configuration. */
    @ObjectClassDefinition(
            name = "FSP block scheduler",
            description = "Block I/O scheduling between fs-core and the device")
    public @interface Config {

        @AttributeDefinition(
                description = "fifo (arrival order) or batching (priorities, merging, one submit per batch)")
        String policy() default BatchingBlockScheduler.POLICY;

        @AttributeDefinition(description = "Bounded queue depth: requests queued before enqueue applies back-pressure")
        int queueDepth() default 256;

        @AttributeDefinition(description = "Largest merged transfer, bytes (batching)")
        int maxMergeBytes() default BatchingBlockScheduler.DEFAULT_MAX_MERGE_BYTES;

        @AttributeDefinition(description = "Most requests merged into one device request (batching)")
        int maxMergeRequests() default BatchingBlockScheduler.DEFAULT_MAX_MERGE_REQUESTS;

        @AttributeDefinition(description = "How long a device swap waits for the old device's requests, milliseconds")
        long drainTimeoutMillis() default 30_000;

        @AttributeDefinition(description = "How long a request waits for a device while none is bound, milliseconds")
        long deviceWaitMillis() default 30_000;
    }

    /** Set at activation; read by unbind outside the monitor. */
    private volatile SwappableBlockScheduler scheduler;
    /** Guarded by this: the scheduler of each bound device. */
    private final Map<BlockDevice, AbstractBlockScheduler> byDevice = new IdentityHashMap<>();
    /** Guarded by this: the most recently bound device, installed at activation. */
    private BlockDevice latest;
    /** Guarded by this. */
    private Config config;

    /** Guarded by this: {@link System#nanoTime()} when the bound device went away, 0 while one is bound. */
    private long deviceGoneAt;

    private volatile HandoffVault vault;

    private ServiceRegistration<BlockScheduler> schedulerRegistration;
    private ServiceRegistration<StatusContributor> statusRegistration;

    @Reference(
            cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindDevice(BlockDevice device) {
        latest = device;
        if (config != null) {
            installFor(device);
        }
    }

    /** The device gap (a block-nvme upgrade) is reported to the vault, when there is one, as the device's pause. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindVault(HandoffVault vault) {
        this.vault = vault;
    }

    void unbindVault(HandoffVault vault) {
        if (this.vault == vault) {
            this.vault = null;
        }
    }

    void unbindDevice(BlockDevice device) {
        AbstractBlockScheduler old;
        long timeoutMillis;
        synchronized (this) {
            old = byDevice.remove(device);
            if (latest == device) {
                latest = null;
                deviceGoneAt = System.nanoTime();
            }
            timeoutMillis = config == null ? 0 : config.drainTimeoutMillis();
        }
        if (old != null) {
            retire(old, timeoutMillis);
        }
    }

    @Activate
    void activate(Config config, BundleContext context) {
        String policy = config.policy().trim();
        if (!policy.equals(FifoBlockScheduler.POLICY) && !policy.equals(BatchingBlockScheduler.POLICY)) {
            String message = "unknown block scheduler policy '" + policy + "' (expected fifo or batching)";
            LOG.error("block scheduler not started: {}", message);
            throw new IllegalStateException(message);
        }
        synchronized (this) {
            this.config = config;
            this.scheduler =
                    new SwappableBlockScheduler(policy, TimeUnit.MILLISECONDS.toNanos(config.deviceWaitMillis()));
            if (latest != null) {
                installFor(latest);
            }
        }
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(BlockScheduler.PROP_POLICY, policy);
        schedulerRegistration = context.registerService(BlockScheduler.class, scheduler, props);
        statusRegistration = context.registerService(StatusContributor.class, new SchedulerStatus(scheduler), null);
    }

    @Deactivate
    void deactivate() {
        schedulerRegistration.unregister();
        statusRegistration.unregister();
        scheduler.close();
        Map<BlockDevice, AbstractBlockScheduler> all;
        long timeoutMillis;
        synchronized (this) {
            all = new IdentityHashMap<>(byDevice);
            byDevice.clear();
            timeoutMillis = config.drainTimeoutMillis();
            config = null;
        }
        for (AbstractBlockScheduler s : all.values()) {
            retire(s, timeoutMillis);
        }
    }

    /** Under this: builds the configured policy for {@code device} and routes new requests to it. */
    private void installFor(BlockDevice device) {
        AbstractBlockScheduler s = create(config, device);
        byDevice.put(device, s);
        scheduler.install(s);
        if (deviceGoneAt != 0) {
            // Requests waited for a device from the unbind of the old one until now.
            long pause = System.nanoTime() - deviceGoneAt;
            deviceGoneAt = 0;
            HandoffVault v = vault;
            if (v != null) {
                v.pauseObserved(Layer.DEVICE, pause);
            }
            LOG.info("block device replaced: requests waited {} us for it", pause / 1000);
        }
        LOG.info("block scheduler {} (queue depth {}) on {}", s.policy(), config.queueDepth(), device.describe());
    }

    /** The scheduler {@code config} asks for, on {@code device}. */
    static AbstractBlockScheduler create(Config config, BlockDevice device) {
        return switch (config.policy().trim()) {
            case FifoBlockScheduler.POLICY -> new FifoBlockScheduler(device, config.queueDepth());
            default ->
                new BatchingBlockScheduler(
                        device, config.queueDepth(), config.maxMergeBytes(), config.maxMergeRequests());
        };
    }

    private void retire(AbstractBlockScheduler old, long timeoutMillis) {
        int abandoned = scheduler.retire(old, TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
        if (abandoned > 0) {
            LOG.warn(
                    "block scheduler on {}: {} requests did not finish within {} ms of the device leaving",
                    old.device().describe(),
                    abandoned,
                    timeoutMillis);
        }
    }

    /** The {@code "block-scheduler"} section of {@code fsp:status}. */
    static final class SchedulerStatus implements StatusContributor {
        private final SwappableBlockScheduler scheduler;

        SchedulerStatus(SwappableBlockScheduler scheduler) {
            this.scheduler = scheduler;
        }

        @Override
        public String section() {
            return "block-scheduler";
        }

        @Override
        public int order() {
            return 20;
        }

        @Override
        public Map<String, Object> status() {
            return scheduler.status();
        }
    }
}
