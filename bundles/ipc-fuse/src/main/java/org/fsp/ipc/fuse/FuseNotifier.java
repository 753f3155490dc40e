package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.ChangeListener;
import org.fsp.ipc.fuse.FuseAbi.NotifyInvalEntryOut;
import org.fsp.ipc.fuse.FuseAbi.NotifyInvalInodeOut;
import org.fsp.ipc.fuse.FuseAbi.OutHeader;
import org.fsp.linux.FuseDevice;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one mount right when someone else changes the file system (an FS Lib client, the shell, another mount): told
 * by fs-core of each change ({@link ChangeListener}), it fixes the {@link NodeTable} at once and tells the kernel to
 * drop what it cached, FUSE_NOTIFY_INVAL_ENTRY for a name made, removed or renamed and FUSE_NOTIFY_INVAL_INODE for
 * attributes and data changed, so the next access asks again. Changes this mount's own requests make are skipped:
 * the kernel made them and knows.
 *
 * <p>The notices go out on a thread of their own, not from the listener and not from a serving agent: the kernel
 * takes the directory's or the inode's lock to apply a notice, and a request under way on it holds that lock until
 * its reply, so a notice written from the thread that owes the reply would wait for itself. Notices for one inode
 * that are still queued count once. A typical sequence is: {@link #start}, fs-core calls, {@link #stop}.
 */
final class FuseNotifier implements ChangeListener {

    private static final Logger LOG = LoggerFactory.getLogger(FuseNotifier.class);

    /** fuse_notify_code values. */
    static final int FUSE_NOTIFY_INVAL_INODE = 2;

    static final int FUSE_NOTIFY_INVAL_ENTRY = 3;
    /**
     * Protocol 7.40 (Linux 6.9): the kernel puts every request that was read from the connection and not answered
     * back into its pending queue, with bit 63 of the unique set, to be read again.
     */
    static final int FUSE_NOTIFY_RESEND = 7;

    /** The first protocol minor whose kernels know {@link #FUSE_NOTIFY_RESEND}. */
    static final int RESEND_MINOR = 40;

    private sealed interface Notice {}

    private record InvalEntry(long parent, String name) implements Notice {}

    private record InvalInode(long nodeId) implements Notice {}

    private static final Notice STOP = new InvalInode(-1);

    private final NodeTable nodes;
    private final int fd;
    private final LinkedBlockingQueue<Notice> queue = new LinkedBlockingQueue<>();
    private final Set<Long> queuedInodes = ConcurrentHashMap.newKeySet();
    private Thread thread;

    FuseNotifier(NodeTable nodes, int fd) {
        this.nodes = nodes;
        this.fd = fd;
    }

    synchronized void start(String name) {
        thread = Thread.ofPlatform().daemon().name(name).start(this::run);
    }

    /** Sends what is queued, then ends the thread; returns once it has. */
    synchronized void stop() {
        if (thread == null) {
            return;
        }
        queue.add(STOP);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread = null;
    }

    private boolean ownRequest() {
        return FuseDispatcher.servingTable() == nodes;
    }

    /** A name made by someone else: the kernel may hold a negative entry for it (a LOOKUP that found nothing). */
    @Override
    public void created(long dirIno, String name) {
        if (ownRequest()) {
            return;
        }
        long parent = nodes.idOfIno(dirIno);
        if (parent != 0) {
            queue.add(new InvalEntry(parent, name));
        }
    }

    @Override
    public void removed(long dirIno, String name) {
        if (ownRequest()) {
            return;
        }
        long parent = nodes.idOfIno(dirIno);
        String dir = nodes.pathOfIno(dirIno);
        if (parent == 0 || dir == null) {
            return; // the kernel holds nothing under a directory it never looked up
        }
        nodes.removed(NodeTable.child(dir, name));
        queue.add(new InvalEntry(parent, name));
    }

    @Override
    public void renamed(
            long fromDirIno, String fromName, long toDirIno, String toName, boolean directory, boolean exchange) {
        if (ownRequest()) {
            return;
        }
        long fromParent = nodes.idOfIno(fromDirIno);
        long toParent = nodes.idOfIno(toDirIno);
        String fromDir = nodes.pathOfIno(fromDirIno);
        String toDir = nodes.pathOfIno(toDirIno);
        String from = fromDir == null ? null : NodeTable.child(fromDir, fromName);
        String to = toDir == null ? null : NodeTable.child(toDir, toName);
        if (from != null && to != null) {
            if (exchange) {
                nodes.exchanged(from, to);
            } else {
                nodes.renamed(from, to, directory);
            }
        } else if (from != null) {
            nodes.removed(from);
        } else if (to != null) {
            nodes.removed(to);
        }
        if (from != null && fromParent != 0) {
            queue.add(new InvalEntry(fromParent, fromName));
        }
        if (to != null && toParent != 0) {
            queue.add(new InvalEntry(toParent, toName));
        }
    }

    @Override
    public void changed(long ino) {
        if (ownRequest()) {
            return;
        }
        long id = nodes.idOfIno(ino);
        if (id != 0 && queuedInodes.add(id)) {
            queue.add(new InvalInode(id));
        }
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(OutHeader.SIZE + NotifyInvalEntryOut.SIZE + 256 + 8, 8);
            while (true) {
                Notice n;
                try {
                    n = queue.take();
                } catch (InterruptedException e) {
                    return;
                }
                if (n == STOP) {
                    return;
                }
                send(buf, n);
            }
        }
    }

    private void send(MemorySegment buf, Notice n) {
        int len;
        int code;
        switch (n) {
            case InvalInode i -> {
                // Taken off first: a change after this point queues a new notice.
                queuedInodes.remove(i.nodeId());
                code = FUSE_NOTIFY_INVAL_INODE;
                len = OutHeader.SIZE + NotifyInvalInodeOut.SIZE;
                buf.set(JAVA_LONG, OutHeader.SIZE + NotifyInvalInodeOut.INO, i.nodeId());
                // Offset 0, length 0: the attributes and every cached page.
                buf.set(JAVA_LONG, OutHeader.SIZE + NotifyInvalInodeOut.OFF, 0L);
                buf.set(JAVA_LONG, OutHeader.SIZE + NotifyInvalInodeOut.LEN, 0L);
            }
            case InvalEntry e -> {
                byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
                code = FUSE_NOTIFY_INVAL_ENTRY;
                len = OutHeader.SIZE + NotifyInvalEntryOut.SIZE + name.length + 1;
                buf.set(JAVA_LONG, OutHeader.SIZE + NotifyInvalEntryOut.PARENT, e.parent());
                buf.set(JAVA_INT, OutHeader.SIZE + NotifyInvalEntryOut.NAMELEN, name.length);
                buf.set(JAVA_INT, OutHeader.SIZE + NotifyInvalEntryOut.FLAGS, 0);
                MemorySegment.copy(name, 0, buf, JAVA_BYTE, OutHeader.SIZE + NotifyInvalEntryOut.SIZE, name.length);
                buf.set(JAVA_BYTE, OutHeader.SIZE + NotifyInvalEntryOut.SIZE + name.length, (byte) 0);
            }
        }
        buf.set(JAVA_INT, OutHeader.LEN, len);
        buf.set(JAVA_INT, OutHeader.ERROR, code);
        buf.set(JAVA_LONG, OutHeader.UNIQUE, 0L);
        try {
            FuseDevice.write(fd, buf.asSlice(0, len));
        } catch (NativeException e) {
            // ENOENT: the kernel had nothing cached there; ENODEV: the mount is gone. Either way nothing to drop.
            if (e.errno() != FuseDevice.ENOENT && e.errno() != FuseDevice.ENODEV) {
                LOG.debug("FUSE notice {} failed", n, e);
            }
        }
    }

    /**
     * Asks the kernel to send again every request it had given to a process that died before answering
     * ({@link #FUSE_NOTIFY_RESEND}) on {@code fd}, any descriptor of the connection. False if the kernel does not
     * know the notice (EINVAL: older than 6.9).
     */
    static boolean resend(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(OutHeader.SIZE, 8);
            buf.set(JAVA_INT, OutHeader.LEN, OutHeader.SIZE);
            buf.set(JAVA_INT, OutHeader.ERROR, FUSE_NOTIFY_RESEND);
            buf.set(JAVA_LONG, OutHeader.UNIQUE, 0L);
            FuseDevice.write(fd, buf);
            return true;
        } catch (NativeException e) {
            LOG.info("the kernel does not re-send requests (FUSE_NOTIFY_RESEND): {}", e.getMessage());
            return false;
        }
    }
}
