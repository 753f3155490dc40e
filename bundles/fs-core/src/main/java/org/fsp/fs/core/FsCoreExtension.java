package org.fsp.fs.core;

import java.util.Map;
import org.osgi.framework.BundleContext;

/**
 * What a version of fs-core adds to the file system that {@link FsCoreComponent} mounts and publishes: an observer of
 * file changes, data of its own carried across live upgrades, status entries and services of its own. The plain
 * fs-core uses {@link #NONE}; a later version (fs-core with provenance tracking, {@code bundles/fs-core-provenance})
 * is a component of its own that delegates to a {@code FsCoreComponent} made with its extension, so the mount, the
 * hand-off and the scheduler swaps stay one piece of code.
 *
 * <p>A typical sequence is: {@link #observer()} is given to the mount; {@link #adopt} receives the previous version's
 * hand-off data when the mount took one over; {@link #published} once the file system service is registered;
 * {@link #addStatus} whenever {@code fsp:status} runs; {@link #withdrawn()} before the file system stops serving; and,
 * for a live upgrade, {@link #handOver()} once every call in progress has finished.
 */
public interface FsCoreExtension {

    /** Adds nothing. */
    FsCoreExtension NONE = new FsCoreExtension() {};

    /** Told of every creation, data change and freed inode (see its contract: it runs on the write path). */
    default FileObserver observer() {
        return FileObserver.NONE;
    }

    /**
     * The previous version's {@link org.fsp.api.handoff.FileSystemHandoff#extensions()} (by feature name; a version
     * without this feature left no entry for it), before any call reaches the file system.
     */
    default void adopt(Map<String, byte[]> extensions) {}

    /** This feature's data for the next version, by feature name; called after the last call has finished. */
    default Map<String, byte[]> handOver() {
        return Map.of();
    }

    /** Adds this feature's entries to the {@code "filesystem"} section of {@code fsp:status}. */
    default void addStatus(Map<String, Object> status) {}

    /** The file system is mounted and published: register this feature's services (e.g. shell commands). */
    default void published(FsCore fs, BundleContext context) {}

    /** The file system is about to stop serving: unregister what {@link #published} registered. */
    default void withdrawn() {}
}
