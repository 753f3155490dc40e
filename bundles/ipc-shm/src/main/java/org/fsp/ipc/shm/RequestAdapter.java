package org.fsp.ipc.shm;

import static org.fsp.api.channel.ChannelOpcodes.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.PayloadCodec;
import org.fsp.api.channel.RequestFlyweight;
import org.fsp.api.channel.ResponseFlyweight;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.fs.SessionRecords;
import org.fsp.api.handoff.LayerGate;
import org.fsp.linux.Futex;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives one request from a client's slot, checks it, runs it against the file system and completes the slot: the
 * server end of the channel. One adapter per worker thread (it owns private buffers).
 *
 * <p>The client can rewrite its slot at any moment, so the adapter first copies the request header, and then each
 * path or data block it uses, into its own memory, and reads every field from that copy exactly once. Offsets into
 * the segment come from the session's geometry only; lengths, handles, paths, flags and modes are checked before use
 * ({@link RequestArguments}), and a bad one completes the request with the errno Linux would give (EINVAL, EBADF,
 * ENAMETOOLONG, ENOSYS...). The
 * file system never sees the shared segment, with one exception: the data of a bulk request (up to 1 MiB), which the
 * file system copies once, straight between its cache and the range of the segment's bulk area that the request
 * names, after that range was checked against the server's own geometry. The client can change those bytes meanwhile,
 * which only tears its own data, and the segment stays mapped until the copy is done
 * ({@link ClientSession#beginBulkCopy}).
 *
 * <p>Its length (about 650 lines): one switch over every opcode of the channel, with the helpers of the opcodes that
 * fill a reply (open, reads and writes, bulk transfers, locks, xattrs, readdir, attributes) and the exactly-once
 * records of a session with a token; all of them read the same private copy of the slot and write the same reply, so
 * the rule that each field is read once, from the copy, is checked in one class. The checks of the arguments are
 * {@link RequestArguments}', a client's handles {@link OpenFileTable}'s, which slot comes next {@link LaneWorker}'s, and
 * the way into the file system {@link FileSystemGate}'s.
 */
final class RequestAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(RequestAdapter.class);
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final FileSystemGate gate;
    /** The way into the file system of the current request; set per request. */
    private LayerGate.Entry<FileSystemService> entry;
    /** The file system the current request entered through the gate; set per request. */
    private FileSystemService fs;

    private final MemorySegment header;
    /** The private copy of a slot's data; as large as the largest slot served (adopted clients may have larger). */
    private MemorySegment data;

    private final RequestFlyweight request = new RequestFlyweight();
    private final ResponseFlyweight response = new ResponseFlyweight();
    /** The request's arguments, checked. */
    private final RequestArguments args = new RequestArguments(request);

    private int payloadLength;
    /** The position field of the response: where a read or write left the handle. */
    private long responsePosition;
    /** The lease field of the response: a PREAD's read lease, or 0. */
    private long responseLease;
    /** Where read leases come from, or null for none. */
    private final ReadLeases leases;
    /** Where directory watches are kept, or null for none. */
    private final DirectoryWatches watches;

    /** Failures inside the server that a client's requests can cause at will: logged once per interval. */
    private final RateLimitedLog failures = new RateLimitedLog(LOG);

    RequestAdapter(FileSystemGate gate, int slotDataBytes) {
        this(gate, slotDataBytes, null);
    }

    /** An adapter that grants read leases from {@code leases} (null: none). */
    RequestAdapter(FileSystemGate gate, int slotDataBytes, ReadLeases leases) {
        this(gate, slotDataBytes, leases, null);
    }

    /** An adapter that also keeps directory watches in {@code watches} (null: WATCH_ADD answers ENOSYS). */
    RequestAdapter(FileSystemGate gate, int slotDataBytes, ReadLeases leases, DirectoryWatches watches) {
        this.watches = watches;
        this.gate = gate;
        this.leases = leases;
        this.header = Arena.ofAuto().allocate(SlotDescriptor.SLOT_HEADER_BYTES, 64);
        this.data = Arena.ofAuto().allocate(slotDataBytes, 4096);
    }

    /**
     * Executes the request in slot {@code slot} of lane {@code lane} and publishes its response, waking the client if
     * it sleeps; returns false, leaving the slot untouched, while the file system gate holds requests. Throws
     * {@link IllegalStateException} only if the session was released meanwhile (its segment is gone); every other
     * failure becomes an errno in the response.
     */
    boolean execute(ClientSession s, int lane, int slot) {
        entry = gate.tryEnter();
        if (entry == null && !gate.waitedTooLong()) {
            return false;
        }
        fs = entry == null ? null : entry.service();
        long slotOffset = s.layout.slotOffset(lane, slot);
        long dataOffset = s.layout.dataOffset(lane, slot);
        if (data.byteSize() < s.layout.slotDataBytes()) {
            // A client adopted from a predecessor configured with larger slots keeps its own slot size.
            data = Arena.ofAuto().allocate(s.layout.slotDataBytes(), 4096);
        }
        long result;
        try {
            // Copy out before validation: whatever the client writes from now on does not change this request.
            MemorySegment.copy(s.segment, slotOffset, header, 0, SlotDescriptor.REQUEST_COPY_BYTES);
            request.wrap(header, 0);
            payloadLength = 0;
            responsePosition = 0;
            responseLease = 0;
            result = fs == null ? -Errno.EIO.code() : guardedDispatch(s, dataOffset);
        } finally {
            if (entry != null) {
                entry.exit();
                entry = null;
                fs = null;
            }
        }
        response.wrap(s.segment, slotOffset)
                .result(result)
                .payloadLength(payloadLength)
                .position(responsePosition)
                .lease(responseLease)
                .completedAt(System.nanoTime());
        int before = response.complete();
        s.requestsServed.increment();
        // The swap above is a full fence, so this read cannot pass it: either a client waker still spinning sees the
        // completion in its scan, or this read sees that none is left (the waker's mirror image: decrement, scan).
        if ((before & SlotDescriptor.WAITER) != 0 && !clientWakes(s)) {
            try {
                Futex.wake(MemorySegment.ofAddress(s.segment.address() + slotOffset), 1);
            } catch (NativeException e) {
                LOG.debug("{}: futex wake failed (segment going away)", s, e);
            }
        }
        return true;
    }

    /** True if a thread of the client is spinning and scanned for answered sleepers just now, so it makes the wake. */
    private static boolean clientWakes(ClientSession s) {
        if ((int) INT.getVolatile(s.segment, (long) ChannelHeaderDescriptor.CLIENT_WAKERS_OFFSET) <= 0) {
            return false;
        }
        long beat = (long) LONG.getVolatile(s.segment, (long) ChannelHeaderDescriptor.CLIENT_WAKER_HEARTBEAT_OFFSET);
        return System.nanoTime() - beat < ChannelHeaderDescriptor.WAKER_STALE_NANOS;
    }

    /**
     * Runs the copied request against the file system; returns the result. Whatever escapes the file system becomes
     * EIO for this request only: an {@link Error} too (a StackOverflowError or OutOfMemoryError a hostile request
     * provoked, an AssertionError), so that the slot is completed, the request is never run again and the worker goes
     * on.
     */
    private long guardedDispatch(ClientSession s, long dataOffset) {
        try {
            return dispatch(s, dataOffset);
        } catch (FsException e) {
            payloadLength = 0;
            return -e.errno().code();
        } catch (RuntimeException e) {
            if (!s.arena.scope().isAlive()) {
                throw e;
            }
            failed(s, e);
            return -Errno.EIO.code();
        } catch (Error e) {
            failed(s, e);
            return -Errno.EIO.code();
        }
    }

    private void failed(ClientSession s, Throwable e) {
        payloadLength = 0;
        String op = name(request.opcode());
        if (failures.warn(e.getClass().getSimpleName(), "{}: {} failed inside the server: {}", s, op, e.toString())) {
            LOG.debug("{}: {} failed inside the server", s, op, e);
        }
    }

    /**
     * Runs a request, at most once if it carries a sequence (see {@code docs/recovery.md}): one the file system
     * recorded before a restart is answered from its record, any other is applied with its record in the same
     * transaction, and a namespace change is durable before its answer.
     */
    private long dispatch(ClientSession s, long dataOffset) throws FsException {
        long seq = request.sequence();
        int op = request.opcode();
        if (seq == 0 || !isRecorded(op) || !s.hasToken() || !(fs instanceof SessionRecords rs) || !rs.recordsKept()) {
            return apply(s, dataOffset);
        }
        int key = request.recordKey();
        if (seq < 0 || key < 0 || key >= SlotDescriptor.RECORD_KEYS) {
            throw new FsException(Errno.EINVAL, "sequence " + seq + " key " + key);
        }
        claim(s, rs);
        SessionRecords.Outcome done = rs.recorded(s.tokenHigh, s.tokenLow, key, seq);
        if (done != null) {
            // Rare (only requests in flight when the previous server died): worth a line each.
            LOG.info("{}: {} of sequence {} answered from its record", s, name(op), seq);
            return answer(s, rs, dataOffset, done);
        }
        long result = rs.recording(s.tokenHigh, s.tokenLow, key, seq, () -> apply(s, dataOffset));
        SessionRecords.Outcome recorded = rs.lastRecording();
        if (isWrite(op) && recorded != null) {
            responsePosition = recorded.inoOrPosition();
        }
        if (!isWrite(op)) {
            rs.commitRecording();
        }
        return result;
    }

    /** Requests that change the namespace or append: the ones a second application would answer differently. */
    private static boolean isRecorded(int op) {
        return switch (op) {
            case OPEN,
                    MKDIR,
                    RMDIR,
                    UNLINK,
                    RENAME,
                    RENAME2,
                    LINK,
                    SYMLINK,
                    WRITE,
                    PWRITE,
                    WRITE_BULK,
                    PWRITE_BULK,
                    OPENAT,
                    UNLINKAT,
                    RENAMEAT -> true;
            default -> false;
        };
    }

    private static boolean isWrite(int op) {
        return op == WRITE || op == PWRITE || op == WRITE_BULK || op == PWRITE_BULK;
    }

    /** Confirms once per session that its token is its uid's (a hello that came before the file system could not). */
    private static void claim(ClientSession s, SessionRecords rs) throws FsException {
        if (!s.tokenClaimed) {
            if (!rs.claim(s.tokenHigh, s.tokenLow, s.credentials.uid())) {
                throw new FsException(Errno.EACCES, "session token of another uid");
            }
            s.tokenClaimed = true;
        }
    }

    /** The answer a request applied before a restart gave, from its record: for an open an equivalent new handle. */
    private long answer(ClientSession s, SessionRecords rs, long dataOffset, SessionRecords.Outcome done)
            throws FsException {
        int op = request.opcode();
        if (op == OPEN || op == OPENAT) {
            return addHandle(s, rs, dataOffset, rs.reopenRecorded(s.credentials, done));
        }
        if (isWrite(op)) {
            responsePosition = done.inoOrPosition();
        }
        return done.result();
    }

    /** Gives the client a number for {@code fsHandle} and, for a session with a token, its re-open token. */
    private long addHandle(ClientSession s, SessionRecords rs, long dataOffset, long fsHandle) throws FsException {
        long clientHandle;
        try {
            clientHandle = s.files.add(fsHandle);
        } catch (FsException e) {
            fs.close(s.credentials, fsHandle);
            throw e;
        }
        if (clientHandle < 0) {
            fs.close(s.credentials, fsHandle);
            throw new FsException(Errno.EBADF, "client gone");
        }
        if (rs != null && s.hasToken() && rs.recordsKept()) {
            rs.reopenToken(
                    s.tokenHigh, s.tokenLow, fsHandle, s.segment.asSlice(dataOffset, PayloadCodec.REOPEN_TOKEN_BYTES));
            payloadLength = PayloadCodec.REOPEN_TOKEN_BYTES;
        }
        return clientHandle;
    }

    private long reopen(ClientSession s, long dataOffset) throws FsException {
        if (!s.hasToken() || !(fs instanceof SessionRecords rs) || !rs.recordsKept()) {
            throw new FsException(Errno.ENOSYS, "no session records");
        }
        claim(s, rs);
        if (request.length() != PayloadCodec.REOPEN_TOKEN_BYTES || s.layout.slotDataBytes() < request.length()) {
            throw new FsException(Errno.EINVAL, "re-open token of " + request.length() + " bytes");
        }
        if (s.files.size() >= s.files.limit()) {
            throw new FsException(Errno.EMFILE, "re-open");
        }
        MemorySegment token = data.asSlice(0, PayloadCodec.REOPEN_TOKEN_BYTES);
        MemorySegment.copy(s.segment, dataOffset, token, 0, PayloadCodec.REOPEN_TOKEN_BYTES);
        long position = request.fileOffset();
        long fsHandle = rs.reopen(s.credentials, s.tokenHigh, s.tokenLow, token, request.flags(), position);
        return addHandle(s, rs, dataOffset, fsHandle);
    }

    private long apply(ClientSession s, long dataOffset) throws FsException {
        Credentials who = s.credentials;
        int op = request.opcode();
        switch (op) {
            case NOOP:
                return 0;
            case STAT:
                return attributes(s, dataOffset, fs.stat(who, args.path(s, dataOffset, 1)));
            case LSTAT:
                return attributes(s, dataOffset, fs.lstat(who, args.path(s, dataOffset, 1)));
            case FSTAT:
                return attributes(s, dataOffset, fs.fstat(who, s.files.lookup(request.handle())));
            case OPEN:
                return open(s, dataOffset);
            case READ:
            case PREAD:
                return read(s, dataOffset, op == PREAD);
            case WRITE:
            case PWRITE:
                return write(s, dataOffset, op == PWRITE);
            case TRUNCATE:
                fs.truncate(who, args.path(s, dataOffset, 1), args.size());
                return 0;
            case FTRUNCATE:
                fs.ftruncate(who, s.files.lookup(request.handle()), args.size());
                return 0;
            case FSYNC:
                fs.fsync(who, s.files.lookup(request.handle()));
                return 0;
            case FDATASYNC:
                fs.fdatasync(who, s.files.lookup(request.handle()));
                return 0;
            case CLOSE:
                if (leases != null) {
                    leases.released(s, request.handle());
                }
                fs.close(who, s.files.remove(request.handle()));
                return 0;
            case MKDIR:
                fs.mkdir(who, args.path(s, dataOffset, 1), args.mode());
                return 0;
            case RMDIR:
                fs.rmdir(who, args.path(s, dataOffset, 1));
                return 0;
            case UNLINK:
                fs.unlink(who, args.path(s, dataOffset, 1));
                return 0;
            case RENAME:
                fs.rename(who, args.path(s, dataOffset, 1), args.path(s, dataOffset, 2));
                return 0;
            case LINK:
                fs.link(who, args.path(s, dataOffset, 1), args.path(s, dataOffset, 2));
                return 0;
            case SYMLINK:
                fs.symlink(who, args.path(s, dataOffset, 1), args.path(s, dataOffset, 2));
                return 0;
            case READLINK:
                return readlink(s, dataOffset);
            case CHMOD:
                fs.chmod(who, args.path(s, dataOffset, 1), args.mode());
                return 0;
            case CHOWN:
                fs.chown(
                        who,
                        args.path(s, dataOffset, 1),
                        RequestArguments.id(request.arg0()),
                        RequestArguments.id(request.arg1()));
                return 0;
            case UTIMENS:
                fs.utimens(
                        who,
                        args.path(s, dataOffset, 1),
                        RequestArguments.time(request.arg0()),
                        RequestArguments.time(request.arg1()));
                return 0;
            case READDIR:
                return readdir(s, dataOffset);
            case STATFS:
                payloadLength = PayloadCodec.putStats(s.segment, dataOffset, fs.statfs(who));
                return 0;
            case SYNC:
                fs.sync();
                return 0;
            case RENAME2:
                int renameFlags = request.flags();
                if ((renameFlags & ~(FileSystemService.RENAME_NOREPLACE | FileSystemService.RENAME_EXCHANGE)) != 0) {
                    throw new FsException(Errno.EINVAL, "rename flags " + renameFlags);
                }
                fs.rename(who, args.path(s, dataOffset, 1), args.path(s, dataOffset, 2), renameFlags);
                return 0;
            case ACCESS:
                fs.access(who, args.path(s, dataOffset, 1), args.accessMode());
                return 0;
            case FCHMOD:
                fs.fchmod(who, s.files.lookup(request.handle()), args.mode());
                return 0;
            case FCHOWN:
                fs.fchown(
                        who,
                        s.files.lookup(request.handle()),
                        RequestArguments.id(request.arg0()),
                        RequestArguments.id(request.arg1()));
                return 0;
            case FUTIMENS:
                fs.futimens(
                        who,
                        s.files.lookup(request.handle()),
                        RequestArguments.time(request.arg0()),
                        RequestArguments.time(request.arg1()));
                return 0;
            case SETLK:
                return setlk(s);
            case READ_BULK:
            case PREAD_BULK:
                return readBulk(s, op == PREAD_BULK);
            case WRITE_BULK:
            case PWRITE_BULK:
                return writeBulk(s, op == PWRITE_BULK);
            case GETXATTR:
                return getxattr(s, dataOffset);
            case SETXATTR:
                return setxattr(s, dataOffset);
            case LISTXATTR:
                return listxattr(s, dataOffset);
            case REMOVEXATTR:
                fs.removexattr(who, args.path(s, dataOffset, 1), args.path(s, dataOffset, 2), args.follow(0));
                return 0;
            case REOPEN:
                return reopen(s, dataOffset);
            case OPENAT:
                return open(s, dataOffset);
            case FSTATAT:
                if ((request.flags() & ~FileSystemService.AT_SYMLINK_NOFOLLOW) != 0) {
                    throw new FsException(Errno.EINVAL, "fstatat flags " + request.flags());
                }
                return attributes(
                        s,
                        dataOffset,
                        fs.fstatat(
                                who, s.files.lookup(request.handle()), args.path(s, dataOffset, 1), request.flags()));
            case UNLINKAT:
                if ((request.flags() & ~FileSystemService.AT_REMOVEDIR) != 0) {
                    throw new FsException(Errno.EINVAL, "unlinkat flags " + request.flags());
                }
                fs.unlinkat(who, s.files.lookup(request.handle()), args.path(s, dataOffset, 1), request.flags());
                return 0;
            case RENAMEAT:
                int atFlags = request.flags();
                if ((atFlags & ~(FileSystemService.RENAME_NOREPLACE | FileSystemService.RENAME_EXCHANGE)) != 0) {
                    throw new FsException(Errno.EINVAL, "rename flags " + atFlags);
                }
                fs.renameat(
                        who,
                        s.files.lookup(request.handle()),
                        args.path(s, dataOffset, 1),
                        s.files.lookup(request.arg0()),
                        args.path(s, dataOffset, 2),
                        atFlags);
                return 0;
            case READDIRAT:
                return readdir(s, dataOffset);
            case WATCH_ADD:
                if (watches == null) {
                    throw new FsException(Errno.ENOSYS, "watch_add");
                }
                return watches.add(s, fs, who, args.path(s, dataOffset, 1));
            case WATCH_REMOVE:
                if (watches == null) {
                    throw new FsException(Errno.ENOSYS, "watch_remove");
                }
                watches.remove(s, request.handle());
                return 0;
            default:
                throw new FsException(Errno.ENOSYS, "opcode " + op);
        }
    }

    private long open(ClientSession s, long dataOffset) throws FsException {
        int flags = request.flags();
        if ((flags & ~OpenFlags.SUPPORTED) != 0 || (flags & OpenFlags.O_ACCMODE) == OpenFlags.O_ACCMODE) {
            throw new FsException(Errno.EINVAL, "open flags 0" + Integer.toOctalString(flags));
        }
        int mode = args.mode();
        String path = args.path(s, dataOffset, 1);
        if (s.files.size() >= s.files.limit()) {
            throw new FsException(Errno.EMFILE, path);
        }
        long fsHandle = request.opcode() == OPENAT
                ? fs.openat(s.credentials, s.files.lookup(request.handle()), path, flags, mode)
                : fs.open(s.credentials, path, flags, mode);
        return addHandle(s, fs instanceof SessionRecords rs ? rs : null, dataOffset, fsHandle);
    }

    private long read(ClientSession s, long dataOffset, boolean positioned) throws FsException {
        int length = args.length(s);
        long position = positioned ? args.position() : 0;
        long fsHandle = s.files.lookup(request.handle());
        // The lease comes before the data is read (see ReadLeases): a change it misses is one the read sees.
        long lease = leaseIfAsked(s, fsHandle, positioned);
        MemorySegment into = data.asSlice(0, length);
        int n = positioned ? fs.pread(s.credentials, fsHandle, position, into) : fs.read(s.credentials, fsHandle, into);
        if (n < 0 || n > length) {
            throw new FsException(Errno.EIO, "file system returned " + n + " of " + length + " bytes");
        }
        responsePosition = positioned ? position + n : positionOf(fsHandle);
        MemorySegment.copy(data, 0, s.segment, dataOffset, n);
        payloadLength = n;
        responseLease = lease;
        return n;
    }

    /**
     * For a positioned read that asks for one, a read lease on the regular file open as {@code fsHandle}, taken before
     * the data is read (see ReadLeases); else 0.
     */
    private long leaseIfAsked(ClientSession s, long fsHandle, boolean positioned) throws FsException {
        if (!positioned || (request.mode() & PREAD_WANTS_LEASE) == 0 || leases == null || !fs.publishesChanges()) {
            return 0;
        }
        FileAttributes a = fs.fstat(s.credentials, fsHandle);
        return a.isRegularFile() ? leases.grant(s, request.handle(), a.ino()) : 0;
    }

    private long write(ClientSession s, long dataOffset, boolean positioned) throws FsException {
        int length = args.length(s);
        long position = positioned ? args.position() : 0;
        long fsHandle = s.files.lookup(request.handle());
        MemorySegment.copy(s.segment, dataOffset, data, 0, length);
        MemorySegment from = data.asSlice(0, length);
        int n = positioned
                ? fs.pwrite(s.credentials, fsHandle, position, from)
                : fs.write(s.credentials, fsHandle, from);
        responsePosition = positioned ? position + n : positionOf(fsHandle);
        return n;
    }

    /** The handle's position after a read or write, where the file system tells it (else 0). */
    private long positionOf(long fsHandle) throws FsException {
        return fs instanceof SessionRecords rs ? rs.position(fsHandle) : 0;
    }

    /** Reads up to 1 MiB straight from the file system's cache into the bulk range the request names. */
    private long readBulk(ClientSession s, boolean positioned) throws FsException {
        MemorySegment into = args.bulkRange(s);
        long position = positioned ? args.position() : 0;
        long fsHandle = s.files.lookup(request.handle());
        long lease = leaseIfAsked(s, fsHandle, positioned);
        if (!s.beginBulkCopy()) {
            throw new FsException(Errno.EBADF, "client gone");
        }
        int n;
        try {
            n = positioned ? fs.pread(s.credentials, fsHandle, position, into) : fs.read(s.credentials, fsHandle, into);
        } finally {
            s.endBulkCopy();
        }
        if (n < 0 || n > into.byteSize()) {
            throw new FsException(Errno.EIO, "file system returned " + n + " of " + into.byteSize() + " bytes");
        }
        responsePosition = positioned ? position + n : positionOf(fsHandle);
        responseLease = lease;
        return n;
    }

    /** Writes up to 1 MiB that the file system copies straight from the bulk range the request names. */
    private long writeBulk(ClientSession s, boolean positioned) throws FsException {
        MemorySegment from = args.bulkRange(s);
        long position = positioned ? args.position() : 0;
        long fsHandle = s.files.lookup(request.handle());
        if (!s.beginBulkCopy()) {
            throw new FsException(Errno.EBADF, "client gone");
        }
        int n;
        try {
            n = positioned
                    ? fs.pwrite(s.credentials, fsHandle, position, from)
                    : fs.write(s.credentials, fsHandle, from);
        } finally {
            s.endBulkCopy();
        }
        responsePosition = positioned ? position + n : positionOf(fsHandle);
        return n;
    }

    private long setlk(ClientSession s) throws FsException {
        int type = request.flags();
        if (type != FileSystemService.F_RDLCK
                && type != FileSystemService.F_WRLCK
                && type != FileSystemService.F_UNLCK) {
            throw new FsException(Errno.EINVAL, "lock type " + type);
        }
        long start = request.fileOffset();
        long length = request.length();
        if (start < 0 || length < 0) {
            throw new FsException(Errno.EINVAL, "lock range " + start + "+" + length);
        }
        fs.setlk(s.credentials, s.files.lookup(request.handle()), type, start, length);
        return 0;
    }

    private long getxattr(ClientSession s, long dataOffset) throws FsException {
        byte[] value =
                fs.getxattr(s.credentials, args.path(s, dataOffset, 1), args.path(s, dataOffset, 2), args.follow(0));
        if (value.length > s.layout.slotDataBytes()) {
            throw new FsException(Errno.E2BIG, "extended attribute value of " + value.length + " bytes");
        }
        MemorySegment.copy(value, 0, s.segment, ValueLayout.JAVA_BYTE, dataOffset, value.length);
        payloadLength = value.length;
        return value.length;
    }

    private long setxattr(ClientSession s, long dataOffset) throws FsException {
        boolean follow = args.follow(FileSystemService.XATTR_CREATE | FileSystemService.XATTR_REPLACE);
        String path = args.path(s, dataOffset, 1);
        String name = args.path(s, dataOffset, 2);
        long names = (long) request.path1Length() + request.path2Length();
        long length = request.length();
        if (length < 0 || names + length > s.layout.slotDataBytes()) {
            throw new FsException(Errno.EINVAL, "extended attribute value of " + length + " bytes");
        }
        byte[] value = new byte[(int) length];
        MemorySegment.copy(s.segment, ValueLayout.JAVA_BYTE, dataOffset + names, value, 0, value.length);
        fs.setxattr(
                s.credentials,
                path,
                name,
                value,
                request.flags() & (FileSystemService.XATTR_CREATE | FileSystemService.XATTR_REPLACE),
                follow);
        return 0;
    }

    private long listxattr(ClientSession s, long dataOffset) throws FsException {
        List<String> names = fs.listxattr(s.credentials, args.path(s, dataOffset, 1), args.follow(0));
        int pos = 0;
        for (String n : names) {
            byte[] bytes = n.getBytes(StandardCharsets.UTF_8);
            if (pos + bytes.length + 1 > s.layout.slotDataBytes()) {
                throw new FsException(Errno.E2BIG, "extended attribute names do not fit one reply");
            }
            MemorySegment.copy(bytes, 0, data, ValueLayout.JAVA_BYTE, pos, bytes.length);
            data.set(ValueLayout.JAVA_BYTE, pos + bytes.length, (byte) 0);
            pos += bytes.length + 1;
        }
        MemorySegment.copy(data, 0, s.segment, dataOffset, pos);
        payloadLength = pos;
        return names.size();
    }

    private long readlink(ClientSession s, long dataOffset) throws FsException {
        byte[] target = fs.readlink(s.credentials, args.path(s, dataOffset, 1)).getBytes(StandardCharsets.UTF_8);
        if (target.length > s.layout.slotDataBytes()) {
            throw new FsException(Errno.ENAMETOOLONG, "link target of " + target.length + " bytes");
        }
        MemorySegment.copy(target, 0, s.segment, ValueLayout.JAVA_BYTE, dataOffset, target.length);
        payloadLength = target.length;
        return target.length;
    }

    private long readdir(ClientSession s, long dataOffset) throws FsException {
        long max = request.arg1();
        if (max <= 0) {
            throw new FsException(Errno.EINVAL, "readdir of " + max + " entries");
        }
        int capacity = s.layout.slotDataBytes();
        int fit = (int) Math.min(max, capacity / PayloadCodec.DIR_ENTRY_MAX_BYTES);
        List<DirEntry> entries = request.opcode() == READDIRAT
                ? fs.readdir(s.credentials, s.files.lookup(request.handle()), request.arg0(), fit)
                : fs.readdir(s.credentials, args.path(s, dataOffset, 1), request.arg0(), fit);
        int pos = 0;
        int count = 0;
        for (DirEntry e : entries) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            if (count == fit || pos + PayloadCodec.dirEntryBytes(name) > capacity) {
                break;
            }
            pos += PayloadCodec.putDirEntry(data, pos, e, name);
            count++;
        }
        MemorySegment.copy(data, 0, s.segment, dataOffset, pos);
        payloadLength = pos;
        return count;
    }

    private long attributes(ClientSession s, long dataOffset, FileAttributes a) {
        payloadLength = PayloadCodec.putAttributes(s.segment, dataOffset, a);
        return 0;
    }
}
