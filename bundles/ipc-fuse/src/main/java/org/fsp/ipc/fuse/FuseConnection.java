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
            | FUSE_POSIX_LOCKS
            | FUSE_FLOCK_LOCKS
            | FUSE_MAX_PAGES;

    private final int wanted;
    private volatile int kernelMinor = -1;
    private volatile int minor = -1;
    private volatile int flags;
    private volatile boolean destroyed;
    private volatile Runnable onInit;

    /** Asks for {@link #WANTED}, and with {@code writebackCache} also for FUSE_WRITEBACK_CACHE. */
    FuseConnection(boolean writebackCache) {
        this.wanted = WANTED | (writebackCache ? FUSE_WRITEBACK_CACHE : 0);
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
        flags = init.flags() & wanted;
        LOG.info(
                "FUSE {}.{} (kernel {}.{}), flags {}",
                FuseAbi.KERNEL_VERSION,
                minor,
                init.major(),
                init.minor(),
                Integer.toHexString(flags));
        Runnable r = onInit;
        if (r != null) {
            r.run();
        }
        return new FuseReply.Init(minor, init.maxReadahead(), flags, MAX_WRITE, MAX_PAGES, MAX_BACKGROUND);
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
