package org.fsp.fs.core.provenance;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import org.fsp.fs.core.FileObserver;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.FsCoreExtension;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Provenance tracking as an {@link FsCoreExtension}: the {@link ProvenanceTracker} observes the file system, its
 * records cross live upgrades under {@link ProvenanceTracker#FEATURE}, {@code fsp:provenance} queries them and
 * {@code fsp:status} shows how many files are tracked.
 */
final class ProvenanceFeature implements FsCoreExtension {

    private static final Logger LOG = LoggerFactory.getLogger(ProvenanceFeature.class);

    private final ProvenanceTracker tracker;
    private ServiceRegistration<Object> commands;

    ProvenanceFeature(ProvenanceTracker tracker) {
        this.tracker = tracker;
    }

    @Override
    public FileObserver observer() {
        return tracker;
    }

    @Override
    public void adopt(Map<String, byte[]> extensions) {
        byte[] data = extensions.get(ProvenanceTracker.FEATURE);
        if (data == null) {
            LOG.info("provenance tracking starts now: the previous fs-core had none");
            return;
        }
        try {
            tracker.decode(data);
            LOG.info("provenance of {} files taken over from the previous version", tracker.files());
        } catch (IOException e) {
            // Provenance is advisory: the file system mounts without it rather than failing the upgrade.
            LOG.warn("provenance records of the previous version dropped: {}", e.getMessage());
        }
    }

    @Override
    public Map<String, byte[]> handOver() {
        return Map.of(ProvenanceTracker.FEATURE, tracker.encode());
    }

    @Override
    public void addStatus(Map<String, Object> status) {
        status.put(
                "provenance",
                tracker.files() + " files tracked since " + ProvenanceCommands.time(tracker.sinceMillis())
                        + " (fsp:provenance PATH)");
    }

    @Override
    public void published(FsCore fs, BundleContext context) {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "fsp");
        props.put("osgi.command.function", new String[] {"provenance"});
        commands = context.registerService(Object.class, new ProvenanceCommands(fs, tracker), props);
    }

    @Override
    public void withdrawn() {
        if (commands != null) {
            commands.unregister();
            commands = null;
        }
    }
}
