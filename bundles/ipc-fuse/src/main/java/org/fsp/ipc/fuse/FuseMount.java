package org.fsp.ipc.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.FuseHandoff;
import org.fsp.api.sched.ThreadModel;
import org.fsp.linux.FuseDevice;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One FSP mount through FUSE: the {@code /dev/fuse} connection, the kernel's mount of type {@value #FS_TYPE} at a
 * directory, the node table, and the serving {@link FuseChannel}s (one per descriptor: the mount's own and its
 * FUSE_DEV_IOC_CLONEs), driven by the thread model's workers when there is one, else by threads of their own.
 *
 * <p>A typical sequence is: {@link StaleMounts#clean} of the directory (a mount left by a killed daemon), {@link #start},
 * {@link #driveWith} whenever the thread model changes, {@link #close} (lazy unmount, then the descriptors close,
 * which ends the connection: programs still inside the mount get ENOTCONN). In a live upgrade, {@link #quiesce}
 * instead of close, and the next version {@link #adopt}s what it returns: the mount stays.
 *
 * <p>With the io_uring transport ({@link FuseTransport}), INIT still comes by {@code /dev/fuse}; once its answer
 * (which asked for FUSE_OVER_IO_URING) is written, one {@link FuseUringQueue} per possible CPU registers its entries,
 * and the kernel moves to them when every queue has one. FORGET, INTERRUPT and the notices keep using the descriptor,
 * so one classic channel stays. Teardown order, so that nothing waits on a ring nobody serves: unmount, stop the
 * queues (each closes its ring, which cancels its armed entries and drops their hold on the {@code /dev/fuse} file),
 * then close the descriptors, whose release ends the connection and every request still inside it. A killed fspd
 * gets the same from the kernel: the rings close with the process, then the descriptors.
 */
final class FuseMount implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FuseMount.class);

    /**
     * Whether the mount is {@code default_permissions} ({@code -Dfsp.fuse.defaultPermissions}, default true): the kernel
     * then checks mode bits itself as well, which a FIFO or device node needs (the kernel opens those without asking
     * fspd), at about one GETATTR of the parent per file created (the kernel drops a directory's attributes at each
     * create and checks search permission again on the next walk). fs-core checks every request either way.
     */
    static final boolean KERNEL_CHECKS_MODES =
            Boolean.parseBoolean(System.getProperty("fsp.fuse.defaultPermissions", "true"));

    /** The mount's type in /proc/mounts: FUSE's "fuse." and the subtype. */
    static final String FS_TYPE = "fuse.fsp";

    /** When a change is made durable before it is answered (see {@code FuseDispatcher#setCommitBeforeAnswer}). */
    enum Commit {
        /** Only under {@code fspd --supervise}, where the mount outlives the process. */
        SUPERVISED,
        ALWAYS,
        NEVER
    }

    /** How the mount is served. */
    record Settings(
            int channels,
            long entryValidNanos,
            long attrValidNanos,
            boolean writebackCache,
            boolean xattrs,
            Commit commitBeforeAnswer,
            FuseTransport transport,
            int uringThreadsPerQueue,
            int uringQueueDepth) {

        /**
         * With the transport chosen by the kernel's setting ({@link FuseTransport#AUTO}); with io_uring, two threads
         * per CPU queue with two entries each.
         */
        Settings(
                int channels,
                long entryValidNanos,
                long attrValidNanos,
                boolean writebackCache,
                boolean xattrs,
                Commit commitBeforeAnswer) {
            this(
                    channels,
                    entryValidNanos,
                    attrValidNanos,
                    writebackCache,
                    xattrs,
                    commitBeforeAnswer,
                    FuseTransport.AUTO,
                    2,
                    2);
        }

        /** Without the writeback cache, with extended attributes. */
        Settings(int channels, long entryValidNanos, long attrValidNanos) {
            this(channels, entryValidNanos, attrValidNanos, false, true);
        }

        Settings(int channels, long entryValidNanos, long attrValidNanos, boolean writebackCache, boolean xattrs) {
            this(channels, entryValidNanos, attrValidNanos, writebackCache, xattrs, Commit.SUPERVISED);
        }

        Settings {
            if (channels < 1 || channels > 64) {
                throw new IllegalArgumentException("channels must be 1 to 64, not " + channels);
            }
            if (entryValidNanos < 0 || attrValidNanos < 0) {
                throw new IllegalArgumentException("cache timeouts must not be negative");
            }
            if (uringThreadsPerQueue < 1 || uringThreadsPerQueue > 16) {
                throw new IllegalArgumentException("uringThreadsPerQueue must be 1 to 16, not " + uringThreadsPerQueue);
            }
            if (uringQueueDepth < 1 || uringQueueDepth > 64) {
                throw new IllegalArgumentException("uringQueueDepth must be 1 to 64, not " + uringQueueDepth);
            }
        }
    }

    private final Path mountPoint;
    private final FileSystemSlot fs;
    private final Settings settings;
    private final FuseConnection connection;
    private final List<FuseChannel> channels = new ArrayList<>();
    private final List<Thread> ownThreads = new ArrayList<>();
    private final long mountedAtMillis = System.currentTimeMillis();
    private NodeTable nodes;
    private FileHandles handles = new FileHandles(0);
    private FuseDispatcher dispatcher;
    /** Tells the kernel of changes others make; null until serving. */
    private FuseNotifier notifier;

    /** The supervisor that keeps the descriptors across a crash, or null. */
    private SupervisorLink link;
    /** How this process came to serve the mount: "mounted", or the take-over from a process that died. */
    private String origin = "mounted here";

    /** The FUSE-over-io_uring queues, none while classic. */
    private final UringQueues uring;

    private ThreadModel model;
    /** Wakes the workers that sleep among other agents when a request comes; while driven by {@link #model}. */
    private FuseWakeBridge wakes;

    private volatile boolean running;
    private volatile boolean ownThreadsRun;
    private boolean mounted;

    FuseMount(Path mountPoint, FileSystemSlot fs, Settings settings) {
        this.mountPoint = mountPoint.toAbsolutePath().normalize();
        this.fs = fs;
        this.settings = settings;
        this.uring = new UringQueues(this.mountPoint, settings.uringThreadsPerQueue(), settings.uringQueueDepth());
        this.connection = new FuseConnection(settings.writebackCache(), settings.transport() != FuseTransport.CLASSIC);
        connection.onInitAnswered(this::startUringSoon);
    }

    Path mountPoint() {
        return mountPoint;
    }

    /** Mounts and starts serving on {@code threadModel}'s workers (null: on threads of its own). */
    synchronized void start(ThreadModel threadModel) throws IOException {
        FileSystemService service = fs.current();
        if (service == null) {
            throw new IOException("no file system to mount");
        }
        long rootIno;
        try {
            rootIno = service.stat(Credentials.ROOT, "/").ino();
        } catch (FsException e) {
            throw new IOException("cannot read the root of the file system: " + e.getMessage(), e);
        }
        StaleMounts.clean(mountPoint);
        if (!Files.isDirectory(mountPoint)) {
            throw new IOException(mountPoint + " is not a directory");
        }
        nodes = new NodeTable(rootIno);
        FuseDispatcher dispatcher = newDispatcher(true);
        boolean wantsUring = chooseUring();
        int classicChannels = wantsUring ? 1 : settings.channels();
        int fd = FuseDevice.open(true);
        try {
            FuseDevice.mount(
                    "fsp",
                    mountPoint.toString(),
                    FS_TYPE,
                    FuseDevice.MS_NOSUID | FuseDevice.MS_NODEV,
                    FuseDevice.mountOptions(fd, Libc.getuid(), Libc.getgid(), KERNEL_CHECKS_MODES));
            mounted = true;
            channels.add(new FuseChannel("fuse-0", fd, dispatcher));
            for (int i = 1; i < classicChannels; i++) {
                channels.add(new FuseChannel("fuse-" + i, FuseDevice.cloneOf(fd, true), dispatcher));
            }
        } catch (NativeException e) {
            closeChannels(fd);
            throw new IOException("cannot mount FSP at " + mountPoint + ": " + e.getMessage(), e);
        }
        running = true;
        if (link != null) {
            List<Integer> fds = new ArrayList<>(channels.size());
            for (FuseChannel c : channels) {
                fds.add(c.fd());
            }
            // Before serving: INIT's answer, which the supervisor must learn, is the first request.
            tellSupervisorOnInit();
            link.deposit(mountPoint, fds, rootIno);
            origin = "mounted here; descriptors kept by the supervisor";
        }
        drive(threadModel);
        startNotifier();
        LOG.info(
                "FSP mounted at {} through /dev/fuse, {} channels{}",
                mountPoint,
                channels.size(),
                wantsUring ? "; FUSE-over-io_uring asked for at INIT" : "");
    }

    /**
     * Decides, before INIT, whether INIT asks for FUSE-over-io_uring: the configured transport, the kernel's
     * {@code enable_uring}, and classic under a supervisor (the supervisor keeps {@code /dev/fuse} descriptors across a
     * crash; ring entries die with the process that registered them, so a standby could not take them over).
     */
    private boolean chooseUring() {
        FuseTransport t = settings.transport();
        String why;
        if (t == FuseTransport.CLASSIC) {
            why = "transport=classic";
        } else if (link != null) {
            why = "supervised mounts are served classic: io_uring entries cannot be handed to the standby";
        } else {
            why = FuseTransport.uringUnavailable(FuseTransport.ENABLE_URING);
        }
        boolean overUring = why == null;
        connection.wantIoUring(overUring);
        uring.decided(overUring, why);
        if (!overUring && t == FuseTransport.URING) {
            LOG.warn("FUSE-over-io_uring unavailable at {}: {}; serving by /dev/fuse read/write", mountPoint, why);
        }
        return overUring;
    }

    /** Called by the channel that wrote INIT's answer; the queues start on a thread of their own. */
    private void startUringSoon() {
        startUringSoon(false);
    }

    /** With {@code nudge}, requests that queued while no entry was registered (a live upgrade) are fetched too. */
    private void startUringSoon(boolean nudge) {
        if (!connection.overIoUring()) {
            uring.notSettled();
            return;
        }
        Thread.ofPlatform().daemon().name("fsp-fuse-uring-start").start(() -> startUring(nudge));
    }

    /** Registers the io_uring queues on the mount's descriptor, unless the mount has stopped meanwhile. */
    private void startUring(boolean nudge) {
        int fd;
        FuseDispatcher d;
        synchronized (this) {
            if (!running || channels.isEmpty()) {
                return;
            }
            fd = channels.get(0).fd();
            d = dispatcher;
        }
        uring.start(fd, d, nudge);
    }

    private void stopUring(boolean drain) {
        uring.stop(drain);
    }

    /** With {@code fspd --supervise}: the descriptors go to the supervisor, so the mount outlives this process. */
    synchronized void supervisedBy(SupervisorLink supervisor) {
        link = supervisor;
        applyCommitPolicy();
    }

    private void tellSupervisorOnInit() {
        SupervisorLink l = link;
        connection.onInit(
                () -> l.initialised(mountPoint, connection.minor(), connection.kernelMinor(), connection.flags()));
    }

    /**
     * Serves a mount whose fspd died, on the descriptors the supervisor kept ({@code handed}): INIT as the dead
     * process settled it, node ids and file handles found again by inode (no table comes from the dead process), and,
     * on kernels that have it, FUSE_NOTIFY_RESEND so that the requests the dead process had read and not answered are
     * read again here.
     */
    static FuseMount takeOver(
            SupervisorLink.Handed handed,
            FileSystemSlot fs,
            Settings settings,
            ThreadModel threadModel,
            SupervisorLink link) {
        FuseMount m = new FuseMount(handed.mountPoint(), fs, settings);
        boolean resent;
        synchronized (m) {
            m.link = link;
            m.nodes = new NodeTable(handed.rootIno());
            m.handles = new FileHandles(handed.epoch());
            if (handed.minor() >= 0) {
                m.connection.restore(handed.minor(), handed.kernelMinor(), handed.flags());
            }
            if (link != null) {
                m.tellSupervisorOnInit(); // INIT itself may be among the requests re-sent
            }
            m.serveHanded(handed.fds(), threadModel);
            // The minor is unknown (-1) when the dead process had not answered INIT: then try, the kernel says no
            // if it cannot.
            resent = (handed.minor() < 0 || handed.kernelMinor() >= FuseNotifier.RESEND_MINOR)
                    && FuseNotifier.resend(handed.fds().get(0));
            m.origin = "taken over from a process that died (file-handle epoch " + handed.epoch() + "; "
                    + (resent
                            ? "its unanswered requests re-sent by the kernel"
                            : "its unanswered requests lost: kernel 7." + handed.kernelMinor() + " cannot re-send")
                    + ")";
        }
        LOG.info(
                "took over the FSP mount at {} from a process that died: {} channels, protocol {}, {}",
                m.mountPoint,
                handed.fds().size(),
                m.connection.protocol(),
                resent ? "its unanswered requests re-sent (FUSE_NOTIFY_RESEND)" : "no requests re-sent");
        return m;
    }

    /**
     * Under this: serves a mount another process set up, on the {@code /dev/fuse} descriptors {@code fds} it left
     * (a previous version's, {@link #adopt}, or a dead fspd's, {@link #takeOver}), one channel each, driven by
     * {@code threadModel}'s workers.
     */
    private void serveHanded(List<Integer> fds, ThreadModel threadModel) {
        FuseDispatcher dispatcher = newDispatcher(false);
        for (int i = 0; i < fds.size(); i++) {
            channels.add(new FuseChannel("fuse-" + i, fds.get(i), dispatcher));
        }
        mounted = true;
        running = true;
        drive(threadModel);
        startNotifier();
    }

    /** {@code freshConnection}: this process mounted (not taken over or adopted from another that served it). */
    private FuseDispatcher newDispatcher(boolean freshConnection) {
        dispatcher = new FuseDispatcher(
                fs,
                nodes,
                handles,
                new CallerCredentials(Path.of("/proc"), System::nanoTime),
                connection,
                settings.entryValidNanos(),
                settings.attrValidNanos(),
                settings.xattrs());
        dispatcher.setResendRecords(new ResendRecords(mountPoint, freshConnection));
        applyCommitPolicy();
        return dispatcher;
    }

    private void applyCommitPolicy() {
        if (dispatcher != null) {
            dispatcher.setCommitBeforeAnswer(settings.commitBeforeAnswer() == Commit.ALWAYS
                    || (settings.commitBeforeAnswer() == Commit.SUPERVISED && link != null));
        }
    }

    /**
     * Stops serving without unmounting and returns the mount as plain data for the next version of this front end:
     * the descriptors stay open (the kernel queues requests meanwhile), and no request is half done, since a channel
     * reads, answers and replies within one {@code doWork()}. This object is finished afterwards.
     */
    synchronized FuseHandoff.Mount quiesce() {
        running = false;
        stopNotifier();
        // Over io_uring the rings close only once every entry holds a request, which the next version answers.
        UringQueues.Handed uringHanded = uring.handOver();
        undrive();
        List<Integer> fds = new ArrayList<>(channels.size());
        for (FuseChannel c : channels) {
            fds.add(c.fd());
            c.free();
        }
        channels.clear();
        mounted = false;
        return new FuseHandoff.Mount(
                mountPoint.toString(),
                fds,
                connection.minor(),
                connection.kernelMinor(),
                connection.flags(),
                0,
                nodes.export(),
                handles.export(),
                handles.epoch(),
                uringHanded == null ? List.of() : uringHanded.held(),
                uringHanded == null ? List.of() : uringHanded.buffers());
    }

    /** Carries on serving a mount that a previous version {@link #quiesce}d, on {@code threadModel}'s workers. */
    static FuseMount adopt(FuseHandoff.Mount handed, FileSystemSlot fs, Settings settings, ThreadModel threadModel) {
        FuseMount m = new FuseMount(Path.of(handed.mountPoint()), fs, settings);
        synchronized (m) {
            m.nodes = NodeTable.restore(handed.nodes());
            m.handles = handed.fileHandles().isEmpty() && !handed.nodes().isEmpty()
                    ? legacyHandles(handed)
                    : FileHandles.restore(handed.handleEpoch(), handed.fileHandles());
            m.connection.restore(handed.protocolMinor(), handed.kernelMinor(), handed.flags());
            m.serveHanded(handed.fds(), threadModel);
        }
        // INIT settled io_uring with the previous version: the kernel serves from ring entries only, so they come back
        // at once (the kernel takes registrations: the connection is initialised), answering first what the previous
        // version held.
        m.uring.adopt(handed.uringHeld(), handed.uringBuffers());
        m.startUringSoon(true);
        LOG.info(
                "took over the FSP mount at {}: {} channels, {} nodes",
                m.mountPoint,
                handed.fds().size(),
                handed.nodes().size());
        return m;
    }

    /** A previous version gave fs-core's handles as fh: each stands for itself, and new ones get epoch 1. */
    private static FileHandles legacyHandles(FuseHandoff.Mount handed) {
        java.util.Map<Long, Long> same = new java.util.HashMap<>();
        for (FuseHandoff.Node n : handed.nodes()) {
            for (long fh : n.handles()) {
                same.put(fh, fh);
            }
        }
        return FileHandles.restore(1, same);
    }

    /** Moves the serving loops to {@code threadModel}'s workers (null: to threads of their own). */
    synchronized void driveWith(ThreadModel threadModel) {
        if (!running || threadModel == model) {
            return;
        }
        undrive();
        drive(threadModel);
    }

    private void drive(ThreadModel threadModel) {
        model = threadModel;
        if (threadModel != null) {
            wakes = FuseWakeBridge.start("fsp-fuse-wake-" + mountPoint.getFileName(), channels);
            threadModel.attachAll(channels);
            return;
        }
        ownThreadsRun = true;
        for (FuseChannel c : channels) {
            Thread t = Thread.ofPlatform().daemon().name("fsp-" + c.roleName()).unstarted(() -> serve(c));
            ownThreads.add(t);
            t.start();
        }
    }

    /** The loop of a thread of its own: work while there is work, else wait in poll(2). */
    private void serve(FuseChannel c) {
        while (ownThreadsRun) {
            try {
                if (c.doWork() == 0) {
                    c.sleep(100_000_000L);
                }
            } catch (RuntimeException | Error e) {
                LOG.error("{} failed; continuing", c.roleName(), e);
            }
        }
    }

    private void undrive() {
        if (model != null) {
            model.detachAll(channels);
            model = null;
            wakes.stop();
            wakes = null;
            return;
        }
        ownThreadsRun = false;
        for (Thread t : ownThreads) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        ownThreads.clear();
    }

    /** Under this, serving: fs-core's changes by others reach the kernel from now on. */
    private void startNotifier() {
        notifier = new FuseNotifier(nodes, channels.get(0).fd());
        notifier.start("fsp-fuse-notify");
        fs.listen(notifier);
    }

    private void stopNotifier() {
        if (notifier != null) {
            fs.unlisten(notifier);
            notifier.stop();
            notifier = null;
        }
    }

    @Override
    public synchronized void close() {
        stopNotifier();
        if (link != null) {
            link.withdraw(mountPoint);
        }
        if (mounted) {
            try {
                FuseDevice.umount(mountPoint.toString(), FuseDevice.MNT_DETACH);
            } catch (NativeException e) {
                // EINVAL: someone unmounted it already (umount from a shell); the connection ends all the same.
                LOG.info("umount of {}: {}", mountPoint, e.getMessage());
            }
            mounted = false;
        }
        running = false;
        stopUring(false);
        if (!channels.isEmpty()) {
            undrive();
        }
        closeChannels(-1);
        FileSystemService service = fs.current();
        if (service != null) {
            for (long h : handles.all()) {
                try {
                    service.close(Credentials.ROOT, h);
                } catch (FsException e) {
                    LOG.debug("close of handle {} left by the kernel: {}", h, e.getMessage());
                }
            }
        }
        LOG.info("FSP unmounted from {}", mountPoint);
    }

    private void closeChannels(int fdWithoutChannel) {
        for (FuseChannel c : channels) {
            Libc.close(c.fd());
            c.free();
        }
        if (channels.isEmpty() && fdWithoutChannel >= 0) {
            Libc.close(fdWithoutChannel);
        }
        channels.clear();
    }

    /** True once the kernel ended the connection (an unmount from outside, or an abort). */
    synchronized boolean ended() {
        return !channels.isEmpty() && channels.get(0).ended();
    }

    /** What {@code fsp:mount} and {@code fsp:status} show. */
    synchronized Map<String, Object> status() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("mountPoint", mountPoint.toString());
        s.put(
                "state",
                connection.isDestroyed()
                        ? "destroyed by the kernel"
                        : ended() ? "ended (unmounted from outside or aborted)" : running ? "mounted" : "stopped");
        s.put("transport", transport());
        s.put("protocol", connection.protocol());
        s.put("origin", origin);
        s.put("writebackCache", connection.writebackCache() ? "on" : "off");
        s.put("commitBeforeAnswer", dispatcher != null && dispatcher.commitsBeforeAnswer() ? "on" : "off");
        s.put("nodes", nodes == null ? 0 : nodes.size());
        long served = 0;
        for (FuseChannel c : channels) {
            served += c.served();
        }
        served += uring.served();
        s.put("requests", served);
        s.put("mountedAtMillis", mountedAtMillis);
        return s;
    }

    /** The transport in use, in words: "io_uring, 2 queues ..." or "/dev/fuse read/write, 4 channels ...". */
    private String transport() {
        String classic = channels.size() + " channels (FUSE_DEV_IOC_CLONE), "
                + (model != null ? "polled by thread-model agents" : "on threads of their own");
        return uring.describe(classic);
    }
}
