package org.fsp.api.launch;

/**
 * The framework properties {@code bin/fspd} sets from its command line, one name each for the launcher that writes
 * them and the components that read them. A component uses such a property when its own configuration leaves the value
 * unset, so {@code conf/<pid>.cfg} still wins.
 */
public final class FrameworkProperties {

    /** Image file or block device the driver opens ({@code --device}). */
    public static final String DEVICE_PATH = "fsp.device.path";
    /** Size of an image created on first start, bytes ({@code --size}). */
    public static final String DEVICE_SIZE = "fsp.device.size";
    /** Driver kind ({@code --driver}): {@code io_uring} or {@code ram}. */
    public static final String DEVICE_DRIVER = "fsp.device.driver";
    /** PCI address of the NVMe controller for the {@code nvme} driver ({@code --pci}). */
    public static final String DEVICE_PCI = "fsp.device.pci";
    /** The client socket ({@code --socket}). */
    public static final String SOCKET_PATH = "fsp.socket.path";
    /** The admin socket {@code bin/fsp shell} attaches to ({@code PATH.admin}). */
    public static final String ADMIN_SOCKET_PATH = "fsp.admin.socket.path";
    /** The directory ipc-fuse mounts FSP at ({@code --mount}). */
    public static final String FUSE_MOUNT = "fsp.fuse.mount";
    /** The distribution's directory ({@code bin/}, {@code conf/}, {@code upgrades/}). */
    public static final String HOME = "fsp.home";

    /**
     * After a crash, how long the mount keeps files unlinked while open, and the exactly-once records of clients that
     * have not come back, for their clients to re-attach; ms, default 30000 (see {@code docs/recovery.md}).
     */
    public static final String RECOVERY_GRACE_MILLIS = "fsp.recovery.graceMillis";

    /**
     * A listening UNIX socket already bound to {@link #SOCKET_PATH}, as a descriptor number of this process, which
     * ipc-shm accepts on instead of binding its own (the supervisor of {@code bin/fspd --supervise} owns the socket, so
     * that clients wait in its backlog while one fspd replaces another). Unset: ipc-shm makes its own socket.
     */
    public static final String SOCKET_LISTEN_FD = "fsp.socket.listenFd";

    /**
     * How many times the supervisor has replaced a dead fspd ({@code bin/fspd --supervise}); unset when fspd runs on
     * its own. This and the next three are set as system properties when a standby takes over, which
     * {@code BundleContext.getProperty} reads too.
     */
    public static final String SUPERVISOR_RESTARTS = "fsp.supervisor.restarts";
    /** Why the previous fspd ended: {@code signal 9 (KILL)}, {@code exit code 1}. */
    public static final String SUPERVISOR_LAST_CAUSE = "fsp.supervisor.lastCause";
    /** Milliseconds from the previous fspd's death to this one serving. */
    public static final String SUPERVISOR_LAST_RECOVERY_MILLIS = "fsp.supervisor.lastRecoveryMillis";
    /**
     * Where the last take-over's time went, phase by phase ({@code block-nvme 12 ms, fs-core 30 ms}: the layers by
     * bundle, and the supervisor's word and the FUSE hand-over before them); phases under 1 ms are left out.
     */
    public static final String SUPERVISOR_LAST_PHASES = "fsp.supervisor.lastTakeOverPhases";
    /** The supervisor's process id. */
    public static final String SUPERVISOR_PID = "fsp.supervisor.pid";

    /**
     * The control connection to the supervisor, as a descriptor number of this process (set when a standby takes
     * over): ipc-fuse sends it each FUSE mount's {@code /dev/fuse} descriptors with SCM_RIGHTS and what INIT settled,
     * so that the mount outlives this process (lines {@code fuse-fd I N ROOT_INO DIR}, {@code fuse-init MINOR
     * KERNEL_MINOR FLAGS DIR}, {@code fuse-umount DIR}; see {@code docs/recovery.md}).
     */
    public static final String SUPERVISOR_CONTROL_FD = "fsp.supervisor.controlFd";

    /**
     * The FUSE mounts a dead fspd left to the supervisor, for this one to serve on: one line per mount, {@code EPOCH
     * MINOR KERNEL_MINOR FLAGS ROOT_INO FD,FD,... DIR} (MINOR -1 if INIT had not been answered). Set by the launcher
     * before the layers start; ipc-fuse takes it (and clears it) when it activates.
     */
    public static final String FUSE_HANDOVER = "fsp.fuse.handover";

    /**
     * Smallest device FSP formats and serves, bytes (256 blocks: the superblock, the shortest journal, the bitmaps, an
     * inode table of 64 inodes and some data). mkfs and fspd both refuse anything smaller.
     */
    public static final long MIN_DEVICE_BYTES = 1L << 20;

    private FrameworkProperties() {}
}
