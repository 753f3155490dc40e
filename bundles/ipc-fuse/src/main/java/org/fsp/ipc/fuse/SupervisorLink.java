package org.fsp.ipc.fuse;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.fsp.linux.NativeException;
import org.fsp.linux.UnixSockets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This fspd's side of the FUSE hand-over to {@code fspd --supervise}: the supervisor keeps a copy of every
 * {@code /dev/fuse} descriptor of a mount (sent with SCM_RIGHTS over the launcher's control connection) and what INIT
 * settled, so that when this process dies the kernel's connection has a descriptor left (the mount stays, and the
 * requests this process had read stay in the kernel's processing queue instead of failing with ECONNABORTED), and the
 * next fspd serves it on ({@link Handed}). One sendmsg per line: the launcher's own lines on the same connection are
 * single sendmsgs too, and the kernel does not interleave two of them on a stream socket.
 */
final class SupervisorLink {

    private static final Logger LOG = LoggerFactory.getLogger(SupervisorLink.class);

    private final int fd;

    private SupervisorLink(int fd) {
        this.fd = fd;
    }

    /** The link for the property {@code FrameworkProperties.SUPERVISOR_CONTROL_FD}'s value; null when unsupervised. */
    static SupervisorLink of(String controlFd) {
        if (controlFd == null || controlFd.isBlank()) {
            return null;
        }
        return new SupervisorLink(Integer.parseInt(controlFd.trim()));
    }

    /** Gives the supervisor the mount's descriptors (the mount's own first): from now on the mount outlives us. */
    void deposit(Path mountPoint, List<Integer> fds, long rootIno) {
        for (int i = 0; i < fds.size(); i++) {
            send("fuse-fd " + i + " " + fds.size() + " " + rootIno + " " + mountPoint, fds.get(i));
        }
    }

    /** What INIT settled for the mount, which the next fspd must know (the kernel sends no second INIT). */
    void initialised(Path mountPoint, int minor, int kernelMinor, int flags) {
        send("fuse-init " + minor + " " + kernelMinor + " " + flags + " " + mountPoint, -1);
    }

    /** The mount was unmounted on purpose: the supervisor lets its descriptors go. */
    void withdraw(Path mountPoint) {
        send("fuse-umount " + mountPoint, -1);
    }

    private void send(String line, int passFd) {
        try {
            UnixSockets.sendLine(fd, line, passFd);
        } catch (NativeException e) {
            // The supervisor is gone: the mount then lives as long as this process, as without one.
            LOG.warn("cannot tell the supervisor '{}': {}", line, e.getMessage());
        }
    }

    /**
     * One mount a dead fspd left to the supervisor, as {@code FrameworkProperties.FUSE_HANDOVER} lists it.
     *
     * @param epoch the file-handle epoch this process gives out (the dead one's differ)
     * @param minor the protocol minor INIT settled, -1 if INIT had not been answered
     */
    record Handed(int epoch, int minor, int kernelMinor, int flags, long rootIno, List<Integer> fds, Path mountPoint) {

        /** The mounts in the property's value (null or empty: none). */
        static List<Handed> parse(String value) {
            List<Handed> all = new ArrayList<>();
            if (value == null) {
                return all;
            }
            for (String line : value.split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                String[] w = line.split(" ", 7);
                List<Integer> fds = new ArrayList<>();
                for (String f : w[5].split(",")) {
                    fds.add(Integer.parseInt(f));
                }
                all.add(new Handed(
                        Integer.parseInt(w[0]),
                        Integer.parseInt(w[1]),
                        Integer.parseInt(w[2]),
                        Integer.parseInt(w[3]),
                        Long.parseLong(w[4]),
                        fds,
                        Path.of(w[6])));
            }
            return all;
        }

        /** The line {@link #parse} reads. */
        String line() {
            StringBuilder b = new StringBuilder();
            for (int f : fds) {
                b.append(b.isEmpty() ? "" : ",").append(f);
            }
            return epoch + " " + minor + " " + kernelMinor + " " + flags + " " + rootIno + " " + b + " " + mountPoint;
        }
    }
}
