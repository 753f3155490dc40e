package org.fsp.ipc.fuse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.handoff.FuseHandoff;

/**
 * The kernel's node ids and what each one stands for: a path in the file system, kept current across renames, with
 * the number of lookups the kernel holds on it, as libfuse's passthrough_ll.c keeps its inode table. A node lives from
 * the first lookup that names it until the kernel forgets every lookup; the root ({@link FuseAbi#ROOT_ID}, "/") is
 * never forgotten.
 *
 * <p>Why paths: {@code FileSystemService} works by path, and every change to the namespace that this mount makes goes
 * through {@link #renamed}, {@link #removed} and {@link #lookedUp}, so a node's path stays right. A name removed or
 * replaced leaves its node without a path ({@link #path} returns null) until forgotten; it can still be reached through
 * the files the kernel opened on it ({@link #anyHandle}). A typical sequence is: {@code lookedUp("/a", ino)} gives
 * the node id for the LOOKUP reply; {@code path(id)} for each later request on it; {@code forget(id, n)}.
 *
 * <p>Node ids are inode numbers ({@link #idOf}: the root's inode is {@link FuseAbi#ROOT_ID} and the inode numbered
 * {@link FuseAbi#ROOT_ID}, if any, takes the root inode's number), so a process that takes over a mount from one that
 * died ({@code fspd --supervise}) knows what every id the kernel holds stands for without a table from the dead one:
 * a request on an id this table does not know is answered after {@link #relearned} gave it its path again. The lookup
 * counts of such a node are not known (the kernel's FORGET of them is harmless: a node forgotten too early is
 * re-learned at its next request). The kernel tells a reused inode number from the file it knew by the generation in
 * LOOKUP answers. Thread-safe: every method holds the table's lock, briefly.
 */
final class NodeTable {

    private static final class Node {
        final long id;
        final long ino;
        /** The names it has now: one, more for a file with hard links, none once removed. */
        final List<String> paths = new ArrayList<>(1);

        long lookups;
        final List<Long> handles = new ArrayList<>(1);

        Node(long id, long ino) {
            this.id = id;
            this.ino = ino;
        }
    }

    private final Map<Long, Node> byId = new HashMap<>();
    private final Map<String, Node> byPath = new HashMap<>();

    /** The file system's root inode: its node id is {@link FuseAbi#ROOT_ID}. */
    private long rootIno;

    private NodeTable() {}

    NodeTable(long rootIno) {
        this.rootIno = rootIno;
        Node root = new Node(FuseAbi.ROOT_ID, rootIno);
        root.lookups = 1;
        byId.put(root.id, root);
        name(root, "/");
    }

    /** The node id of inode {@code ino}: its number, with the root's and {@link FuseAbi#ROOT_ID}'s swapped. */
    long idOf(long ino) {
        return ino == rootIno ? FuseAbi.ROOT_ID : ino == FuseAbi.ROOT_ID ? rootIno : ino;
    }

    /** The inode of node id {@code id}: {@link #idOf} is its own inverse. */
    long inoOf(long id) {
        return idOf(id);
    }

    /** The path of {@code name} inside the directory at {@code dir}. */
    static String child(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }

    /** Under the lock: {@code path} is now one of {@code n}'s names. */
    private void name(Node n, String path) {
        n.paths.add(path);
        byPath.put(path, n);
    }

    /** Under the lock: {@code path} is no longer one of its node's names. */
    private void unname(String path) {
        Node n = byPath.remove(path);
        if (n == null) {
            return;
        }
        n.paths.remove(path);
    }

    /**
     * One more kernel lookup of the file at {@code path} whose inode is {@code ino}; returns its node id. Another name
     * of an inode (a hard link) joins its node; a node at the path for another inode (the name was replaced behind
     * this mount's back) loses the name to the right node.
     */
    synchronized long lookedUp(String path, long ino) {
        Node n = byPath.get(path);
        if (n != null && n.ino != ino && n.id != FuseAbi.ROOT_ID) {
            unname(path);
            n = null;
        }
        if (n == null) {
            n = node(ino);
            name(n, path);
        }
        n.lookups++;
        return n.id;
    }

    /** Under the lock: the node of inode {@code ino}, made (with no lookups yet) if the table has none. */
    private Node node(long ino) {
        long id = idOf(ino);
        Node n = byId.get(id);
        if (n == null || n.ino != ino) {
            n = new Node(id, ino);
            byId.put(id, n);
        }
        return n;
    }

    /**
     * The kernel holds node {@code id}, which this table did not know (it was learned by a process that died, or
     * forgotten here too early), and {@code path} names its inode now: the node has that name again, with no lookups
     * counted (the kernel's count is not known).
     */
    synchronized void relearned(long id, String path) {
        Node n = node(inoOf(id));
        if (n.paths.contains(path)) {
            return;
        }
        if (byPath.containsKey(path)) {
            unname(path);
        }
        name(n, path);
    }

    /**
     * A path the node stands for now; null if unknown or removed. With several names, the one named last: for a file
     * they are all right; for a directory moved behind this mount's back the last lookup found it where it is now.
     */
    synchronized String path(long nodeId) {
        Node n = byId.get(nodeId);
        return n == null || n.paths.isEmpty() ? null : n.paths.getLast();
    }

    /** The node id of the named node for inode {@code ino}, or 0 if the table holds no name of it. */
    synchronized long idOfIno(long ino) {
        Node n = byId.get(idOf(ino));
        return n == null || n.ino != ino || n.paths.isEmpty() ? 0 : n.id;
    }

    /** A path of the named node for inode {@code ino}, as {@link #path}; null if the table holds no name of it. */
    synchronized String pathOfIno(long ino) {
        Node n = byId.get(idOf(ino));
        return n == null || n.ino != ino || n.paths.isEmpty() ? null : n.paths.getLast();
    }

    /** True while the kernel holds the node. */
    synchronized boolean known(long nodeId) {
        return byId.containsKey(nodeId);
    }

    /** The kernel dropped {@code count} lookups of the node; at zero it is gone. Unknown ids are ignored. */
    synchronized void forget(long nodeId, long count) {
        Node n = byId.get(nodeId);
        if (n == null || nodeId == FuseAbi.ROOT_ID) {
            return;
        }
        n.lookups -= count;
        if (n.lookups <= 0) {
            byId.remove(nodeId);
            for (String p : List.copyOf(n.paths)) {
                unname(p);
            }
        }
    }

    /** The name at {@code path} was unlinked or removed: its node keeps its other names and its open files. */
    synchronized void removed(String path) {
        unname(path);
    }

    /**
     * {@code from} was renamed to {@code to}, replacing what was there: the node at {@code from} and, for a
     * {@code directory}, every node under it now stand for paths under {@code to}.
     */
    synchronized void renamed(String from, String to, boolean directory) {
        unname(to);
        if (directory) {
            move(from, to);
        } else {
            // Nothing lies under a file: its one name moves, without a walk over every name the kernel holds.
            Node n = byPath.get(from);
            if (n != null) {
                unname(from);
                name(n, to);
            }
        }
    }

    /** {@code a} and {@code b} swapped places (RENAME_EXCHANGE): so do their nodes and those under them. */
    synchronized void exchanged(String a, String b) {
        String parking = "\0exchange";
        move(a, parking);
        move(b, a);
        move(parking, b);
    }

    /** Under the lock: the names at and under {@code from} become the same names under {@code to}. */
    private void move(String from, String to) {
        List<String> moved = new ArrayList<>();
        String prefix = from + "/";
        for (String p : byPath.keySet()) {
            if (p.equals(from) || p.startsWith(prefix)) {
                moved.add(p);
            }
        }
        List<Node> owners = new ArrayList<>(moved.size());
        for (String p : moved) {
            owners.add(byPath.get(p));
            unname(p);
        }
        for (int i = 0; i < moved.size(); i++) {
            name(owners.get(i), to + moved.get(i).substring(from.length()));
        }
    }

    /** The kernel opened file handle {@code fh} on the node. */
    synchronized void opened(long nodeId, long fh) {
        Node n = byId.get(nodeId);
        if (n != null) {
            n.handles.add(fh);
        }
    }

    /** The kernel released {@code fh} (the node may be gone already). */
    synchronized void released(long nodeId, long fh) {
        Node n = byId.get(nodeId);
        if (n != null) {
            n.handles.remove(Long.valueOf(fh));
        }
    }

    /** One open file handle on the node, or -1: how a removed node is still reached. */
    synchronized long anyHandle(long nodeId) {
        Node n = byId.get(nodeId);
        return n == null || n.handles.isEmpty() ? -1 : n.handles.get(0);
    }

    /** Every file handle the kernel holds open, on any node: what a connection that ends without RELEASEs leaves. */
    synchronized List<Long> allHandles() {
        List<Long> all = new ArrayList<>();
        for (Node n : byId.values()) {
            all.addAll(n.handles);
        }
        return all;
    }

    /** Every node as plain data, for the next version of this front end (a live upgrade). */
    synchronized List<FuseHandoff.Node> export() {
        List<FuseHandoff.Node> all = new ArrayList<>(byId.size());
        for (Node n : byId.values()) {
            all.add(new FuseHandoff.Node(n.id, n.ino, n.lookups, n.paths, n.handles));
        }
        return all;
    }

    /**
     * The table a previous version exported, with its ids, names, lookup counts and open handles (a version that gave
     * ids from a counter instead of inode numbers included: its ids stay what they were).
     */
    static NodeTable restore(List<FuseHandoff.Node> nodes) {
        NodeTable t = new NodeTable();
        for (FuseHandoff.Node e : nodes) {
            Node n = new Node(e.id(), e.ino());
            n.lookups = e.lookups();
            n.handles.addAll(e.handles());
            t.byId.put(n.id, n);
            for (String p : e.paths()) {
                t.name(n, p);
            }
        }
        Node root = t.byId.get(FuseAbi.ROOT_ID);
        if (root == null) {
            throw new IllegalArgumentException("a node table without its root");
        }
        t.rootIno = root.ino;
        return t;
    }

    /** Lookups the kernel holds on the node (0 if unknown). */
    synchronized long lookups(long nodeId) {
        Node n = byId.get(nodeId);
        return n == null ? 0 : n.lookups;
    }

    /** Nodes the kernel holds, the root included. */
    synchronized int size() {
        return byId.size();
    }
}
