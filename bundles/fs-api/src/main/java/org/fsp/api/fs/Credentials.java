package org.fsp.api.fs;

import java.util.Arrays;

/**
 * Who is asking, as the kernel vouched for it: pid, uid and gid from SO_PEERCRED when the channel was opened, and the
 * supplementary groups read from the kernel at the same time. Permission checks use nothing else.
 *
 * @param pid the client's process id (0 for the FS process itself)
 * @param uid the effective user id
 * @param gid the effective group id
 * @param groups supplementary group ids, possibly empty; never modified after construction
 */
public record Credentials(int pid, int uid, int gid, int[] groups) {

    /** The FS process acting for itself (mkfs, fsck, the shell): root with no client behind it. */
    public static final Credentials ROOT = new Credentials(0, 0, 0, new int[0]);

    public Credentials {
        groups = groups.clone();
    }

    public boolean isRoot() {
        return uid == 0;
    }

    /** True if {@code g} is the primary group or one of the supplementary groups. */
    public boolean inGroup(int g) {
        if (g == gid) {
            return true;
        }
        for (int s : groups) {
            if (s == g) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int[] groups() {
        return groups.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Credentials c
                && c.pid == pid
                && c.uid == uid
                && c.gid == gid
                && Arrays.equals(c.groups, groups);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * pid + uid) + gid) + Arrays.hashCode(groups);
    }

    @Override
    public String toString() {
        return "pid=" + pid + " uid=" + uid + " gid=" + gid + " groups=" + Arrays.toString(groups);
    }
}
