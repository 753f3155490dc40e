package org.fsp.ipc.fuse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.SessionRecords;
import org.fsp.ipc.fuse.FuseRequest.*;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once answers for namespace changes the kernel re-sends to a process that took a FUSE mount over (see
 * {@code docs/recovery.md}): each such request is applied with a record of its {@code unique} in fs-core's session
 * table, in the same journal transaction as the change, and a re-sent request (the kernel sets
 * {@link #FUSE_UNIQUE_RESEND} in its unique, which is otherwise kept) that finds its record was applied by the process
 * that died and is answered without applying it again.
 *
 * <p>The records of one mount share a session token made from its mount point, so that the process taking over finds
 * them; the key is the unique modulo {@link #KEYS} (a unique is never reused on a connection), so a record lasts until
 * {@link #KEYS} later requests of any kind have been read, far more than are in flight at once.
 */
final class ResendRecords {

    private static final Logger LOG = LoggerFactory.getLogger(ResendRecords.class);

    /** include/uapi/linux/fuse.h: the bit the kernel sets in the unique of a request it sends again. */
    static final long FUSE_UNIQUE_RESEND = 1L << 63;

    /** Keys per mount: one record each in the session table. */
    static final int KEYS = 256;

    private final long tokenHigh;
    private final long tokenLow;
    /** True on a mount made by this process: records an earlier connection left on this mount point are erased. */
    private final boolean freshConnection;

    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean usable = true;

    ResendRecords(Path mountPoint, boolean freshConnection) {
        this.freshConnection = freshConnection;
        byte[] d;
        try {
            d = MessageDigest.getInstance("SHA-256")
                    .digest(("fsp-fuse-mount:" + mountPoint.toAbsolutePath().normalize())
                            .getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        long high = 0;
        long low = 0;
        for (int i = 0; i < 8; i++) {
            high = high << 8 | (d[i] & 0xff);
            low = low << 8 | (d[8 + i] & 0xff);
        }
        // A zero token marks a free record.
        this.tokenHigh = high == 0 && low == 0 ? 1 : high;
        this.tokenLow = low;
    }

    /** Requests whose repetition would give another answer or another state. */
    static boolean recordedKind(FuseRequest r) {
        return switch (r) {
            case Mkdir m -> true;
            case Mknod m -> true;
            case Symlink s -> true;
            case Link l -> true;
            case Unlink u -> true;
            case Rmdir d -> true;
            case Rename m -> true;
            case Create c -> true;
            default -> false;
        };
    }

    static boolean resent(FuseRequest r) {
        return (r.header().unique() & FUSE_UNIQUE_RESEND) != 0;
    }

    static long sequence(FuseRequest r) {
        return r.header().unique() & ~FUSE_UNIQUE_RESEND;
    }

    /** Uniques go up in steps of two (bit 0 marks an interrupt), so the key uses the bits above. */
    static int key(FuseRequest r) {
        return (int) ((sequence(r) >>> 1) % KEYS);
    }

    /**
     * The session records to use for {@code r}, or null when it is not recorded (not a namespace change, or a device
     * without a session table). The first call binds this mount's token (and on a fresh connection erases what an
     * earlier one left).
     */
    SessionRecords recordsFor(Object fs, FuseRequest r) {
        if (!usable || !recordedKind(r) || !(fs instanceof SessionRecords rs) || !rs.recordsKept()) {
            return null;
        }
        if (started.compareAndSet(false, true)) {
            if (freshConnection) {
                rs.forget(tokenHigh, tokenLow);
            }
            if (!rs.claim(tokenHigh, tokenLow, 0)) {
                LOG.warn("the FUSE mount's record token is held by another uid: re-sent requests are not recorded");
                usable = false;
                return null;
            }
        }
        return rs;
    }

    /** True if {@code r} is a re-sent request that the process before this one applied (its record is there). */
    boolean applied(SessionRecords rs, FuseRequest r) {
        return resent(r) && rs.recorded(tokenHigh, tokenLow, key(r), sequence(r)) != null;
    }

    /** Runs {@code call}, the transaction of its change also holding the record of {@code r}. */
    <T> T recording(SessionRecords rs, FuseRequest r, SessionRecords.RecordedCall<T> call) throws FsException {
        return rs.recording(tokenHigh, tokenLow, key(r), sequence(r), call);
    }
}
