package org.fsp.api.handoff;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What ipc-fuse hands to its successor: every FUSE mount it serves, with the {@code /dev/fuse} descriptors (the
 * kernel's connection, so the mount stays), what INIT settled, and the node table (the node ids the kernel holds and
 * the names, lookup counts and open file handles behind them), so that programs inside the mount only see a pause.
 *
 * @param quiescedAtNanos when the old version stopped serving
 * @param mounts the mounts, each as it was served
 */
public record FuseHandoff(long quiescedAtNanos, List<Mount> mounts) implements LayerState {

    /**
     * One node of the kernel's.
     *
     * @param id the node id the kernel knows it by
     * @param ino its inode number in the file system
     * @param lookups lookups the kernel holds on it
     * @param paths its names now (none once removed)
     * @param handles the file handles (fh) the kernel holds open on it
     */
    public record Node(long id, long ino, long lookups, List<String> paths, List<Long> handles) {
        public Node {
            paths = List.copyOf(paths);
            handles = List.copyOf(handles);
        }
    }

    /**
     * A FUSE-over-io_uring request the previous version took from a ring entry and did not answer, so that it could
     * close its rings with every entry occupied (a close then cancels nothing the kernel could be handing out). The
     * successor answers it into the entry's buffers and commits it from a ring of its own, which re-arms the entry
     * there: the entry, with these buffers, becomes the successor's.
     *
     * @param qid the kernel's queue (a CPU) the entry belongs to
     * @param commitId the id the kernel finds the entry by (the request's unique)
     * @param message the request as {@code /dev/fuse} would give it (header, arguments, payload)
     * @param header the entry's header buffer ({@code struct fuse_uring_req_header}) the kernel reads the answer from
     * @param payload the entry's payload buffer
     */
    public record HeldRequest(int qid, long commitId, byte[] message, MemorySegment header, MemorySegment payload) {}

    /**
     * One mount.
     *
     * @param mountPoint the directory, absolute
     * @param fds the serving descriptors: the mount's own first, then its clones
     * @param protocolMinor the FUSE minor version INIT settled (-1 if INIT had not come)
     * @param kernelMinor the kernel's minor version
     * @param flags the INIT flags both sides have
     * @param nextNodeId the next node id to give out by a version that counts them (0: ids are inode numbers)
     * @param nodes every node the kernel holds, the root included
     * @param fileHandles each file handle (fh) the kernel holds with the file-system handle behind it (empty from a
     *     version whose fh were the file system's handles)
     * @param handleEpoch the epoch in the fh the version gave out
     * @param uringHeld the io_uring requests held for the successor (empty when the mount is served classic)
     * @param uringBuffers what holds the held entries' buffers: the successor closes them once no ring uses the
     *     entries (its unmount), or hands them on
     */
    public record Mount(
            String mountPoint,
            List<Integer> fds,
            int protocolMinor,
            int kernelMinor,
            int flags,
            long nextNodeId,
            List<Node> nodes,
            Map<Long, Long> fileHandles,
            int handleEpoch,
            List<HeldRequest> uringHeld,
            List<AutoCloseable> uringBuffers) {
        public Mount {
            fds = List.copyOf(fds);
            nodes = List.copyOf(nodes);
            fileHandles = Map.copyOf(fileHandles);
            uringHeld = List.copyOf(uringHeld);
            uringBuffers = List.copyOf(uringBuffers);
        }

        /** A mount with no io_uring requests held. */
        public Mount(
                String mountPoint,
                List<Integer> fds,
                int protocolMinor,
                int kernelMinor,
                int flags,
                long nextNodeId,
                List<Node> nodes,
                Map<Long, Long> fileHandles,
                int handleEpoch) {
            this(
                    mountPoint,
                    fds,
                    protocolMinor,
                    kernelMinor,
                    flags,
                    nextNodeId,
                    nodes,
                    fileHandles,
                    handleEpoch,
                    List.of(),
                    List.of());
        }

        /** From a version whose fh were the file system's own handles. */
        public Mount(
                String mountPoint,
                List<Integer> fds,
                int protocolMinor,
                int kernelMinor,
                int flags,
                long nextNodeId,
                List<Node> nodes) {
            this(mountPoint, fds, protocolMinor, kernelMinor, flags, nextNodeId, nodes, Map.of(), 0);
        }
    }

    public FuseHandoff {
        mounts = List.copyOf(mounts);
    }

    @Override
    public List<Integer> descriptors() {
        List<Integer> all = new ArrayList<>();
        for (Mount m : mounts) {
            all.addAll(m.fds());
        }
        return all;
    }
}
