package org.fsp.ipc.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.fsp.linux.IoUring;
import org.fsp.linux.IoUringRing;
import org.fsp.linux.NativeException;

/**
 * How a mount's requests reach fspd: {@link #CLASSIC} reads and writes of {@code /dev/fuse} descriptors,
 * {@link #URING} FUSE-over-io_uring (ring entries per CPU queue; FORGET, INTERRUPT and notices still go by the
 * descriptor), {@link #AUTO} io_uring when this kernel allows it, else classic.
 */
enum FuseTransport {
    AUTO,
    URING,
    CLASSIC;

    /** The kernel's switch for FUSE-over-io_uring; root may write Y to it. */
    static final Path ENABLE_URING = Path.of("/sys/module/fuse/parameters/enable_uring");

    /**
     * "auto", "uring", "io_uring" or "classic", any case; unset is auto: io_uring where root switched the kernel's
     * FUSE-over-io_uring on, since the ring entries and the requests in them cross a live upgrade.
     */
    static FuseTransport parse(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "", "auto" -> AUTO;
            case "uring", "io_uring", "io-uring" -> URING;
            case "classic", "dev", "read/write" -> CLASSIC;
            default -> throw new IllegalArgumentException("transport must be auto, uring or classic, not '" + s + "'");
        };
    }

    /** Null when FUSE-over-io_uring can be used here, else why not, in words for the log. */
    static String uringUnavailable(Path enableUring) {
        String flag;
        try {
            flag = Files.readString(enableUring).trim();
        } catch (IOException e) {
            return "this kernel has no FUSE-over-io_uring (" + enableUring + " is missing)";
        }
        if (!flag.equals("Y") && !flag.equals("1")) {
            return enableUring + " is " + flag + " (root may write Y to it)";
        }
        try (IoUringRing probe = IoUringRing.setup(2, IoUring.IORING_SETUP_SQE128, 0)) {
            return null;
        } catch (NativeException | IllegalArgumentException e) {
            return "cannot create an io_uring with 128-byte SQEs: " + e.getMessage();
        }
    }
}
