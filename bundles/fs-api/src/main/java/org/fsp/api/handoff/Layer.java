package org.fsp.api.handoff;

import java.util.Locale;

/**
 * The replaceable layers of the storage stack, each named as the shell names it ({@code fsp:upgrade fs-core ...}) and
 * carried by one bundle.
 */
public enum Layer {
    /** The shared-memory front end: client channels, their segments and open-file tables. */
    IPC("ipc-shm", "org.fsp.ipc-shm"),
    /** The FUSE front end: the mounts, their /dev/fuse connections and node tables. */
    FUSE("ipc-fuse", "org.fsp.ipc-fuse"),
    /** The thread model: polling workers and idle strategies. */
    SCHED("sched-polling", "org.fsp.sched-polling"),
    /** The file system: layout, journal, cache, open files. */
    FS("fs-core", "org.fsp.fs-core"),
    /** The block I/O scheduler between fs-core and the device. */
    BLOCK_SCHED("block-sched", "org.fsp.block-sched"),
    /** The device drivers: io_uring and RAM. */
    DEVICE("block-nvme", "org.fsp.block-nvme");

    private final String shellName;
    private final String symbolicName;

    Layer(String shellName, String symbolicName) {
        this.shellName = shellName;
        this.symbolicName = symbolicName;
    }

    /** The name the shell uses, e.g. {@code fs-core}. */
    public String shellName() {
        return shellName;
    }

    /** The Bundle-SymbolicName of the bundle that carries this layer. */
    public String symbolicName() {
        return symbolicName;
    }

    /** The layer the shell calls {@code name} (case-insensitive), or an IllegalArgumentException listing the names. */
    public static Layer byShellName(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (Layer l : values()) {
            if (l.shellName.equals(n)) {
                return l;
            }
        }
        StringBuilder known = new StringBuilder();
        for (Layer l : values()) {
            known.append(known.isEmpty() ? "" : ", ").append(l.shellName);
        }
        throw new IllegalArgumentException("unknown layer '" + name + "' (expected one of " + known + ")");
    }

    @Override
    public String toString() {
        return shellName;
    }
}
