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
 * <p>Node ids are never reused during a mount (a counter), so the kernel never confuses a new file with a forgotten
 * one; the generation is always 0. Thread-safe: every method holds the table's lock, briefly.
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
    /** Nodes that still have a name, by inode: a hard link looked up by another name is the same node. */
    private final Map<Long, Node> byIno = new HashMap<>();

    private long nextId = FuseAbi.ROOT_ID + 1;

    private NodeTable() {}

    NodeTable(long rootIno) {
        Node root = new Node(FuseAbi.ROOT_ID, rootIno);
        root.lookups = 1;
        byId.put(root.id, root);
        name(root, "/");
    }

    /** The path of {@code name} inside the directory at {@code dir}. */
    static String child(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }

    /** Under the lock: {@code path} is now one of {@code n}'s names. */
    private void name(Node n, String path) {
        n.paths.add(path);
        byPath.put(path, n);
        byIno.put(n.ino, n);
    }

    /** Under the lock: {@code path} is no longer one of its node's names. */
    private void unname(String path) {
        Node n = byPath.remove(path);
        if (n == null) {
            return;
        }
        n.paths.remove(path);
        if (n.paths.isEmpty() && byIno.get(n.ino) == n) {
            byIno.remove(n.ino);
        }
    }

    /**
     * One more kernel lookup of the file at {@code path} whose inode is {@code ino}; returns its node id. Another name
     * of a node that still has one (a hard link) joins that node; a node at the path for another inode (the name was
     * replaced behind this mount's back) loses the name to the right node.
     */
    synchronized long lookedUp(String path, long ino) {
        Node n = byPath.get(path);
        if (n != null && n.ino != ino && n.id != FuseAbi.ROOT_ID) {
            unname(path);
            n = null;
        }
        if (n == null) {
            n = byIno.get(ino);
            if (n == null) {
                n = new Node(nextId++, ino);
                byId.put(n.id, n);
            }
            name(n, path);
        }
        n.lookups++;
        return n.id;
    }

    /**
     * A path the node stands for now; null if unknown or removed. With several names, the one named last: for a file
     * they are all right; for a directory moved behind this mount's back the last lookup found it where it is now.
     */
    synchronized String path(long nodeId) {
        Node n = byId.get(nodeId);
        return n == null || n.paths.isEmpty() ? null : n.paths.getLast();
    }

    /** The node id of the named node for inode {@code ino}, or 0 if the kernel holds no name of it. */
    synchronized long idOfIno(long ino) {
        Node n = byIno.get(ino);
        return n == null ? 0 : n.id;
    }

    /** A path of the named node for inode {@code ino}, as {@link #path}; null if the kernel holds no name of it. */
    synchronized String pathOfIno(long ino) {
        Node n = byIno.get(ino);
        return n == null || n.paths.isEmpty() ? null : n.paths.getLast();
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

    /** The next node id {@link #lookedUp} gives out. */
    synchronized long nextId() {
        return nextId;
    }

    /** The table a previous version exported, with its ids, names, lookup counts and open handles. */
    static NodeTable restore(List<FuseHandoff.Node> nodes, long nextId) {
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
        if (!t.byId.containsKey(FuseAbi.ROOT_ID)) {
            throw new IllegalArgumentException("a node table without its root");
        }
        t.nextId = nextId;
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
