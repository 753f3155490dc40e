package org.fsp.client;

import static org.fsp.api.channel.ChannelOpcodes.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.PayloadCodec;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;

/**
 * FS Lib: a connection from this process to a running FS process (fspd) over a private shared-memory session.channel(). After
 * {@link #connect} no operation makes a system call in steady state: requests go through lock-free rings in the
 * shared segment and the calling thread spins briefly, then sleeps on a futex word, until the answer is there.
 *
 * <p>A typical sequence is:
 * <pre>{@code
 * try (FspClient fs = FspClient.connect(Path.of("/run/fsp/fsp.sock"))) {
 *     fs.mkdir("/data", 0755);
 *     fs.writeAll("/data/a.txt", bytes);
 *     long h = fs.open("/data/a.txt", OpenFlags.O_RDONLY, 0);
 *     try { int n = fs.pread(h, 0, buf, 0, buf.length); } finally { fs.close(h); }
 * }
 * }</pre>
 *
 * <p>Paths are absolute ({@code "/a/b"}). The operations are those of {@code FileSystemService}, by path and by handle;
 * handles are this connection's own and mean nothing to anyone else. Reads and writes larger than a slot's data buffer
 * are split into several requests; the caller does not see it (a split write at the handle's position is not atomic
 * with respect to other writers of the same file). Thread-safe: each thread is given a lane, each call a slot.
 * Failures are the usual {@code java.nio.file} exceptions ({@code NoSuchFileException}, {@code AccessDeniedException},
 * ...) that also implement {@link FspException} to give the errno. The caller's identity is what the kernel says about
 * this process when it connected; nothing here can claim another.
 *
 * <p>Its parts: {@link Reconnecting} (the channel to the current server and the re-attach to the next), and
 * {@link ClientHandles} (what each handle needs to outlive a restart). Its length (about 1,000 lines) is the API:
 * some 60 public operations, each filling one request and checking its answer.
 */
public final class FspClient implements AutoCloseable {

    /** Entries asked for per readdir request when listing a whole directory. */
    private static final int READDIR_BATCH = 1024;

    /** How long calls wait for a server that is gone to come back before they fail with EIO. */
    static final long RECONNECT_TIMEOUT_NANOS = parseDuration(System.getProperty("fsp.client.reconnectTimeout", "30s"));
    /**
     * {@code -Dfsp.client.recoverable=false}: no session token, so no exactly-once records and no re-open tokens (and no
     * commit before each namespace change's answer); FS Lib still reconnects, but its handles do not survive a restart.
     */
    static final boolean RECOVERABLE = Boolean.parseBoolean(System.getProperty("fsp.client.recoverable", "true"));

    /** The channel to the current server, and the re-attach to the next one when it goes away. */
    private final Reconnecting session;

    /** What this client holds per open handle, to carry it across a restart of the server. */
    private final ClientHandles handles = new ClientHandles();
    /** Data read under read leases, answered without a round trip; null with {@code -Dfsp.client.readCache=false}. */
    private final ClientReadCache readCache = ClientReadCache.ENABLED ? new ClientReadCache() : null;

    /** The directory watches of this client and their event thread. */
    private final ChangeEvents changeEvents;

    private FspClient(ChannelProxy channel, Path socket, int lanes, long tokenHigh, long tokenLow) {
        this.session = new Reconnecting(channel, socket, lanes, tokenHigh, tokenLow, handles);
        this.changeEvents = new ChangeEvents(session);
    }

    /** Connects to the FS process listening on {@code socket}, with the server's default number of lanes. */
    public static FspClient connect(Path socket) throws IOException {
        return connect(socket, 0);
    }

    /**
     * Connects asking for {@code lanes} lanes (0: the server's default; the server may grant fewer). Use about as many
     * lanes as threads that call at the same time.
     *
     * <p>Before anything is sent, the server's uid (SO_PEERCRED) must be root, this process's user, the uid in the
     * system property {@code fsp.server.uid} when set, or else the socket file's owner when no one but the
     * directory's owner can write the socket's directory; otherwise this fails with an {@link IOException} that names
     * the uid, so a socket planted in a shared directory cannot impersonate fspd.
     *
     * <p>The connection carries on across a crash and restart of the server (see {@code docs/recovery.md}): calls
     * pause while it is gone and fail with EIO only if no server answers on the socket within
     * {@code fsp.client.reconnectTimeout} (default 30s).
     */
    public static FspClient connect(Path socket, int lanes) throws IOException {
        long high = 0;
        long low = 0;
        if (RECOVERABLE) {
            byte[] t = new byte[16];
            new SecureRandom().nextBytes(t);
            high = MemorySegment.ofArray(t).get(ValueLayout.JAVA_LONG_UNALIGNED, 0) | 1;
            low = MemorySegment.ofArray(t).get(ValueLayout.JAVA_LONG_UNALIGNED, 8);
        }
        return new FspClient(Reconnecting.connectAcrossHandOff(socket, lanes, high, low), socket, lanes, high, low);
    }

    /**
     * The socket a default {@code fspd} listens on, as {@code fspd} and {@code fsp} find it (cli's FspPaths): system
     * property {@code fsp.socket} if set, else {@code fsp/fsp.sock} under {@code $XDG_RUNTIME_DIR}, else under
     * {@code /run/user/<uid>} if that exists, else {@code <java.io.tmpdir>/fsp-<uid>/fsp.sock}. Uses java.io only, so
     * that it is safe to call from a default file system provider.
     */
    public static Path defaultSocket() {
        String configured = System.getProperty("fsp.socket");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isBlank()) {
            return Path.of(runtime, "fsp", "fsp.sock");
        }
        long uid = uid();
        if (new java.io.File("/run/user/" + uid).isDirectory()) {
            return Path.of("/run/user/" + uid, "fsp", "fsp.sock");
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "fsp-" + uid, "fsp.sock");
    }

    /** The real uid from /proc/self/status, or 0 if it cannot be read. */
    private static long uid() {
        try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.FileReader("/proc/self/status"))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("Uid:")) {
                    return Long.parseLong(line.substring(4).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through: the same answer cli's FspPaths gives when it cannot tell
        }
        return 0;
    }

    /**
     * The exception FS Lib throws for {@code errno} about {@code file} (and {@code other}): the {@code java.nio.file}
     * type a Java user expects, also an {@link FspException}. For layers that show a file under another name.
     */
    public static java.nio.file.FileSystemException exception(Errno errno, String file, String other) {
        return FspExceptions.of(errno, file, other);
    }

    /** Lanes granted by the server. */
    public int laneCount() {
        return session.channel().layout.laneCount();
    }

    /** Bytes one request can carry; larger reads and writes are split. */
    public int slotDataBytes() {
        return session.channel().layout.slotDataBytes();
    }

    /** The number the server knows this connection by (as in {@code fsp:clients}); changes when it reconnects. */
    public long clientId() {
        return session.channel().clientId;
    }

    /** Times this connection re-attached to a restarted server. */
    public long reconnects() {
        return session.reconnects();
    }

    /**
     * System calls this connection made on the request path so far: futex sleeps of threads that waited longer than
     * their spin, and futex wake-ups of a server worker that had gone to sleep. In steady state under load it stays
     * flat; it grows when the server answers slower than the spin ({@code -Dfsp.client.spinMicros}, default 50) or
     * when requests come further apart than the worker's idle spin.
     */
    public long futexCalls() {
        return session.channel().futexCalls.sum();
    }

    /**
     * Sleeps of this client's threads that ended by their timeout although the answer had come: wakes that neither
     * the server nor a spinning thread of this client made. Zero unless something is wrong.
     */
    public long missedWakes() {
        return session.channel().missedWakes.sum();
    }

    /**
     * Positioned reads this client answered from data it holds under read leases, with no round trip (0 with
     * {@code -Dfsp.client.readCache=false} or a server older than channel minor 2).
     */
    public long cachedReads() {
        return readCache == null ? 0 : readCache.hits();
    }

    /** A request that does nothing: the channel's round trip, for measurements and liveness checks. */
    public void noop() throws IOException {
        simple(NOOP, null, null, 0, 0, 0, 0);
    }

    public FileAttributes stat(String path) throws IOException {
        return attributes(STAT, path, 0);
    }

    /** Like {@link #stat} but does not follow a final symlink. */
    public FileAttributes lstat(String path) throws IOException {
        return attributes(LSTAT, path, 0);
    }

    public FileAttributes fstat(long handle) throws IOException {
        return attributes(FSTAT, null, handle);
    }

    /** {@link #stat} (or, not following a final symlink, {@link #lstat}) of a path relative to directory handle dir. */
    public FileAttributes fstatat(long dir, String path, boolean follow) throws IOException {
        int flags = follow ? 0 : FileSystemService.AT_SYMLINK_NOFOLLOW;
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                c.request.opcode(FSTATAT).handle(handles.server(dir)).flags(flags);
                check(ch.submit(c), path, null);
                return PayloadCodec.getAttributes(ch.segment, c.dataOffset);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** unlink, or with {@code FileSystemService.AT_REMOVEDIR} rmdir, of a path relative to directory handle dir. */
    public void unlinkat(long dir, String path, int flags) throws IOException {
        session.invoke(true, (ch, seq, key) -> fill(ch, UNLINKAT, path, null, dir, 0, 0, flags, seq, key));
    }

    /** {@link #rename(String, String, int)} with {@code from} relative to directory handle fromDir, to to toDir. */
    public void renameat(long fromDir, String from, long toDir, String to, int flags) throws IOException {
        session.invoke(true, (ch, seq, key) -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, from, false);
                ch.putPath(c, to, true);
                c.request
                        .opcode(RENAMEAT)
                        .handle(handles.server(fromDir))
                        .arg0(handles.server(toDir))
                        .flags(flags)
                        .sequence(seq)
                        .recordKey(key);
                return check(ch.submit(c), from, to);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /**
     * Opens (with {@link OpenFlags#O_CREAT} possibly creating) a file, or a directory for reading.
     *
     * @param flags {@link OpenFlags} bits
     * @param mode permission bits of a created file
     * @return a handle for this connection; release it with {@link #close(long)}
     */
    public long open(String path, int flags, int mode) throws IOException {
        return open(0, path, flags, mode);
    }

    /**
     * {@link #open} of a path relative to the directory open on handle {@code dir} (as openat(2)): the directory is
     * the one the handle was opened on, whatever it is called now. An absolute path ignores {@code dir}.
     */
    public long openat(long dir, String path, int flags, int mode) throws IOException {
        if (dir == 0) {
            throw FspExceptions.of(Errno.EBADF, "handle 0", null);
        }
        return open(dir, path, flags, mode);
    }

    private long open(long dir, String path, int flags, int mode) throws IOException {
        boolean recorded = (flags & (OpenFlags.O_CREAT | OpenFlags.O_TRUNC)) != 0;
        return session.invoke(recorded, (ch, seq, key) -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                c.request
                        .opcode(dir == 0 ? OPEN : OPENAT)
                        .handle(dir == 0 ? 0 : handles.server(dir))
                        .flags(flags)
                        .mode(mode)
                        .sequence(seq)
                        .recordKey(key);
                long server = check(ch.submit(c), path, null);
                byte[] token = ClientHandles.tokenOf(ch, c);
                long h = handles.add(server, token, flags);
                return h;
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** Reads at the handle's position into {@code buf[off, off+len)}; returns bytes read, 0 at end of file. */
    public int read(long handle, byte[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        return read(handle, -1, null, buf, off, len);
    }

    /** Reads at {@code position} without moving the handle's position; returns bytes read, 0 at end of file. */
    public int pread(long handle, long position, byte[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        checkPosition(position);
        return read(handle, position, null, buf, off, len);
    }

    /** Reads at {@code position} into all of {@code dst} (or up to end of file); returns bytes read. */
    public int pread(long handle, long position, MemorySegment dst) throws IOException {
        checkPosition(position);
        return read(handle, position, dst, null, 0, dst.byteSize());
    }

    /** Writes {@code buf[off, off+len)} at the handle's position (end of file with O_APPEND); returns bytes written. */
    public int write(long handle, byte[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        return write(handle, -1, null, buf, off, len);
    }

    /** Writes all of {@code src} at the handle's position (end of file with O_APPEND); returns bytes written. */
    public int write(long handle, MemorySegment src) throws IOException {
        return write(handle, -1, src, null, 0, src.byteSize());
    }

    /** Writes at {@code position} without moving the handle's position; returns bytes written. */
    public int pwrite(long handle, long position, byte[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        checkPosition(position);
        return write(handle, position, null, buf, off, len);
    }

    /** Writes all of {@code src} at {@code position}; returns bytes written. */
    public int pwrite(long handle, long position, MemorySegment src) throws IOException {
        checkPosition(position);
        return write(handle, position, src, null, 0, src.byteSize());
    }

    public void truncate(String path, long size) throws IOException {
        simple(TRUNCATE, path, null, 0, size, 0, 0);
    }

    public void ftruncate(long handle, long size) throws IOException {
        simple(FTRUNCATE, null, null, handle, size, 0, 0);
    }

    /** Returns once the file's data and metadata are on the device. */
    public void fsync(long handle) throws IOException {
        synced(handle, FSYNC);
    }

    public void fdatasync(long handle) throws IOException {
        synced(handle, FDATASYNC);
    }

    /** Releases a handle from {@link #open}. */
    public void close(long handle) throws IOException {
        ClientHandles.OpenHandle o = handles.get(handle);
        if (o != null && o.stale) {
            handles.forget(handle);
            return;
        }
        if (readCache != null) {
            readCache.forget(handle);
        }
        simple(CLOSE, null, null, handle, 0, 0, 0);
        handles.forget(handle);
    }

    public void mkdir(String path, int mode) throws IOException {
        recorded(MKDIR, path, null, mode, 0);
    }

    public void rmdir(String path) throws IOException {
        recorded(RMDIR, path, null, 0, 0);
    }

    public void unlink(String path) throws IOException {
        recorded(UNLINK, path, null, 0, 0);
    }

    /** Atomic rename, replacing {@code to} if it exists, as rename(2). */
    public void rename(String from, String to) throws IOException {
        recorded(RENAME, from, to, 0, 0);
    }

    /**
     * rename with renameat2's flags ({@code FileSystemService.RENAME_NOREPLACE}: EEXIST if {@code to} exists;
     * {@code RENAME_EXCHANGE}: swap two existing names).
     */
    public void rename(String from, String to, int flags) throws IOException {
        recorded(RENAME2, from, to, 0, flags);
    }

    /**
     * Checks existence ({@code FileSystemService.F_OK}) or the caller's permission ({@code R_OK | W_OK | X_OK}) as
     * access(2); throws {@code AccessDeniedException} or {@code NoSuchFileException} otherwise.
     */
    public void access(String path, int mode) throws IOException {
        simple(ACCESS, path, null, 0, 0, mode, 0);
    }

    public void fchmod(long handle, int mode) throws IOException {
        simple(FCHMOD, null, null, handle, 0, mode, 0);
    }

    /** Changes an open file's owner and/or group; -1 leaves one unchanged. */
    public void fchown(long handle, int uid, int gid) throws IOException {
        session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                c.request
                        .opcode(FCHOWN)
                        .handle(handles.server(handle))
                        .arg0(uid)
                        .arg1(gid);
                return check(ch.submit(c), null, null);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** Sets an open file's access and modification times, as {@link #utimens}. */
    public void futimens(long handle, long atimeNanos, long mtimeNanos) throws IOException {
        session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                c.request
                        .opcode(FUTIMENS)
                        .handle(handles.server(handle))
                        .arg0(atimeNanos)
                        .arg1(mtimeNanos);
                return check(ch.submit(c), null, null);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /**
     * Sets ({@code FileSystemService.F_RDLCK}, {@code F_WRLCK}) or releases ({@code F_UNLCK}) an advisory lock on
     * {@code [start, start + length)} of the open file (length 0: to the end), owned by this handle, without waiting.
     * Locks are set again on a restarted server.
     *
     * @return true if set or released, false if another handle (of any client) holds a conflicting lock
     */
    public boolean setlk(long handle, int type, long start, long length) throws IOException {
        boolean set = session.retrying(ch -> setlkOn(ch, handles.server(handle), type, start, length));
        ClientHandles.OpenHandle o = handles.get(handle);
        if (set && o != null) {
            synchronized (o) {
                o.locks.add(new long[] {type, start, length});
            }
        }
        return set;
    }

    static boolean setlkOn(ChannelProxy ch, long server, int type, long start, long length) throws IOException {
        ChannelProxy.Call c = ch.begin();
        try {
            c.request.opcode(SETLK).handle(server).flags(type).fileOffset(start).length(length);
            long result = ch.submit(c);
            if (result == -Errno.EAGAIN.code()) {
                return false;
            }
            check(result, null, null);
            return true;
        } catch (IllegalStateException e) {
            throw ch.closedOr(e);
        } finally {
            ch.end(c);
        }
    }

    /**
     * The value of extended attribute {@code name} ("user.x") of the file at {@code path}, a final symlink followed
     * if {@code follow}, as getxattr(2); ENODATA ({@link FspException#errno()}) if it has none by that name.
     */
    public byte[] getxattr(String path, String name, boolean follow) throws IOException {
        checkXattrName(path, name);
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                ch.putPath(c, name, true);
                c.request.opcode(GETXATTR).flags(follow ? 0 : XATTR_NOFOLLOW);
                long n = check(ch.submit(c), path, null);
                byte[] value = new byte[(int) Math.min(n, c.response.payloadLength())];
                MemorySegment.copy(ch.segment, ValueLayout.JAVA_BYTE, c.dataOffset, value, 0, value.length);
                return value;
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /**
     * Sets extended attribute {@code name} to {@code value}, as setxattr(2) with {@code flags}
     * {@code FileSystemService.XATTR_CREATE} or {@code XATTR_REPLACE} (or 0).
     */
    public void setxattr(String path, String name, byte[] value, int flags, boolean follow) throws IOException {
        checkXattrName(path, name);
        if (value.length > org.fsp.api.fs.FileSystemService.XATTR_SIZE_MAX) {
            throw FspExceptions.of(Errno.E2BIG, path, null);
        }
        if ((flags & ~(org.fsp.api.fs.FileSystemService.XATTR_CREATE | org.fsp.api.fs.FileSystemService.XATTR_REPLACE))
                != 0) {
            throw FspExceptions.of(Errno.EINVAL, path, null);
        }
        session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                ch.putPath(c, name, true);
                long names = c.request.path1Length() + c.request.path2Length();
                if (names + value.length > slotDataBytes()) {
                    // Larger than any one request carries, so larger than the file system's block for attributes
                    // (slots are at least two blocks): the answer the file system would give.
                    throw FspExceptions.of(Errno.ENOSPC, path, null);
                }
                MemorySegment.copy(value, 0, ch.segment, ValueLayout.JAVA_BYTE, c.dataOffset + names, value.length);
                c.request
                        .opcode(SETXATTR)
                        .flags(flags | (follow ? 0 : XATTR_NOFOLLOW))
                        .length(value.length);
                check(ch.submit(c), path, null);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
            return null;
        });
    }

    /** The names of the file's extended attributes that this process may see, as listxattr(2). */
    public List<String> listxattr(String path, boolean follow) throws IOException {
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                c.request.opcode(LISTXATTR).flags(follow ? 0 : XATTR_NOFOLLOW);
                long count = check(ch.submit(c), path, null);
                byte[] bytes = new byte[c.response.payloadLength()];
                MemorySegment.copy(ch.segment, ValueLayout.JAVA_BYTE, c.dataOffset, bytes, 0, bytes.length);
                List<String> names = new ArrayList<>((int) count);
                int start = 0;
                for (int i = 0; i < bytes.length && names.size() < count; i++) {
                    if (bytes[i] == 0) {
                        names.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
                        start = i + 1;
                    }
                }
                return names;
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** Removes extended attribute {@code name}, as removexattr(2). */
    public void removexattr(String path, String name, boolean follow) throws IOException {
        checkXattrName(path, name);
        simple(REMOVEXATTR, path, name, 0, 0, 0, follow ? 0 : XATTR_NOFOLLOW);
    }

    /** An empty name is ERANGE, as Linux says, before it reaches the channel (where an empty path means ENOENT). */
    private static void checkXattrName(String path, String name) throws IOException {
        if (name.isEmpty()) {
            throw FspExceptions.of(Errno.ERANGE, path, null);
        }
    }

    /** Makes {@code newPath} a hard link to {@code existing}. */
    public void link(String existing, String newPath) throws IOException {
        recorded(LINK, existing, newPath, 0, 0);
    }

    /** Creates a symlink at {@code linkPath} pointing to {@code target}. */
    public void symlink(String target, String linkPath) throws IOException {
        recorded(SYMLINK, target, linkPath, 0, 0);
    }

    public String readlink(String path) throws IOException {
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                c.request.opcode(READLINK);
                long n = check(ch.submit(c), path, null);
                byte[] bytes = new byte[(int) Math.min(n, c.response.payloadLength())];
                MemorySegment.copy(ch.segment, ValueLayout.JAVA_BYTE, c.dataOffset, bytes, 0, bytes.length);
                return new String(bytes, StandardCharsets.UTF_8);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    public void chmod(String path, int mode) throws IOException {
        simple(CHMOD, path, null, 0, 0, mode, 0);
    }

    /** Changes owner and/or group; -1 leaves one unchanged. */
    public void chown(String path, int uid, int gid) throws IOException {
        session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                c.request.opcode(CHOWN).arg0(uid).arg1(gid);
                return check(ch.submit(c), path, null);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** Sets access and modification times (ns since the epoch, or UTIME_NOW / UTIME_OMIT of FileSystemService). */
    public void utimens(String path, long atimeNanos, long mtimeNanos) throws IOException {
        session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                c.request.opcode(UTIMENS).arg0(atimeNanos).arg1(mtimeNanos);
                return check(ch.submit(c), path, null);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /**
     * One batch of a directory listing, after {@code cookie} (0 for the start), at most {@code max} entries (the
     * server may return fewer); an empty list means the end. "." and ".." are not listed.
     */
    public List<DirEntry> readdir(String path, long cookie, int max) throws IOException {
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                ch.putPath(c, path, false);
                c.request.opcode(READDIR).arg0(cookie).arg1(max);
                long count = check(ch.submit(c), path, null);
                return PayloadCodec.getDirEntries(ch.segment, c.dataOffset, (int) count, c.response.payloadLength());
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** {@link #readdir(String, long, int)} of the directory open on handle {@code dir}, whatever it is called now. */
    public List<DirEntry> readdir(long dir, long cookie, int max) throws IOException {
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                c.request
                        .opcode(READDIRAT)
                        .handle(handles.server(dir))
                        .arg0(cookie)
                        .arg1(max);
                long count = check(ch.submit(c), null, null);
                return PayloadCodec.getDirEntries(ch.segment, c.dataOffset, (int) count, c.response.payloadLength());
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** The whole listing of a directory, in the file system's order. */
    public List<DirEntry> readdir(String path) throws IOException {
        List<DirEntry> all = new ArrayList<>();
        long cookie = 0;
        while (true) {
            List<DirEntry> batch = readdir(path, cookie, READDIR_BATCH);
            if (batch.isEmpty()) {
                return all;
            }
            all.addAll(batch);
            cookie = batch.getLast().cookie();
        }
    }

    public FsStats statfs() throws IOException {
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                c.request.opcode(STATFS);
                check(ch.submit(c), session.socket().toString(), null);
                return PayloadCodec.getStats(ch.segment, c.dataOffset);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    /** Makes everything written so far durable, as sync(2). */
    public void sync() throws IOException {
        List<ClientHandles.OpenHandle> open = handles.snapshot();
        int[] before = new int[open.size()];
        for (int i = 0; i < before.length; i++) {
            synchronized (open.get(i)) {
                before[i] = open.get(i).unsynced.size();
            }
        }
        simple(SYNC, null, null, 0, 0, 0, 0);
        for (int i = 0; i < before.length; i++) {
            handles.dropUnsynced(open.get(i), before[i]);
        }
    }

    /** The whole content of a regular file. */
    public byte[] readAll(String path) throws IOException {
        long h = open(path, OpenFlags.O_RDONLY, 0);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[slotDataBytes()];
            long position = 0;
            while (true) {
                int n = pread(h, position, buf, 0, buf.length);
                if (n <= 0) {
                    return out.toByteArray();
                }
                out.write(buf, 0, n);
                position += n;
                if (n == buf.length
                        && buf.length < ChannelLayout.BULK_IO_BYTES
                        && session.channel().layout.bulkBytes() > 0) {
                    // A file larger than a slot: read the rest 1 MiB per round trip through a bulk buffer.
                    buf = new byte[ChannelLayout.BULK_IO_BYTES];
                }
            }
        } finally {
            close(h);
        }
    }

    /** Creates or truncates {@code path} (mode 0644 if created) and writes {@code data} to it. */
    public void writeAll(String path, byte[] data) throws IOException {
        long h = open(path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
        try {
            int n = pwrite(h, 0, data, 0, data.length);
            if (n != data.length) {
                throw FspExceptions.of(Errno.ENOSPC, path, null);
            }
        } finally {
            close(h);
        }
    }

    /**
     * Watches directory {@code path} (symlinks followed), as inotify_add_watch: the server tells {@code sink} of names
     * made, removed and changed in it, on a thread of this client ({@link ChangeEvents}). Returns the watch's id for
     * {@link #removeWatch}. Fails with ENOENT, ENOTDIR, EACCES (no read permission), ENOSPC (too many watches), or
     * EOPNOTSUPP when the server sends no change events (an older server, or a file system that publishes none).
     */
    public int addWatch(String path, ChangeEvents.Sink sink) throws IOException {
        return changeEvents.add(path, sink);
    }

    /** Ends watch {@code id}; its sink gets no call from now on. */
    public void removeWatch(int id) throws IOException {
        changeEvents.remove(id);
    }

    /** Disconnects: the server releases every handle this connection held. Calls in progress fail. */
    @Override
    public void close() {
        changeEvents.close();
        session.close();
    }

    /** fsync or fdatasync: EIO once if unsynced data of the handle was lost with a server; then truthful. */
    private void synced(long handle, int opcode) throws IOException {
        ClientHandles.OpenHandle o = handles.get(handle);
        int before = 0;
        if (o != null) {
            synchronized (o) {
                before = o.unsynced.size();
                if (o.unsyncedLost && session.reconnects() > 0) {
                    o.unsyncedLost = false;
                    throw FspExceptions.of(
                            Errno.EIO,
                            "handle " + handle,
                            null,
                            "unsynced data was lost when the FSP server restarted");
                }
            }
        }
        simple(opcode, null, null, handle, 0, 0, 0);
        if (o != null) {
            handles.dropUnsynced(o, before);
        }
    }

    /**
     * Reads {@code size} bytes into {@code dst} or, when it is null, into {@code array} from {@code arrayOffset}: the
     * array is copied to directly, without a heap segment over it, so that a call allocates nothing.
     */
    private int read(long handle, long position, MemorySegment dst, byte[] array, int arrayOffset, long size)
            throws IOException {
        ClientHandles.OpenHandle o = handles.get(handle);
        boolean large = size > slotDataBytes();
        // A positioned read of data this client holds under a read lease needs no round trip.
        boolean cacheable = readCache != null && position >= 0 && !large;
        if (cacheable) {
            int hit = readCache.read(handle, session.channel(), position, dst, array, arrayOffset, (int) size);
            if (hit >= 0) {
                return hit;
            }
            if (o == null || o.readsMissed >= ClientHandles.LEASE_AFTER_READS) {
                int n = readWindow(handle, position, dst, array, arrayOffset, (int) size);
                if (n >= 0) {
                    return n;
                }
            } else {
                o.readsMissed++;
                cacheable = false;
            }
        }
        boolean askLease = cacheable;
        long total = 0;
        do {
            long done = total;
            long want = size - total;
            // The length asked for in this round trip: up to 1 MiB through a bulk buffer, else a slot's data.
            int[] asked = new int[1];
            int n = session.retrying(ch -> {
                int bulk = large ? ch.claimBulk() : -1;
                int chunk = (int) Math.min(want, bulk >= 0 ? ChannelLayout.BULK_IO_BYTES : slotDataBytes());
                asked[0] = chunk;
                ChannelProxy.Call c = ch.begin();
                try {
                    c.request
                            .handle(handles.server(handle))
                            .length(chunk)
                            .fileOffset(position < 0 ? 0 : position + done);
                    boolean wantsLease = askLease && ch.leases;
                    if (bulk >= 0) {
                        c.request.opcode(position < 0 ? READ_BULK : PREAD_BULK).arg0(ChannelProxy.bulkAreaOffset(bulk));
                    } else {
                        c.request.opcode(position < 0 ? READ : PREAD).mode(wantsLease ? PREAD_WANTS_LEASE : 0);
                    }
                    int got = (int) check(ch.submit(c), null, null);
                    if (got > chunk) {
                        throw new IOException("server returned " + got + " bytes for " + chunk);
                    }
                    long from = bulk >= 0 ? ch.bulkBufferOffset(bulk) : c.dataOffset;
                    if (wantsLease) {
                        readCache.fill(handle, ch, c.response.lease(), position + done, from, got);
                    }
                    copyOut(ch, from, dst, array, arrayOffset, done, got);
                    if (position < 0 && o != null) {
                        o.position = c.response.position();
                    }
                    return got;
                } catch (IllegalStateException e) {
                    throw ch.closedOr(e);
                } finally {
                    ch.end(c);
                    if (bulk >= 0) {
                        ch.releaseBulk(bulk);
                    }
                }
            });
            total += n;
            if (n < asked[0]) {
                break;
            }
        } while (total < size);
        return (int) total;
    }

    /**
     * Copies {@code n} answered bytes at {@code from} in {@code ch}'s segment to {@code dst} at {@code at} or, when it
     * is null, to {@code array} at {@code arrayOffset + at} (without a heap segment over it: nothing is allocated).
     */
    private static void copyOut(
            ChannelProxy ch, long from, MemorySegment dst, byte[] array, int arrayOffset, long at, int n) {
        if (dst != null) {
            MemorySegment.copy(ch.segment, from, dst, at, n);
        } else {
            MemorySegment.copy(ch.segment, ValueLayout.JAVA_BYTE, from, array, arrayOffset + (int) at, n);
        }
    }

    /**
     * A positioned read that missed the read cache: asks for the whole window around it under a read lease (a slot's
     * worth, or {@link ClientReadCache#WIDE_WINDOW} through a bulk buffer for a handle whose copy answers most of its
     * reads), keeps the window's whole blocks and copies out the part asked for, so that random reads of a file that
     * fits the cache miss once per window rather than once per block. -1 if the read does not lie in one window or the
     * server grants no leases (the caller then reads as usual).
     */
    private int readWindow(long handle, long position, MemorySegment dst, byte[] array, int arrayOffset, int size)
            throws IOException {
        return session.retrying(ch -> {
            if (!ch.leases) {
                return -1;
            }
            int slot = ch.layout.slotDataBytes();
            int window = readCache.window(handle, slot);
            int bulk = -1;
            if (window > slot && position / window == (position + size - 1) / window) {
                bulk = ch.claimBulk();
            }
            if (bulk < 0) {
                window = slot;
            }
            long start = position / window * window;
            if (position + size > start + window) {
                return -1;
            }
            ChannelProxy.Call c = ch.begin();
            try {
                c.request
                        .handle(handles.server(handle))
                        .length(window)
                        .fileOffset(start)
                        .mode(PREAD_WANTS_LEASE);
                if (bulk >= 0) {
                    c.request.opcode(PREAD_BULK).arg0(ChannelProxy.bulkAreaOffset(bulk));
                } else {
                    c.request.opcode(PREAD);
                }
                int got = (int) check(ch.submit(c), null, null);
                if (got > window) {
                    throw new IOException("server returned " + got + " bytes for " + window);
                }
                long from = bulk >= 0 ? ch.bulkBufferOffset(bulk) : c.dataOffset;
                readCache.fill(handle, ch, c.response.lease(), start, from, got);
                int skip = (int) (position - start);
                int n = Math.max(0, Math.min(size, got - skip));
                copyOut(ch, from + skip, dst, array, arrayOffset, 0, n);
                return n;
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
                if (bulk >= 0) {
                    ch.releaseBulk(bulk);
                }
            }
        });
    }

    /**
     * Writes {@code size} bytes from {@code src} or, when it is null, from {@code array}; as {@link #read}. An
     * appending write carries a sequence so that a re-issue after a restart is applied once.
     */
    private int write(long handle, long position, MemorySegment src, byte[] array, int arrayOffset, long size)
            throws IOException {
        ClientHandles.OpenHandle o = handles.get(handle);
        boolean append = o != null && (o.flags & OpenFlags.O_APPEND) != 0;
        MemorySegment from = src != null ? src : MemorySegment.ofArray(array);
        long base = src != null ? 0 : arrayOffset;
        boolean large = size > slotDataBytes();
        long total = 0;
        do {
            long done = total;
            long want = size - total;
            long[] landed = new long[1];
            int[] asked = new int[1];
            int n = session.invoke(append, (ch, seq, key) -> {
                int bulk = large ? ch.claimBulk() : -1;
                int chunk = (int) Math.min(want, bulk >= 0 ? ChannelLayout.BULK_IO_BYTES : slotDataBytes());
                asked[0] = chunk;
                ChannelProxy.Call c = ch.begin();
                try {
                    MemorySegment.copy(
                            from, base + done, ch.segment, bulk >= 0 ? ch.bulkBufferOffset(bulk) : c.dataOffset, chunk);
                    c.request
                            .handle(handles.server(handle))
                            .length(chunk)
                            .fileOffset(position < 0 ? 0 : position + done)
                            .sequence(seq)
                            .recordKey(key);
                    if (bulk >= 0) {
                        c.request
                                .opcode(position < 0 ? WRITE_BULK : PWRITE_BULK)
                                .arg0(ChannelProxy.bulkAreaOffset(bulk));
                    } else {
                        c.request.opcode(position < 0 ? WRITE : PWRITE);
                    }
                    int wrote = (int) check(ch.submit(c), null, null);
                    if (wrote > chunk) {
                        throw new IOException("server wrote " + wrote + " bytes of " + chunk);
                    }
                    long after = c.response.position();
                    landed[0] = position >= 0 && !append ? position + done : after - wrote;
                    if (position < 0 && o != null) {
                        o.position = after;
                    }
                    return wrote;
                } catch (IllegalStateException e) {
                    throw ch.closedOr(e);
                } finally {
                    ch.end(c);
                    if (bulk >= 0) {
                        ch.releaseBulk(bulk);
                    }
                }
            });
            if (o != null && ClientHandles.REPLAY_BYTES > 0) {
                handles.keepUnsynced(o, landed[0], from, base + done, n);
            }
            total += n;
            if (n < asked[0]) {
                break;
            }
        } while (total < size);
        return (int) total;
    }

    private FileAttributes attributes(int opcode, String path, long handle) throws IOException {
        return session.retrying(ch -> {
            ChannelProxy.Call c = ch.begin();
            try {
                if (path != null) {
                    ch.putPath(c, path, false);
                }
                c.request.opcode(opcode).handle(handle != 0 ? handles.server(handle) : 0);
                check(ch.submit(c), path, null);
                return PayloadCodec.getAttributes(ch.segment, c.dataOffset);
            } catch (IllegalStateException e) {
                throw ch.closedOr(e);
            } finally {
                ch.end(c);
            }
        });
    }

    private long simple(int opcode, String path1, String path2, long handle, long length, int mode, int flags)
            throws IOException {
        return session.retrying(ch -> fill(ch, opcode, path1, path2, handle, length, mode, flags, 0, 0));
    }

    /** A namespace change: recorded, so that a re-issue after a restart is answered at most once. */
    private void recorded(int opcode, String path1, String path2, int mode, int flags) throws IOException {
        session.invoke(true, (ch, seq, key) -> fill(ch, opcode, path1, path2, 0, 0, mode, flags, seq, key));
    }

    private long fill(
            ChannelProxy ch,
            int opcode,
            String path1,
            String path2,
            long handle,
            long length,
            int mode,
            int flags,
            long seq,
            int key)
            throws IOException {
        ChannelProxy.Call c = ch.begin();
        try {
            if (path1 != null) {
                ch.putPath(c, path1, false);
            }
            if (path2 != null) {
                ch.putPath(c, path2, true);
            }
            c.request
                    .opcode(opcode)
                    .handle(handle != 0 ? handles.server(handle) : 0)
                    .length(length)
                    .mode(mode)
                    .flags(flags)
                    .sequence(seq)
                    .recordKey(key);
            return check(ch.submit(c), path1, path2);
        } catch (IllegalStateException e) {
            throw ch.closedOr(e);
        } finally {
            ch.end(c);
        }
    }

    static long check(long result, String path, String other) throws IOException {
        if (result < 0) {
            throw FspExceptions.of(Errno.of((int) -result), path, other);
        }
        return result;
    }

    private static void checkPosition(long position) throws IOException {
        if (position < 0) {
            throw FspExceptions.of(Errno.EINVAL, "position " + position, null);
        }
    }

    /** "30s", "500ms" or a number of seconds, in ns. */
    static long parseDuration(String text) {
        String t = text.trim();
        try {
            if (t.endsWith("ms")) {
                return TimeUnit.MILLISECONDS.toNanos(
                        Long.parseLong(t.substring(0, t.length() - 2).trim()));
            }
            if (t.endsWith("s")) {
                t = t.substring(0, t.length() - 1).trim();
            }
            return TimeUnit.SECONDS.toNanos(Long.parseLong(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "fsp.client.reconnectTimeout: '" + text + "' is not a duration such as 30s or 500ms", e);
        }
    }
}
