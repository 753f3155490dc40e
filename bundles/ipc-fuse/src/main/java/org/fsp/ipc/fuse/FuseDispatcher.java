package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.fsp.ipc.fuse.FuseOpcodes.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.fs.SessionRecords;
import org.fsp.api.handoff.LayerGate;
import org.fsp.ipc.fuse.FuseAbi.OutHeader;
import org.fsp.ipc.fuse.FuseReply.Entry;
import org.fsp.ipc.fuse.FuseRequest.*;
import org.fsp.linux.FuseDevice;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each decoded {@link FuseRequest} against the {@link FileSystemService} with the caller's credentials and
 * answers with a {@link FuseReply}: the one place where FUSE meets the file system. Node ids become paths through the
 * {@link NodeTable} (which this class keeps current on every change of the namespace), and every failure becomes the
 * errno fs-core gave, so permission checks are fs-core's own, not the kernel's.
 *
 * <p>The kernel resolves symlinks itself (it reads them with READLINK), so a node's path never passes through one;
 * opens carry O_NOFOLLOW so that a symlink put in place behind this mount's back is refused (ELOOP) rather than
 * followed inside FSP's namespace. Safe for many serving threads at once: it keeps no per-request state.
 *
 * <p>Its parts: {@link NodePaths} (node ids to paths and entries), {@link AttributeChanges} (SETATTR),
 * {@link DirectoryPages} (READDIR pages), {@link FuseLocks} (POSIX locks and flock, SETLKW answered late). A typical
 * sequence is: {@code dispatch} enters the {@link FileSystemSlot}, answers a re-sent change from its record or runs
 * the request (recorded when it must be exactly-once), commits it first when changes are durable before their
 * answer, and returns the reply for the serving loop to write.
 *
 * <p>Its length (about 600 lines): one switch over the opcodes that run, one that answers a re-send already applied
 * and one that makes a change durable, each over the same sealed {@link FuseRequest}; kept side by side, an opcode that
 * changes the namespace is seen to be run, recorded, committed and answered on re-send alike. What one opcode alone
 * needs has left to the parts above, and the reading and recording of re-sends to {@link ResendRecords}.
 */
final class FuseDispatcher {

    private static final Logger LOG = LoggerFactory.getLogger(FuseDispatcher.class);

    /**
     * Open flags passed to fs-core: what open(2) takes (O_LARGEFILE, O_CLOEXEC, O_NOATIME... included); the kernel's
     * own bits in f_flags (such as __FMODE_EXEC on an execve) are dropped.
     */
    private static final int PASSED_OPEN_FLAGS = OpenFlags.SUPPORTED & ~(OpenFlags.O_CREAT | OpenFlags.O_DIRECTORY);

    /**
     * The node table of the request the current thread serves, while it runs: so that fs-core's change listener of
     * the same mount ({@link FuseNotifier}) can tell this mount's own changes from others'.
     */
    private static final ThreadLocal<NodeTable> SERVING = new ThreadLocal<>();

    private final FileSystemSlot fs;
    private final NodeTable nodes;
    private final FileHandles handles;
    private final NodePaths paths;
    private final FuseLocks locks;
    private final DirectoryPages directories;
    private final AttributeChanges attributeChanges;
    private final CallerCredentials callers;
    private final FuseConnection connection;
    private final long entryValidNanos;
    /**
     * True: a change is durable before it is answered (a WRITE's data by the handle's fdatasync, every other change
     * by a journal commit), so that a kill of this process loses nothing the kernel was told is done; see
     * {@link #setCommitBeforeAnswer}.
     */
    private volatile boolean commitBeforeAnswer;

    private volatile ResendRecords resendRecords;

    /** False: the xattr opcodes answer ENOSYS, so the kernel stops asking (and stops its per-write GETXATTR). */
    private final boolean xattrs;

    FuseDispatcher(
            FileSystemSlot fs,
            NodeTable nodes,
            CallerCredentials callers,
            FuseConnection connection,
            long entryValidNanos,
            long attrValidNanos) {
        this(fs, nodes, callers, connection, entryValidNanos, attrValidNanos, true);
    }

    FuseDispatcher(
            FileSystemSlot fs,
            NodeTable nodes,
            CallerCredentials callers,
            FuseConnection connection,
            long entryValidNanos,
            long attrValidNanos,
            boolean xattrs) {
        this(fs, nodes, new FileHandles(0), callers, connection, entryValidNanos, attrValidNanos, xattrs);
    }

    FuseDispatcher(
            FileSystemSlot fs,
            NodeTable nodes,
            FileHandles handles,
            CallerCredentials callers,
            FuseConnection connection,
            long entryValidNanos,
            long attrValidNanos,
            boolean xattrs) {
        this.xattrs = xattrs;
        this.fs = fs;
        this.nodes = nodes;
        this.handles = handles;
        this.callers = callers;
        this.connection = connection;
        this.entryValidNanos = entryValidNanos;
        this.paths = new NodePaths(nodes, handles, entryValidNanos, attrValidNanos);
        this.locks = new FuseLocks(fs, handles);
        this.directories = new DirectoryPages(paths);
        this.attributeChanges = new AttributeChanges(paths, handles);
    }

    /**
     * Answers {@code r}; a READ's data or a READDIR's entries are written into {@code out} after the reply header
     * before the reply is returned.
     */
    FuseReply dispatch(FuseRequest r, MemorySegment out) {
        return dispatch(r, out, null);
    }

    /** How an answer given after {@code dispatch} returned reaches the kernel: the transport the request came by. */
    @FunctionalInterface
    interface LateReply {
        /** Sends {@code reply} to request {@code unique}; called from a thread of the dispatcher's own. */
        void send(FuseReply reply, long unique);
    }

    /** A late answer written on descriptor {@code fd} (the kernel matches it to the descriptor that read the request). */
    static LateReply onDescriptor(int fd) {
        return (reply, unique) -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(OutHeader.SIZE + 8, 8);
                FuseDevice.write(fd, buf.asSlice(0, reply.encode(buf, unique)));
            } catch (NativeException e) {
                LOG.debug("late reply {} not delivered", unique, e);
            }
        };
    }

    /**
     * Takes back SETLKW {@code unique}, which waits for its lock and would be answered through a {@link LateReply},
     * for the next version of the front end to ask again (see {@link FuseLocks#handOver}).
     */
    boolean handOverLockWait(long unique) {
        return locks.handOver(unique);
    }

    /** The serving loop wrote INIT's answer. */
    void initAnswered() {
        connection.initAnswered();
    }

    /**
     * {@link #dispatch(FuseRequest, MemorySegment)} for a request that came by a transport: a SETLKW that has to wait
     * is answered later through {@code late}, from a thread of its own, so that the serving loop goes on; with
     * {@code late} null it waits in place.
     */
    FuseReply dispatch(FuseRequest r, MemorySegment out, LateReply late) {
        switch (r) {
            case Init init -> {
                return connection.negotiate(init);
            }
            case Forget f -> {
                nodes.forget(f.header().nodeId(), f.nlookup());
                return FuseReply.NONE;
            }
            case BatchForget f -> {
                for (int i = 0; i < f.nodeIds().length; i++) {
                    nodes.forget(f.nodeIds()[i], f.nlookups()[i]);
                }
                return FuseReply.NONE;
            }
            case Interrupt i -> {
                locks.interrupt(i.interruptedUnique());
                return FuseReply.NONE;
            }
            case Destroy d -> {
                connection.destroyed();
                return FuseReply.OK;
            }
            case Unsupported u -> {
                return new FuseReply.Error(Errno.ENOSYS);
            }
            case Setxattr x
            when !xattrs -> {
                return new FuseReply.Error(Errno.ENOSYS);
            }
            case Getxattr x
            when !xattrs -> {
                return new FuseReply.Error(Errno.ENOSYS);
            }
            case Listxattr x
            when !xattrs -> {
                return new FuseReply.Error(Errno.ENOSYS);
            }
            case Removexattr x
            when !xattrs -> {
                return new FuseReply.Error(Errno.ENOSYS);
            }
            case Malformed m -> {
                LOG.warn("malformed FUSE request {}: {}", m.header().unique(), m.why());
                return new FuseReply.Error(m.errno());
            }
            default -> {}
        }
        Credentials who =
                callers.of(r.header().pid(), r.header().uid(), r.header().gid());
        LayerGate.Entry<FileSystemService> in;
        try {
            in = fs.enter();
        } catch (FsException e) {
            return new FuseReply.Error(e.errno());
        }
        FileSystemService service = in.service();
        SERVING.set(nodes);
        try {
            if (r instanceof Lock l) {
                return locks.lock(service, who, l, late);
            }
            ResendRecords resend = commitBeforeAnswer ? resendRecords : null;
            SessionRecords records = resend == null ? null : resend.recordsFor(service, r);
            if (records != null && resend.applied(records, r)) {
                LOG.info(
                        "re-sent FUSE {} {} answered from its record: the process before this one applied it",
                        FuseOpcodes.name(r.header().opcode()),
                        ResendRecords.sequence(r));
                return answerApplied(service, who, r);
            }
            FuseReply reply = records == null
                    ? run(service, who, r, out)
                    : resend.recording(records, r, () -> run(service, who, r, out));
            if (commitBeforeAnswer && !(reply instanceof FuseReply.Error)) {
                commit(service, who, r);
                if (records != null) {
                    FuseHaltPoints.reach(FuseHaltPoints.BEFORE_ANSWER);
                }
            }
            return reply;
        } catch (FsException e) {
            return new FuseReply.Error(e.errno());
        } catch (RuntimeException e) {
            LOG.error("FUSE {} failed", FuseOpcodes.name(r.header().opcode()), e);
            return new FuseReply.Error(Errno.EIO);
        } finally {
            SERVING.remove();
            in.exit();
        }
    }

    /**
     * Whether changes are made durable before they are answered. On under {@code fspd --supervise}: the kernel keeps
     * no copy of what it wrote (no FS Lib to replay it), so a WRITE answered from the buffer cache of a process that
     * is then killed would be lost while the program reads on, and its next fsync, on the process that took over,
     * would claim durability for data that never reached the device.
     */
    void setCommitBeforeAnswer(boolean on) {
        commitBeforeAnswer = on;
    }

    /**
     * The records that make re-sent namespace changes exactly-once; used only while changes are committed before they
     * are answered (a record not yet durable would not outlive the crash it is there for).
     */
    void setResendRecords(ResendRecords records) {
        resendRecords = records;
    }

    boolean commitsBeforeAnswer() {
        return commitBeforeAnswer;
    }

    /** The node table of the mount whose request the calling thread serves now, or null. */
    static NodeTable servingTable() {
        return SERVING.get();
    }

    private FuseReply run(FileSystemService fs, Credentials who, FuseRequest r, MemorySegment out) throws FsException {
        long node = r.header().nodeId();
        return switch (r) {
            case Lookup l -> lookup(fs, who, NodeTable.child(paths.path(fs, node), l.name()));
            case Getattr g -> {
                if ((g.flags() & FUSE_GETATTR_FH) != 0 && !FileHandles.directory(g.fh())) {
                    yield paths.attributes(fs.fstat(who, handles.handle(fs, g.fh())));
                }
                yield paths.attributes(paths.attrsOf(fs, who, node));
            }
            case Setattr s -> attributeChanges.setattr(fs, who, s);
            case Readlink l -> new FuseReply.Link(fs.readlink(who, paths.path(fs, node)));
            case Symlink s -> {
                String p = NodeTable.child(paths.path(fs, node), s.name());
                fs.symlink(who, s.target(), p);
                yield paths.entry(fs, who, p);
            }
            case Mknod m -> {
                // fs-core keeps the node; the kernel serves a FIFO's or device's I/O itself and never opens it here.
                String p = NodeTable.child(paths.path(fs, node), m.name());
                fs.mknod(who, p, m.mode() & (FileMode.S_IFMT | FileMode.PERMISSION_MASK), m.rdev());
                yield paths.entry(fs, who, p);
            }
            case Mkdir m -> {
                String p = NodeTable.child(paths.path(fs, node), m.name());
                fs.mkdir(who, p, m.mode() & FileMode.PERMISSION_MASK);
                yield paths.entry(fs, who, p);
            }
            case Unlink u -> {
                String p = NodeTable.child(paths.path(fs, node), u.name());
                fs.unlink(who, p);
                nodes.removed(p);
                yield FuseReply.OK;
            }
            case Rmdir d -> {
                String p = NodeTable.child(paths.path(fs, node), d.name());
                fs.rmdir(who, p);
                nodes.removed(p);
                yield FuseReply.OK;
            }
            case Rename m -> renamed(fs, who, m, true);
            case Link l -> {
                String existing = paths.path(fs, l.oldNodeId());
                String p = NodeTable.child(paths.path(fs, node), l.newName());
                fs.link(who, existing, p);
                yield paths.entry(fs, who, p);
            }
            case Open o -> {
                int flags = o.directory()
                        ? OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY
                        : (o.flags() & PASSED_OPEN_FLAGS & ~OpenFlags.O_EXCL) | OpenFlags.O_NOFOLLOW;
                String p = paths.path(fs, node);
                long[] opened = o.directory()
                        ? new long[] {fs.open(who, p, flags, 0), flags}
                        : openCached(fs, who, p, flags, 0);
                long fh = register(fs, who, nodes.inoOf(node), opened, o.directory());
                nodes.opened(node, fh);
                yield new FuseReply.Opened(fh, o.directory() ? 0 : FOPEN_KEEP_CACHE);
            }
            case Create c -> create(fs, who, c, (c.flags() & PASSED_OPEN_FLAGS) | OpenFlags.O_CREAT);
            case Read rd -> {
                int size = (int) Math.min(rd.size(), out.byteSize() - OutHeader.SIZE);
                int n = fs.pread(who, handles.handle(fs, rd.fh()), rd.offset(), out.asSlice(OutHeader.SIZE, size));
                yield new FuseReply.InPlace(Math.max(n, 0));
            }
            case Write w -> new FuseReply.Written(fs.pwrite(who, handles.handle(fs, w.fh()), w.offset(), w.data()));
            case Readdir d -> directories.readdir(fs, who, d, out);
            case Release rl -> {
                nodes.released(node, rl.fh());
                // A handle of a process that died and was never used here has nothing open to close.
                long h = handles.remove(rl.fh());
                if (h >= 0) {
                    fs.close(who, h);
                }
                yield FuseReply.OK;
            }
            case Flush f -> {
                // close(2) of any descriptor drops the process's POSIX locks on the file.
                // A handle this process never used holds no lock here: the dead process's locks died with it.
                long h = handles.known(f.fh());
                try {
                    if (h >= 0) {
                        fs.releaseLocks(who, h, f.lockOwner());
                    }
                } catch (FsException e) {
                    if (e.errno() != Errno.EOPNOTSUPP && e.errno() != Errno.EBADF) {
                        throw e;
                    }
                }
                yield FuseReply.OK;
            }
            case Fsync f -> {
                if (f.directory()) {
                    fs.sync();
                } else if (f.dataOnly()) {
                    fs.fdatasync(who, handles.handle(fs, f.fh()));
                } else {
                    fs.fsync(who, handles.handle(fs, f.fh()));
                }
                yield FuseReply.OK;
            }
            case Statfs s -> new FuseReply.Statfs(fs.statfs(who));
            case Access a -> access(fs, who, node, a.mask());
            case Setxattr x -> {
                fs.setxattr(who, paths.path(fs, node), x.name(), x.value().toArray(JAVA_BYTE), x.flags(), false);
                yield FuseReply.OK;
            }
            case Getxattr g -> sized(fs.getxattr(who, paths.path(fs, node), g.name(), false), g.size());
            case Listxattr l -> sized(names(fs.listxattr(who, paths.path(fs, node), false)), l.size());
            case Removexattr x -> {
                fs.removexattr(who, paths.path(fs, node), x.name(), false);
                yield FuseReply.OK;
            }
            case Lseek l -> new FuseReply.Offset(fs.lseek(who, handles.handle(fs, l.fh()), l.offset(), l.whence()));
            case Fallocate f -> {
                fs.fallocate(who, handles.handle(fs, f.fh()), f.mode(), f.offset(), f.length());
                yield FuseReply.OK;
            }
            case CopyFileRange c -> copyFileRange(fs, who, c, out);
            default -> new FuseReply.Error(Errno.ENOSYS);
        };
    }

    /**
     * LOOKUP: the entry, or for a name that does not exist a negative entry (node id 0) that the kernel keeps as long
     * as a positive one, so that the misses programs repeat (include paths, .git probes) are answered by its dentry
     * cache. Someone else making the name later drops it: {@link FuseNotifier#created}.
     */
    private FuseReply lookup(FileSystemService fs, Credentials who, String path) throws FsException {
        try {
            return paths.entry(fs, who, path);
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT && entryValidNanos > 0) {
                return new Entry(0, null, entryValidNanos, 0);
            }
            throw e;
        }
    }

    /** CREATE with {@code flags} (O_NOFOLLOW added): the new file's entry and its open handle. */
    private FuseReply create(FileSystemService fs, Credentials who, Create c, int openFlags) throws FsException {
        String p = NodeTable.child(paths.path(fs, c.header().nodeId()), c.name());
        int flags = openFlags | OpenFlags.O_NOFOLLOW;
        long[] opened = openCached(fs, who, p, flags, c.mode() & FileMode.PERMISSION_MASK);
        FileAttributes a;
        try {
            a = fs.fstat(who, opened[0]);
        } catch (FsException e) {
            fs.close(who, opened[0]);
            throw e;
        }
        long fh = register(fs, who, a.ino(), opened, false);
        Entry entry = paths.entry(fs, p, a);
        nodes.opened(entry.nodeId(), fh);
        return new FuseReply.Created(entry, new FuseReply.Opened(fh, FOPEN_KEEP_CACHE));
    }

    /**
     * The answer to a re-sent namespace change that the process before this one applied and made durable: what the
     * request would have been answered had that process lived, found in the state it left, the node table brought up
     * to date as applying it would have.
     */
    private FuseReply answerApplied(FileSystemService fs, Credentials who, FuseRequest r) throws FsException {
        long node = r.header().nodeId();
        return switch (r) {
            case Mkdir m -> paths.entry(fs, who, NodeTable.child(paths.path(fs, node), m.name()));
            case Mknod m -> paths.entry(fs, who, NodeTable.child(paths.path(fs, node), m.name()));
            case Symlink s -> paths.entry(fs, who, NodeTable.child(paths.path(fs, node), s.name()));
            case Link l -> paths.entry(fs, who, NodeTable.child(paths.path(fs, node), l.newName()));
            case Unlink u -> {
                nodes.removed(NodeTable.child(paths.path(fs, node), u.name()));
                yield FuseReply.OK;
            }
            case Rmdir d -> {
                nodes.removed(NodeTable.child(paths.path(fs, node), d.name()));
                yield FuseReply.OK;
            }
            case Rename m -> renamed(fs, who, m, false);
            // The file exists now: open it as the create did, without creating or truncating it again.
            case Create c ->
                create(fs, who, c, c.flags() & PASSED_OPEN_FLAGS & ~(OpenFlags.O_EXCL | OpenFlags.O_TRUNC));
            default -> throw new IllegalStateException("not a recorded request: " + r);
        };
    }

    /** Makes the change {@code r} made durable (nothing for a request that changes nothing). */
    private void commit(FileSystemService fs, Credentials who, FuseRequest r) throws FsException {
        switch (r) {
            case Write w -> fs.fdatasync(who, handles.handle(fs, w.fh()));
            case CopyFileRange c -> fs.fdatasync(who, handles.handle(fs, c.fhOut()));
            case Create c -> commitChanges(fs);
            case Setattr s -> commitChanges(fs);
            case Mknod m -> commitChanges(fs);
            case Mkdir m -> commitChanges(fs);
            case Unlink u -> commitChanges(fs);
            case Rmdir d -> commitChanges(fs);
            case Rename m -> commitChanges(fs);
            case Link l -> commitChanges(fs);
            case Symlink l -> commitChanges(fs);
            case Setxattr x -> commitChanges(fs);
            case Removexattr x -> commitChanges(fs);
            case Fallocate f -> commitChanges(fs);
            default -> {}
        }
    }

    private static void commitChanges(FileSystemService fs) throws FsException {
        if (fs instanceof SessionRecords records) {
            records.commitChanges();
        } else {
            fs.sync();
        }
    }

    /**
     * A GETXATTR or LISTXATTR answer: the size alone when the caller's buffer is 0 bytes (it asks how much to
     * allocate), ERANGE when the buffer is too small, else the bytes.
     */
    private static FuseReply sized(byte[] bytes, int callerSize) {
        if (callerSize == 0) {
            return new FuseReply.XattrSize(bytes.length);
        }
        if (Integer.toUnsignedLong(callerSize) < bytes.length) {
            return new FuseReply.Error(Errno.ERANGE);
        }
        return new FuseReply.Data(bytes);
    }

    /** Extended attribute names as listxattr(2) returns them: each NUL-terminated. */
    private static byte[] names(List<String> names) {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (String n : names) {
            all.writeBytes(n.getBytes(StandardCharsets.UTF_8));
            all.write(0);
        }
        return all.toByteArray();
    }

    /** Bytes one COPY_FILE_RANGE copies at most; the caller's copy_file_range(2) loops for the rest. */
    static final long COPY_MAX = 64L << 20;

    /**
     * copy_file_range(2) inside FSP: reads and writes through fs-core in chunks of the reply buffer's spare room, so
     * the data never crosses to the kernel and back. Stops short at the end of the input, as the call does.
     */
    private FuseReply copyFileRange(FileSystemService fs, Credentials who, CopyFileRange c, MemorySegment out)
            throws FsException {
        if (c.flags() != 0) {
            throw new FsException(Errno.EINVAL, "copy_file_range flags " + c.flags());
        }
        if (c.offsetIn() < 0 || c.offsetOut() < 0 || c.length() < 0) {
            throw new FsException(Errno.EINVAL, "copy_file_range offsets " + c.offsetIn() + ", " + c.offsetOut());
        }
        // The reply (header and fuse_write_out) lies in the first bytes of out; the copy goes through the rest.
        MemorySegment scratch = out.asSlice(4096, out.byteSize() - 4096);
        long want = Math.min(c.length(), COPY_MAX);
        long done = 0;
        while (done < want) {
            int chunk = (int) Math.min(want - done, scratch.byteSize());
            int n = fs.pread(who, handles.handle(fs, c.fhIn()), c.offsetIn() + done, scratch.asSlice(0, chunk));
            if (n <= 0) {
                break;
            }
            int w = fs.pwrite(who, handles.handle(fs, c.fhOut()), c.offsetOut() + done, scratch.asSlice(0, n));
            done += w;
            if (w < n) {
                break;
            }
        }
        return new FuseReply.Written((int) done);
    }

    /**
     * Opens a file for the kernel. With the writeback cache the kernel places appends itself (O_APPEND would move
     * them to fs-core's end of file, which lags the kernel's) and may read pages of a write-only file to complete a
     * partial write, so O_APPEND is dropped and O_WRONLY asked as O_RDWR, falling back to O_WRONLY for a caller who
     * may not read (as libfuse's passthrough_ll does; such a file's partial-page writes then fail).
     */
    private long[] openCached(FileSystemService fs, Credentials who, String path, int flags, int mode)
            throws FsException {
        if (!connection.writebackCache()) {
            return new long[] {fs.open(who, path, flags, mode), flags};
        }
        int cached = flags & ~OpenFlags.O_APPEND;
        if ((cached & OpenFlags.O_ACCMODE) == OpenFlags.O_WRONLY) {
            int rw = (cached & ~OpenFlags.O_ACCMODE) | OpenFlags.O_RDWR;
            try {
                return new long[] {fs.open(who, path, rw, mode), rw};
            } catch (FsException e) {
                if (e.errno() != Errno.EACCES) {
                    throw e;
                }
            }
        }
        return new long[] {fs.open(who, path, cached, mode), cached};
    }

    /** The fh for fs-core's handle {@code opened[0]}, opened on inode {@code ino} with flags {@code opened[1]}. */
    private long register(FileSystemService fs, Credentials who, long ino, long[] opened, boolean directory)
            throws FsException {
        try {
            return handles.add(ino, NodePaths.generation(fs, ino), (int) opened[1], directory, opened[0]);
        } catch (FsException e) {
            fs.close(who, opened[0]);
            throw e;
        }
    }

    /** RENAME: applied if {@code apply}, else already applied by the process before this one (a re-send). */
    private FuseReply renamed(FileSystemService fs, Credentials who, Rename m, boolean apply) throws FsException {
        String from = NodeTable.child(paths.path(fs, m.header().nodeId()), m.oldName());
        String to = NodeTable.child(paths.path(fs, m.newDir()), m.newName());
        if (apply) {
            fs.rename(who, from, to, m.flags());
        }
        if ((m.flags() & RENAME_EXCHANGE) != 0) {
            nodes.exchanged(from, to);
        } else {
            boolean directory;
            try {
                directory = fs.lstat(who, to).isDirectory();
            } catch (FsException e) {
                // Renamed again behind this mount's back already: move whatever the table has under the old name.
                directory = true;
            }
            nodes.renamed(from, to, directory);
        }
        return FuseReply.OK;
    }

    /** access(2): fs-core checks the caller's ids against the node's mode, as for every other call. */
    private FuseReply access(FileSystemService fs, Credentials who, long node, int mask) throws FsException {
        fs.access(who, paths.path(fs, node), mask & (R_OK | W_OK | X_OK));
        return FuseReply.OK;
    }
}
