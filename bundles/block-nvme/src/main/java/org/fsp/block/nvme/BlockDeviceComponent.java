package org.fsp.block.nvme;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.handoff.DeviceHandoff;
import org.fsp.api.handoff.HandoffVault;
import org.fsp.api.handoff.Layer;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.api.launch.FrameworkSettings;
import org.fsp.api.status.StatusContributor;
import org.fsp.block.nvme.pci.NvmeSetupException;
import org.fsp.linux.NativeException;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the configured block device and publishes it: the {@link BlockDevice} service, its {@code "device"} section
 * of {@code fsp:status}, and the {@code fsp:device} shell command.
 *
 * <p>Configuration (PID {@value #PID}) comes from Configuration Admin; any attribute left at its empty default falls
 * back to the framework property the launcher sets from its command line ({@value FrameworkProperties#DEVICE_DRIVER}, {@value FrameworkProperties#DEVICE_PATH},
 * {@value FrameworkProperties#DEVICE_SIZE}). A missing image file is created sparse; a target that is too small, unwritable or unopenable
 * fails activation with a logged message that names it.
 *
 * <p>The services are registered by this component rather than by SCR because their properties (the driver kind and
 * the mode actually running after fallbacks) are known only once the device is open.
 */
@Component(
        immediate = true,
        configurationPid = BlockDeviceComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {})
@Designate(ocd = BlockDeviceComponent.Config.class)
public final class BlockDeviceComponent {

    /** Configuration PID. */
    public static final String PID = "org.fsp.block.device";

    /** Service property on the BlockDevice: the mode running, e.g. {@code SQPOLL}, {@code plain}, {@code memory}. */
    public static final String PROP_MODE = "fsp.block.mode";
    /** Service property on the BlockDevice: the device path ({@code ram} devices have none). */
    public static final String PROP_PATH = "fsp.block.path";

    /** Default of {@link Config#queueDepth()}. */
    static final int DEFAULT_QUEUE_DEPTH = 64;

    /** Default of {@link Config#sqThreadIdleMillis()}. */
    static final int DEFAULT_SQ_THREAD_IDLE_MILLIS = 50;

    /** Default size of a created image or RAM device, bytes. */
    public static final long DEFAULT_SIZE_BYTES = 1L << 30;

    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceComponent.class);

    /** The device's configuration. */
    @ObjectClassDefinition(name = "FSP block device", description = "The block device FSP stores its file system on")
    public @interface Config {

        @AttributeDefinition(
                description =
                        "io_uring, ram, nvme or nvme-passthru; empty: framework property fsp.device.driver, else io_uring")
        String driver() default "";

        @AttributeDefinition(description = "Image file or block device; empty: framework property fsp.device.path")
        String path() default "";

        @AttributeDefinition(
                description = "PCI address of the NVMe controller (nvme driver, bound to vfio-pci); empty: framework"
                        + " property fsp.device.pci")
        String pci() default "";

        @AttributeDefinition(
                description = "Bytes of a created image or of the RAM device; 0: fsp.device.size, else 1 GiB")
        long size() default 0;

        @AttributeDefinition(description = "Most requests outstanding on the device at once")
        int queueDepth() default DEFAULT_QUEUE_DEPTH;

        @AttributeDefinition(description = "Ask for a kernel SQ polling thread (io_uring; falls back if refused)")
        boolean sqpoll() default false;

        @AttributeDefinition(description = "Ask for polled completions (io_uring; falls back if the target cannot)")
        boolean iopoll() default false;

        @AttributeDefinition(description = "SQPOLL thread idle time before it sleeps, milliseconds")
        int sqThreadIdleMillis() default DEFAULT_SQ_THREAD_IDLE_MILLIS;

        @AttributeDefinition(description = "Bytes of driver memory registered as fixed buffers (io_uring); 0 for none")
        long registeredBufferBytes() default 0;

        @AttributeDefinition(
                description =
                        "I/O queue pairs of the nvme driver, one per submitting thread; 0: one per core, at most 4")
        int ioQueues() default 0;
    }

    private ObservableBlockDevice device;
    private String path;
    private BundleContext context;
    private volatile HandoffVault vault;

    /**
     * Live upgrade of the driver: with a vault bound, a RAM device leaves its memory there when this component stops
     * while the framework runs on, and the next version's RAM device carries on with it (a device on a file or disk
     * is simply opened again).
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindVault(HandoffVault vault) {
        this.vault = vault;
    }

    void unbindVault(HandoffVault vault) {
        if (this.vault == vault) {
            this.vault = null;
        }
    }

    private ServiceRegistration<BlockDevice> deviceRegistration;
    private ServiceRegistration<StatusContributor> statusRegistration;
    private ServiceRegistration<DeviceCommand> commandRegistration;

    @Activate
    void activate(Config config, BundleContext context) {
        String driver =
                FrameworkSettings.setting(config.driver(), context, FrameworkProperties.DEVICE_DRIVER, "io_uring");
        long sizeBytes =
                config.size() > 0 ? config.size() : parseSize(context.getProperty(FrameworkProperties.DEVICE_SIZE));
        this.context = context;
        device = switch (driver) {
            case "ram" -> openRam(sizeBytes, config.queueDepth(), context);
            case "io_uring" -> openIoUring(config, context, sizeBytes);
            case "nvme" -> openNvme(config, context);
            case "nvme-passthru" -> openPassthrough(config, context);
            default ->
                fail("unknown block driver '" + driver + "' (expected io_uring, ram, nvme or nvme-passthru)", null);
        };
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(BlockDevice.PROP_DRIVER, device.driver());
        props.put(PROP_MODE, device.mode());
        if (path != null) {
            props.put(PROP_PATH, path);
        }
        deviceRegistration = context.registerService(BlockDevice.class, device, props);
        statusRegistration = context.registerService(StatusContributor.class, new DeviceStatus(device, path), null);
        Dictionary<String, Object> command = new Hashtable<>();
        command.put("osgi.command.scope", "fsp");
        command.put("osgi.command.function", new String[] {"device"});
        commandRegistration = context.registerService(DeviceCommand.class, new DeviceCommand(device), command);
        LOG.info("block device ready: {}", device.describe());
    }

    @Deactivate
    void deactivate() {
        // Unregister first: consumers (the scheduler) drain their requests while the device is still open.
        for (ServiceRegistration<?> r :
                new ServiceRegistration<?>[] {commandRegistration, statusRegistration, deviceRegistration}) {
            if (r != null) {
                try {
                    r.unregister();
                } catch (IllegalStateException alreadyGone) {
                    LOG.debug("registration already removed", alreadyGone);
                }
            }
        }
        HandoffVault v = vault;
        if (device instanceof RamBlockDevice ram && v != null && !FrameworkSettings.frameworkStopping(context)) {
            RamBlockDevice.Memory memory = ram.detachMemory();
            v.deposit(Layer.DEVICE, new DeviceHandoff(memory.segment(), memory.arena(), System.nanoTime()));
            LOG.info(
                    "RAM device memory ({} bytes) left for the next block-nvme",
                    memory.segment().byteSize());
        } else if (device != null) {
            device.close();
        }
    }

    private ObservableBlockDevice openRam(long sizeBytes, int queueDepth, BundleContext context) {
        long rounded = sizeBytes / RamBlockDevice.BLOCK_SIZE * RamBlockDevice.BLOCK_SIZE;
        if (rounded < FrameworkProperties.MIN_DEVICE_BYTES) {
            return fail(
                    "RAM device size " + sizeBytes + " bytes is below the minimum of "
                            + FrameworkProperties.MIN_DEVICE_BYTES,
                    null);
        }
        HandoffVault v = vault;
        DeviceHandoff previous = v == null ? null : v.take(Layer.DEVICE, DeviceHandoff.class, context.getBundle());
        if (previous != null && previous.memory().byteSize() == rounded) {
            LOG.info("RAM device carries on with the previous block-nvme's memory ({} bytes)", rounded);
            return new RamBlockDevice(new RamBlockDevice.Memory(previous.arena(), previous.memory()), queueDepth);
        }
        if (previous != null) {
            LOG.warn(
                    "the previous RAM device held {} bytes, this one is configured for {}: starting blank",
                    previous.memory().byteSize(),
                    rounded);
            previous.arena().close();
        }
        return new RamBlockDevice(rounded, queueDepth);
    }

    private ObservableBlockDevice openIoUring(Config config, BundleContext context, long sizeBytes) {
        String configured = FrameworkSettings.setting(config.path(), context, FrameworkProperties.DEVICE_PATH, "");
        if (configured.isEmpty()) {
            return fail(
                    "no device path: set the configuration's 'path' or the framework property "
                            + FrameworkProperties.DEVICE_PATH,
                    null);
        }
        Path target = Path.of(configured).toAbsolutePath();
        path = target.toString();
        if (!Files.exists(target)) {
            createImage(target, sizeBytes);
        } else if (Files.isRegularFile(target)) {
            long existing;
            try {
                existing = Files.size(target);
            } catch (IOException e) {
                return fail("cannot read the size of device image " + target + ": " + e.getMessage(), e);
            }
            if (existing < FrameworkProperties.MIN_DEVICE_BYTES) {
                return fail(
                        "device image " + target + " has " + existing + " bytes, below the minimum of "
                                + FrameworkProperties.MIN_DEVICE_BYTES + "; remove it to have FSP create one of "
                                + sizeBytes + " bytes",
                        null);
            }
            if (!Files.isWritable(target)) {
                return fail("device image " + target + " is not writable", null);
            }
        }
        IoUringBlockDevice.Options options = new IoUringBlockDevice.Options(
                target,
                config.queueDepth(),
                config.sqpoll(),
                config.iopoll(),
                config.registeredBufferBytes(),
                config.sqThreadIdleMillis());
        // A standby set it up before the crash (StandbyRehearsal): then only the lock was left to take.
        IoUringBlockDevice opened = PreparedDevice.take(options);
        if (opened != null) {
            LOG.info("using the device the standby prepared: {}", opened.describe());
        } else {
            try {
                opened = IoUringBlockDevice.open(options);
            } catch (NativeException | IllegalArgumentException e) {
                return fail("cannot open block device " + target + ": " + e.getMessage(), e);
            }
        }
        return atLeastTheMinimum(opened, "device " + target);
    }

    private ObservableBlockDevice openNvme(Config config, BundleContext context) {
        String pci = FrameworkSettings.setting(config.pci(), context, FrameworkProperties.DEVICE_PCI, "");
        if (pci.isEmpty()) {
            return fail(
                    "no PCI address for the NVMe driver: set the configuration's 'pci' or the framework property "
                            + FrameworkProperties.DEVICE_PCI,
                    null);
        }
        path = "pci:" + pci;
        NvmeBlockDevice opened;
        try {
            NvmeBlockDevice.Options options = NvmeBlockDevice.Options.of(pci, config.queueDepth());
            if (config.ioQueues() > 0) {
                options = new NvmeBlockDevice.Options(
                        pci,
                        options.queueDepth(),
                        options.nsid(),
                        options.dmaPoolBytes(),
                        options.timeoutNanos(),
                        config.ioQueues());
            }
            opened = NvmeBlockDevice.open(options);
        } catch (NvmeSetupException e) {
            return fail("cannot open NVMe controller " + pci + " (" + e.reason() + "): " + e.getMessage(), e);
        } catch (NativeException | IllegalArgumentException e) {
            return fail("cannot open NVMe controller " + pci + ": " + e.getMessage(), e);
        }
        return atLeastTheMinimum(opened, "NVMe namespace on " + pci);
    }

    private ObservableBlockDevice openPassthrough(Config config, BundleContext context) {
        String configured = FrameworkSettings.setting(config.path(), context, FrameworkProperties.DEVICE_PATH, "");
        if (configured.isEmpty()) {
            return fail(
                    "no NVMe generic device (/dev/ngXnY) for nvme-passthru: set the configuration's 'path' or the"
                            + " framework property " + FrameworkProperties.DEVICE_PATH,
                    null);
        }
        path = configured;
        try {
            return NvmePassthroughBlockDevice.open(Path.of(configured), config.queueDepth());
        } catch (NvmeSetupException e) {
            return fail("cannot open " + configured + " (" + e.reason() + "): " + e.getMessage(), e);
        }
    }

    private static void createImage(Path target, long sizeBytes) {
        long rounded = sizeBytes / IoUringBlockDevice.BLOCK_SIZE * IoUringBlockDevice.BLOCK_SIZE;
        if (rounded < FrameworkProperties.MIN_DEVICE_BYTES) {
            fail(
                    "image size " + sizeBytes + " bytes is below the minimum of "
                            + FrameworkProperties.MIN_DEVICE_BYTES,
                    null);
        }
        try {
            if (target.getParent() != null) {
                Files.createDirectories(target.getParent());
            }
            // Sparse: setLength allocates no blocks, so a 1 GiB image costs nothing until written.
            try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw")) {
                f.setLength(rounded);
            }
            LOG.info("created sparse device image {} of {} bytes", target, rounded);
        } catch (IOException e) {
            fail("cannot create device image " + target + ": " + e.getMessage(), e);
        }
    }

    /** Logs the reason and fails activation with it. */
    /**
     * {@code opened} when it holds at least {@link FrameworkProperties#MIN_DEVICE_BYTES}; otherwise closes it and
     * fails, naming it as {@code what} with its size. The io_uring and NVMe drivers learn their size only once open.
     */
    static ObservableBlockDevice atLeastTheMinimum(ObservableBlockDevice opened, String what) {
        long capacityBytes = opened.blockCount() * opened.blockSize();
        if (capacityBytes < FrameworkProperties.MIN_DEVICE_BYTES) {
            opened.close();
            return fail(
                    what + " has " + capacityBytes + " bytes, below the minimum of "
                            + FrameworkProperties.MIN_DEVICE_BYTES,
                    null);
        }
        return opened;
    }

    private static <T> T fail(String message, Exception cause) {
        LOG.error("block device not started: {}", message);
        throw new IllegalStateException(message, cause);
    }

    private static long parseSize(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_SIZE_BYTES;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return fail(
                    "framework property " + FrameworkProperties.DEVICE_SIZE + "='" + value
                            + "' is not a number of bytes",
                    e);
        }
    }

    /** The io_uring options of a configuration that sets none of its own (what a standby prepares). */
    static IoUringBlockDevice.Options defaultIoUringOptions(Path target) {
        return new IoUringBlockDevice.Options(
                target, DEFAULT_QUEUE_DEPTH, false, false, 0, DEFAULT_SQ_THREAD_IDLE_MILLIS);
    }

    /** The {@code "device"} section of {@code fsp:status}. */
    static final class DeviceStatus implements StatusContributor {
        private final ObservableBlockDevice device;
        private final String path;

        DeviceStatus(ObservableBlockDevice device, String path) {
            this.device = device;
            this.path = path;
        }

        @Override
        public String section() {
            return "device";
        }

        @Override
        public int order() {
            return 10;
        }

        @Override
        public Map<String, Object> status() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("driver", device.driver());
            m.put("path", path == null ? "-" : path);
            m.put("mode", device.mode());
            m.put("blockSize", device.blockSize());
            m.put("blocks", device.blockCount());
            m.put("capacityBytes", device.blockCount() * device.blockSize());
            m.put("queueDepth", device.queueDepth());
            m.put("inFlight", device.inFlight());
            m.putAll(device.stats().toMap());
            return m;
        }
    }
}
