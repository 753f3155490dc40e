package org.fsp.ipc.fuse;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.fsp.linux.FuseDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mounts of FSP left at a directory by a daemon that did not stop cleanly (killed, or crashed): found in
 * {@code /proc/self/mountinfo}, told from a live daemon's mount by a probe with a deadline, and detached.
 */
final class StaleMounts {

    private static final Logger LOG = LoggerFactory.getLogger(StaleMounts.class);

    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private StaleMounts() {}

    /**
     * If {@code dir} is the mount point of a {@value FuseMount#FS_TYPE} mount whose daemon is gone (its accesses fail
     * with ENOTCONN or ECONNABORTED), detaches it and returns true. A mount there that still answers belongs to a
     * running daemon: refused.
     */
    static boolean clean(Path dir) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        boolean ours = false;
        for (MountTable.Mount m : MountTable.read(MOUNTINFO)) {
            if (m.mountPoint().equals(d) && m.type().equals(FuseMount.FS_TYPE)) {
                ours = true;
            }
        }
        if (!ours) {
            return false;
        }
        // A live but hung server would block the probe: it runs on a thread of its own, with a deadline.
        CompletableFuture<Void> probe = CompletableFuture.runAsync(
                () -> {
                    try {
                        Files.readAttributes(d, "basic:size", LinkOption.NOFOLLOW_LINKS);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                },
                r -> Thread.ofPlatform().daemon().name("fsp-fuse-stale-probe").start(r));
        try {
            probe.get(2, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IOException(d + " is a " + FuseMount.FS_TYPE + " mount that does not answer; unmount it first");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while probing " + d);
        } catch (ExecutionException e) {
            String reason = e.getCause().getCause() instanceof FileSystemException fse ? fse.getReason() : null;
            // ENOTCONN, or ECONNABORTED when the dead daemon's connection was served over io_uring.
            if (reason != null && (reason.contains("not connected") || reason.contains("connection abort"))) {
                FuseDevice.umount(d.toString(), FuseDevice.MNT_DETACH);
                LOG.info("removed the stale FSP mount at {} left by a daemon that did not stop cleanly", d);
                return true;
            }
            throw new IOException("cannot probe the " + FuseMount.FS_TYPE + " mount at " + d, e.getCause());
        }
        throw new IOException(d + " is already served by a running FSP daemon");
    }
}
