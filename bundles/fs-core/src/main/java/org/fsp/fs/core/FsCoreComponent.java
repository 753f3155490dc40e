package org.fsp.fs.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.status.StatusContributor;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.tools.Formatter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mounts fs-core on the {@link BlockScheduler} service and publishes it: the {@link FileSystemService}, the
 * {@code "filesystem"} section of {@code fsp:status} (order 30) and the Gogo commands {@code fsp:fsck} and
 * {@code fsp:df} ({@link FsCommands}).
 *
 * <p>On activation the superblock is read: a blank device (all zeros) is formatted first when
 * {@link Config#formatIfBlank()} is set, with a log message; a corrupt one is refused with an error that says what is
 * wrong, and nothing is written. On deactivation everything is written home and the image is marked clean.
 */
@Component(
        immediate = true,
        configurationPid = FsCoreComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {})
@Designate(ocd = FsCoreComponent.Config.class)
public final class FsCoreComponent {

    /** Configuration PID. */
    public static final String PID = "org.fsp.fs.core";

    private static final Logger LOG = LoggerFactory.getLogger(FsCoreComponent.class);

    /** The file system's configuration. */
    @ObjectClassDefinition(name = "FSP file system", description = "fs-core: cache, journal, formatting")
    public @interface Config {

        @AttributeDefinition(name = "Cache size (MiB)", description = "Buffer cache memory bound, MiB")
        int cacheSizeMiB() default 64;

        @AttributeDefinition(
                name = "Journal blocks",
                description = "Journal length in 4 KiB blocks when formatting; 0 = 1/64 of the device, "
                        + "between 64 and 8192")
        long journalBlocks() default 0;

        @AttributeDefinition(
                name = "Format if blank",
                description = "Format the device if its superblock is blank (all zeros)")
        boolean formatIfBlank() default true;

        @AttributeDefinition(
                name = "Read-ahead blocks",
                description = "Blocks read ahead on sequential reads (0 disables)")
        int readAheadBlocks() default 32;

        @AttributeDefinition(
                name = "Flush interval (ms)",
                description = "Background write-back and commit period, milliseconds (0 disables)")
        long flushIntervalMillis() default 5000;
    }

    @Reference
    private BlockScheduler scheduler;

    private FsCore fs;
    private ServiceRegistration<FileSystemService> fsRegistration;
    private ServiceRegistration<StatusContributor> statusRegistration;
    private ServiceRegistration<Object> commandsRegistration;

    @Activate
    void activate(Config config, BundleContext context) {
        try {
            fs = open(scheduler, config);
        } catch (IOException e) {
            // open() has logged the reason. Stay active without a FileSystemService, so that fsp:status says why
            // and the operator can act, instead of a component failure buried in SCR's log.
            statusRegistration = context.registerService(StatusContributor.class, new NotMounted(e.getMessage()), null);
            return;
        }
        fsRegistration = context.registerService(FileSystemService.class, fs, null);
        statusRegistration = context.registerService(StatusContributor.class, new Status(fs), null);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "fsp");
        props.put("osgi.command.function", new String[] {"fsck", "df"});
        commandsRegistration = context.registerService(Object.class, new FsCommands(fs, scheduler), props);
    }

    @Deactivate
    void deactivate() throws IOException {
        statusRegistration.unregister();
        if (fs == null) {
            return;
        }
        commandsRegistration.unregister();
        fsRegistration.unregister();
        fs.unmount();
        LOG.info("file system unmounted cleanly from {}", scheduler.device().describe());
    }

    /** Formats a blank device if configured to, then mounts; refuses a corrupt image with a logged error. */
    static FsCore open(BlockScheduler scheduler, Config config) throws IOException {
        BlockIo io = new BlockIo(scheduler);
        if (isBlank(io)) {
            if (!config.formatIfBlank()) {
                throw new IOException("device " + scheduler.device().describe()
                        + " is blank and formatIfBlank is false: run mkfs first");
            }
            Geometry g = Formatter.format(io, io.blockCount(), config.journalBlocks());
            LOG.info(
                    "formatted blank device {}: {} blocks, {} inodes, journal {} blocks",
                    scheduler.device().describe(),
                    g.totalBlocks(),
                    g.inodeCount() - 1,
                    g.journalBlocks());
        }
        FsCore.Options options = new FsCore.Options(
                (long) config.cacheSizeMiB() << 20, config.readAheadBlocks(), config.flushIntervalMillis());
        try {
            FsCore fs = FsCore.mount(scheduler, options);
            LOG.info("file system mounted on {}: {}", scheduler.device().describe(), fs.status());
            return fs;
        } catch (IOException e) {
            LOG.error("file system not mounted on {}: {}", scheduler.device().describe(), e.getMessage());
            throw e;
        }
    }

    private static boolean isBlank(BlockIo io) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sb = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            io.read(0, sb, BlockRequest.Priority.METADATA);
            return SuperblockDescriptor.isBlank(sb);
        }
    }

    /** The {@code "filesystem"} status section of a device that could not be mounted. */
    private record NotMounted(String reason) implements StatusContributor {
        @Override
        public String section() {
            return "filesystem";
        }

        @Override
        public int order() {
            return 30;
        }

        @Override
        public Map<String, Object> status() {
            Map<String, Object> status = new LinkedHashMap<>();
            status.put("state", "NOT MOUNTED");
            status.put("reason", reason);
            status.put("what to do", "check the image offline with bin/fsp fsck IMAGE; nothing was written to it");
            return status;
        }
    }

    /** The {@code "filesystem"} status section. */
    private record Status(FsCore fs) implements StatusContributor {
        @Override
        public String section() {
            return "filesystem";
        }

        @Override
        public int order() {
            return 30;
        }

        @Override
        public Map<String, Object> status() {
            return fs.status();
        }
    }
}
