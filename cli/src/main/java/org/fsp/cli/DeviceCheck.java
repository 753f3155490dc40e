package org.fsp.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.fsp.api.launch.FrameworkProperties;

/**
 * Checks a device path before the daemon boots, so that a bad path fails in the terminal with a message that says
 * what is wrong, not later inside a bundle: it must be a regular file or a block device, readable and writable, and
 * at least {@link FrameworkProperties#MIN_DEVICE_BYTES}. A missing image is created sparse at the requested size, mode 0600.
 */
final class DeviceCheck {

    /** A device that cannot be used; {@code alreadyInUse} separates "busy" from "bad". */
    static final class BadDeviceException extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean alreadyInUse;

        BadDeviceException(String message, boolean alreadyInUse) {
            super(message);
            this.alreadyInUse = alreadyInUse;
        }
    }

    private DeviceCheck() {}

    static void prepare(Path device, long sizeBytes, boolean isDefault, PrintStream out) throws BadDeviceException {
        if (!Files.exists(device)) {
            if (sizeBytes < FrameworkProperties.MIN_DEVICE_BYTES) {
                throw new BadDeviceException(
                        "--size " + Sizes.human(sizeBytes) + " is too small; FSP needs at least "
                                + Sizes.human(FrameworkProperties.MIN_DEVICE_BYTES),
                        false);
            }
            try {
                Files.createDirectories(device.getParent());
                // Mode 0600 from the first byte: the image holds every user's files, readable to anyone who can
                // read the image itself, whatever the permissions inside say.
                Files.createFile(
                        device, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                try (RandomAccessFile f = new RandomAccessFile(device.toFile(), "rw")) {
                    f.setLength(sizeBytes); // sparse: blocks are allocated as the file system writes them
                }
            } catch (IOException e) {
                throw new BadDeviceException("cannot create image " + device + ": " + describe(e), false);
            }
            out.println("fspd: created " + (isDefault ? "default " : "") + "image " + device + " ("
                    + Sizes.human(sizeBytes) + "); it is formatted on first mount");
            return;
        }
        boolean regular = Files.isRegularFile(device);
        boolean block = !regular && isBlockDevice(device);
        if (!regular && !block) {
            throw new BadDeviceException(device + " is neither a regular file nor a block device", false);
        }
        if (!Files.isReadable(device) || !Files.isWritable(device)) {
            throw new BadDeviceException(device + " is not readable and writable by this user", false);
        }
        long actual;
        try {
            actual = regular ? Files.size(device) : blockDeviceSize(device);
        } catch (IOException e) {
            throw new BadDeviceException("cannot read the size of " + device + ": " + describe(e), false);
        }
        if (actual < FrameworkProperties.MIN_DEVICE_BYTES) {
            throw new BadDeviceException(
                    device + " holds " + Sizes.human(actual) + ", too small; FSP needs at least "
                            + Sizes.human(FrameworkProperties.MIN_DEVICE_BYTES),
                    false);
        }
    }

    private static boolean isBlockDevice(Path p) {
        try {
            return Files.getAttribute(p, "unix:mode") instanceof Integer m && (m & 0170000) == 0060000; // S_IFBLK
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static long blockDeviceSize(Path p) throws IOException {
        String name = p.toRealPath().getFileName().toString();
        Path sysSize = Path.of("/sys/class/block", name, "size");
        return Long.parseLong(Files.readString(sysSize).trim()) * 512; // sysfs counts 512-byte sectors
    }

    private static String describe(IOException e) {
        return e.getClass().getSimpleName().replace("Exception", "") + " " + e.getMessage();
    }
}
