package org.fsp.ipc.fuse;

import static org.fsp.ipc.fuse.FuseOpcodes.*;

import org.fsp.api.fs.Errno;
import org.fsp.ipc.fuse.FuseRequest.Init;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What INIT settled for one mount: the protocol minor version (the lower of the kernel's and
 * {@link FuseAbi#KERNEL_MINOR_VERSION}), the capability flags both sides have, and the largest WRITE. Refuses a kernel
 * older than {@link FuseAbi#MIN_MINOR_VERSION} (an error: the kernel then fails the mount's first access) and answers a
 * newer major version with ours alone, so that the kernel retries INIT with it.
 *
 * <p>FUSE-over-io_uring is asked for (FUSE_INIT_EXT with FUSE_OVER_IO_URING in flags2) only when the transport wants
 * it and the kernel offered it; once settled, the kernel serves requests from ring entries as soon as every CPU queue
 * has one, and a settled connection cannot go back. The 32-bit {@link #flags()} that a live upgrade hands on keep
 * FUSE_INIT_EXT exactly when FUSE_OVER_IO_URING was settled ({@link #overIoUring()}), since the hand-off carries no
 * flags2.
 */
final class FuseConnection {

    private static final Logger LOG = LoggerFactory.getLogger(FuseConnection.class);

    /** Bytes in one WRITE at most: 1 MiB, 256 pages. */
    static final int MAX_WRITE = 1 << 20;

    static final int MAX_PAGES = MAX_WRITE / 4096;
    /** Background requests (readahead, async direct I/O) the kernel queues at most. */
    static final int MAX_BACKGROUND = 64;

    /** The answer to a kernel whose protocol this front end does not speak (fs-api's Errno has no EPROTO). */
    private static final Errno EPROTO = Errno.EIO;

    /** What this file system asks for; the reply carries those the kernel offered. */
    static final int WANTED = FUSE_ASYNC_READ
            | FUSE_ATOMIC_O_TRUNC
            | FUSE_BIG_WRITES
            | FUSE_AUTO_INVAL_DATA
            | FUSE_DO_READDIRPLUS
            | FUSE_READDIRPLUS_AUTO
            | FUSE_ASYNC_DIO
            | FUSE_PARALLEL_DIROPS
            | FUSE_HANDLE_KILLPRIV
            | FUSE_HANDLE_KILLPRIV_V2
            | FUSE_POSIX_LOCKS
            | FUSE_FLOCK_LOCKS
            | FUSE_MAX_PAGES;

    private final int wanted;
    private volatile boolean wantsIoUring;
    private volatile int kernelMinor = -1;
    private volatile int minor = -1;
    private volatile int flags;
    private volatile boolean destroyed;
    private volatile Runnable onInit;
    private volatile Runnable onInitAnswered;

    /**
     * Asks for {@link #WANTED}, with {@code writebackCache} also for FUSE_WRITEBACK_CACHE, and with {@code ioUring}
     * for FUSE_OVER_IO_URING when the kernel offers it.
     */
    FuseConnection(boolean writebackCache, boolean ioUring) {
        this.wanted = WANTED | (writebackCache ? FUSE_WRITEBACK_CACHE : 0);
        this.wantsIoUring = ioUring;
    }

    FuseConnection(boolean writebackCache) {
        this(writebackCache, false);
    }

    FuseConnection() {
        this(false);
    }

    FuseReply negotiate(Init init) {
        if (init.major() > FuseAbi.KERNEL_VERSION) {
            return new FuseReply.MajorOnly();
        }
        if (init.major() < FuseAbi.KERNEL_VERSION || init.minor() < FuseAbi.MIN_MINOR_VERSION) {
            LOG.error(
                    "the kernel speaks FUSE {}.{}; this front end needs {}.{} or newer",
                    init.major(),
                    init.minor(),
                    FuseAbi.KERNEL_VERSION,
                    FuseAbi.MIN_MINOR_VERSION);
            return new FuseReply.Error(EPROTO);
        }
        kernelMinor = init.minor();
        minor = Math.min(init.minor(), FuseAbi.KERNEL_MINOR_VERSION);
        boolean uring =
                wantsIoUring && (init.flags() & FUSE_INIT_EXT) != 0 && (init.flags2() & FUSE_OVER_IO_URING_FLAGS2) != 0;
        flags = (init.flags() & wanted) | (uring ? FUSE_INIT_EXT : 0);
        LOG.info(
                "FUSE {}.{} (kernel {}.{}), flags {}{}",
                FuseAbi.KERNEL_VERSION,
                minor,
                init.major(),
                init.minor(),
                Integer.toHexString(flags),
                uring
                        ? ", FUSE_OVER_IO_URING"
                        : wantsIoUring ? "; the kernel does not offer FUSE_OVER_IO_URING (enable_uring is N)" : "");
        Runnable r = onInit;
        if (r != null) {
            r.run();
        }
        return new FuseReply.Init(
                minor,
                init.maxReadahead(),
                flags,
                uring ? FUSE_OVER_IO_URING_FLAGS2 : 0,
                MAX_WRITE,
                MAX_PAGES,
                MAX_BACKGROUND);
    }

    /**
     * Runs {@code r} once INIT's answer has been written: the kernel takes io_uring registrations only from then on
     * (before, they fail with EAGAIN).
     */
    void onInitAnswered(Runnable r) {
        onInitAnswered = r;
    }

    /** Called by the serving loop that wrote INIT's answer. */
    void initAnswered() {
        Runnable r = onInitAnswered;
        if (r != null) {
            r.run();
        }
    }

    /** True once INIT settled on FUSE-over-io_uring: requests then come from ring entries, not from reads. */
    boolean overIoUring() {
        return minor >= 0 && (flags & FUSE_INIT_EXT) != 0;
    }

    /** Whether the next INIT asks for FUSE-over-io_uring (when the kernel offers it). */
    void wantIoUring(boolean want) {
        wantsIoUring = want;
    }

    /** Runs {@code r} each time INIT settles (before the answer goes out): the supervisor is told what it settled. */
    void onInit(Runnable r) {
        onInit = r;
    }

    /** What a previous version of this front end settled with the kernel (a live upgrade: no second INIT comes). */
    void restore(int minor, int kernelMinor, int flags) {
        this.minor = minor;
        this.kernelMinor = kernelMinor;
        this.flags = flags;
    }

    int minor() {
        return minor;
    }

    int kernelMinor() {
        return kernelMinor;
    }

    void destroyed() {
        destroyed = true;
    }

    boolean isDestroyed() {
        return destroyed;
    }

    /** "7.31 (kernel 7.45)", or "not initialised". */
    String protocol() {
        return minor < 0 ? "not initialised" : FuseAbi.KERNEL_VERSION + "." + minor + " (kernel 7." + kernelMinor + ")";
    }

    int flags() {
        return flags;
    }

    /**
     * True once INIT settled on the kernel's writeback cache: the kernel then owns the file size and O_APPEND
     * positions, and may read a page of a file opened write-only to fill it before a partial write.
     */
    boolean writebackCache() {
        return (flags & FUSE_WRITEBACK_CACHE) != 0;
    }
}
