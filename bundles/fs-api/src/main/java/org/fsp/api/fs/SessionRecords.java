package org.fsp.api.fs;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What lets a client carry on across a restart of the file system's process (see {@code docs/recovery.md}):
 * exactly-once records of its requests kept in the journal, re-open tokens for its handles, and the binding of its
 * session token to the uid that first presented it. Implemented by fs-core next to {@link FileSystemService}; used by
 * the IPC front end, which checks a client's credentials and tokens before it calls anything here.
 *
 * <p>A typical sequence for a recorded request is: {@link #recorded} (answered from the record if the request was
 * applied before a crash), else {@link #recording} around the call, then {@link #commitRecording} for a namespace
 * change, before the answer goes out.
 */
@ProviderType
public interface SessionRecords {

    /**
     * What a recorded call returned to its client.
     *
     * @param result the call's result (0, bytes written)
     * @param inoOrPosition for an open the inode; for a write where it ended (bytes)
     * @param generation for an open the inode's generation
     * @param flags for an open its flags
     */
    record Outcome(long result, long inoOrPosition, int generation, int flags) {}

    /** A call whose outcome is recorded. */
    @FunctionalInterface
    interface RecordedCall<T> {
        T call() throws FsException;
    }

    /** True if the device has a session table: records are kept and re-open tokens can be verified. */
    boolean recordsKept();

    /**
     * Binds the session token to {@code uid}, or confirms that it is bound to it; false if another uid holds it (the
     * caller refuses the client).
     */
    boolean claim(long tokenHigh, long tokenLow, int uid);

    /** The outcome recorded for the token's {@code key} if its last recorded sequence is {@code seq}, else null. */
    Outcome recorded(long tokenHigh, long tokenLow, int key, long seq);

    /**
     * Runs {@code call}; the transaction holding its change also holds the record of (token, key, seq) and its
     * outcome, so after a crash both or neither are there. A call that fails leaves no record.
     */
    <T> T recording(long tokenHigh, long tokenLow, int key, long seq, RecordedCall<T> call) throws FsException;

    /** What the calling thread's last {@link #recording} recorded, or null if it recorded nothing. */
    Outcome lastRecording();

    /**
     * Returns once the last {@link #recording} of the calling thread, and so its change, survives a crash of this
     * process (written to the device; a power loss needs a later sync, as for any unsynced change).
     */
    void commitRecording() throws FsException;

    /**
     * Returns once every change made so far survives a crash of this process (the journal written up to its running
     * transaction, with group commit: concurrent callers share a write; the flush comes with the next sync or the
     * flusher's period). For a front end that answers a change only once a crash of
     * this process can no longer lose it (the FUSE mount under {@code fspd --supervise}); file data not journaled
     * needs the handle's fdatasync.
     */
    void commitChanges() throws FsException;

    /** Erases the token's records: its client went away while this file system ran. */
    void forget(long tokenHigh, long tokenLow);

    /** The re-open token of {@code handle} for the session {@code (tokenHigh, tokenLow)}, written at {@code at}. */
    void reopenToken(long tokenHigh, long tokenLow, long handle, MemorySegment at) throws FsException;

    /**
     * Opens the file a re-open token names again, at {@code position}: the token's MAC must be this device's for this
     * session, and the inode must still be the one it names (same generation, also a file unlinked while open that
     * the mount kept). {@code flags} are the token's, or those without O_APPEND. Permissions are not checked again:
     * the token proves the file was opened with these flags. EACCES for a token that is not valid, ESTALE for a file
     * that is gone.
     */
    long reopen(Credentials who, long tokenHigh, long tokenLow, MemorySegment token, int flags, long position)
            throws FsException;

    /** Opens the file an open's recorded outcome names, as {@link #reopen} does for a token, at position 0. */
    long reopenRecorded(Credentials who, Outcome opened) throws FsException;

    /**
     * The generation of inode {@code ino} while it is in use (a file unlinked while open included), so that a front
     * end that names files by inode number (FUSE's node ids) can tell a reused number from the file it knew. ESTALE
     * for a number that is free.
     */
    int generation(long ino) throws FsException;

    /** The handle's position, bytes. */
    long position(long handle) throws FsException;
}
