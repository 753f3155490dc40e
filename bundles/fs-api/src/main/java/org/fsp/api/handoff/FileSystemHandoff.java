package org.fsp.api.handoff;

import java.util.List;
import java.util.Map;

/**
 * What fs-core hands to its successor. Before depositing, the outgoing version has committed and checkpointed the
 * journal and written every dirty block home, so the device alone is a consistent image; this record adds what only
 * memory held: the open files (so the handles clients hold stay valid) and features' own data.
 *
 * @param deviceIdentity identifies the image (e.g. mkfs time and size): a successor mounted on another device ignores
 *     the deposit
 * @param openFiles every open handle, including files unlinked while open (their inodes must not be freed)
 * @param nextHandle the next handle number to hand out, so that no old number is reused
 * @param extensions features' data by feature name (e.g. {@code "provenance"}), opaque bytes; a version without the
 *     feature ignores its entry
 * @param quiescedAtNanos {@link System#nanoTime()} when the outgoing version stopped serving
 */
public record FileSystemHandoff(
        String deviceIdentity,
        List<OpenFile> openFiles,
        long nextHandle,
        Map<String, byte[]> extensions,
        long quiescedAtNanos)
        implements LayerState {

    /**
     * One open handle.
     *
     * @param handle the number the file system gave out
     * @param ino the inode
     * @param flags the open flags ({@link org.fsp.api.fs.OpenFlags})
     * @param position the file position
     */
    public record OpenFile(long handle, long ino, int flags, long position) {}

    public FileSystemHandoff {
        openFiles = List.copyOf(openFiles);
        extensions = Map.copyOf(extensions);
    }
}
