package org.fsp.block.nvme;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An io_uring device a standby fspd set up before its take-over ({@link StandbyRehearsal}): the image or block device
 * opened with {@code O_DIRECT}, the rings made and mapped, the file registered, everything short of writing. The
 * device lock (a side file the launcher holds) is not taken: the fspd serving the device still runs, and nothing here
 * writes. {@link BlockDeviceComponent} takes it when it activates with the same options on the same file, instead of
 * opening the device again.
 *
 * <p>The device lives in a static field because the standby's rehearsal runs while the bundle is resolved and not
 * started: its class loader, and so this field, is the one the bundle runs with once it starts.
 */
final class PreparedDevice {

    private static final Logger LOG = LoggerFactory.getLogger(PreparedDevice.class);

    private static IoUringBlockDevice device;
    private static IoUringBlockDevice.Options options;
    /** The file it was opened on ({@code Files.readAttributes(...).fileKey()}: device and inode). */
    private static Object fileKey;

    private PreparedDevice() {}

    /** Opens the device ahead of time, unless one is prepared already; returns it. */
    static synchronized IoUringBlockDevice prepare(IoUringBlockDevice.Options wanted) throws IOException {
        if (device == null) {
            Object key = fileKey(wanted.path());
            device = IoUringBlockDevice.open(wanted);
            options = wanted;
            fileKey = key;
        }
        return device;
    }

    /**
     * The prepared device if it was opened with {@code wanted} on the file that is at its path now (an image
     * replaced meanwhile is another file), else null; either way nothing stays prepared.
     */
    static synchronized IoUringBlockDevice take(IoUringBlockDevice.Options wanted) {
        IoUringBlockDevice d = device;
        device = null;
        if (d == null) {
            return null;
        }
        String mismatch = null;
        if (!options.equals(wanted)) {
            mismatch = "it was set up with " + options + ", the configuration asks for " + wanted;
        } else {
            try {
                if (!fileKey(wanted.path()).equals(fileKey)) {
                    mismatch = wanted.path() + " is another file now";
                }
            } catch (IOException e) {
                mismatch = "cannot read the attributes of " + wanted.path() + ": " + e.getMessage();
            }
        }
        if (mismatch != null) {
            LOG.info("device prepared by the standby not used ({}); opening it again", mismatch);
            closeQuietly(d);
            return null;
        }
        return d;
    }

    private static Object fileKey(Path path) throws IOException {
        return Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class)
                .fileKey();
    }

    private static void closeQuietly(IoUringBlockDevice d) {
        try {
            d.close();
        } catch (NativeException | IllegalStateException e) {
            LOG.debug("closing the unused prepared device: {}", e.toString());
        }
    }
}
