package org.fsp.ipc.fuse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
        String path;
        long lookups;
        final List<Long> handles = new ArrayList<>(1);

        Node(long id, long ino, String path) {
            this.id = id;
            this.ino = ino;
            this.path = path;
        }
    }

    private final Map<Long, Node> byId = new HashMap<>();
    private final Map<String, Node> byPath = new HashMap<>();
    private long nextId = FuseAbi.ROOT_ID + 1;

    NodeTable(long rootIno) {
        Node root = new Node(FuseAbi.ROOT_ID, rootIno, "/");
        root.lookups = 1;
        byId.put(root.id, root);
        byPath.put("/", root);
    }

    /** The path of {@code name} inside the directory at {@code dir}. */
    static String child(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }

    /**
     * One more kernel lookup of the file at {@code path} whose inode is {@code ino}; returns its node id. A node at the
     * path for another inode (the name was replaced behind this mount's back) loses the path to a new node.
     */
    synchronized long lookedUp(String path, long ino) {
        Node n = byPath.get(path);
        if (n != null && n.ino != ino && n.id != FuseAbi.ROOT_ID) {
            n.path = null;
            byPath.remove(path);
            n = null;
        }
        if (n == null) {
            n = new Node(nextId++, ino, path);
            byId.put(n.id, n);
            byPath.put(path, n);
        }
        n.lookups++;
        return n.id;
    }

    /** The path the node stands for now; null if unknown or removed. */
    synchronized String path(long nodeId) {
        Node n = byId.get(nodeId);
        return n == null ? null : n.path;
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
            if (n.path != null && byPath.get(n.path) == n) {
                byPath.remove(n.path);
            }
        }
    }

    /** The name at {@code path} was unlinked or removed: its node keeps only its open files. */
    synchronized void removed(String path) {
        Node n = byPath.remove(path);
        if (n != null) {
            n.path = null;
        }
    }

    /**
     * {@code from} was renamed to {@code to}, replacing what was there: the node at {@code from} and every node under
     * it (a directory's descendants) now stand for paths under {@code to}.
     */
    synchronized void renamed(String from, String to) {
        removed(to);
        move(from, to);
    }

    /** {@code a} and {@code b} swapped places (RENAME_EXCHANGE): so do their nodes and those under them. */
    synchronized void exchanged(String a, String b) {
        String parking = "\0exchange";
        move(a, parking);
        move(b, a);
        move(parking, b);
    }

    /** Under the lock: the nodes at and under {@code from} now stand for the same paths under {@code to}. */
    private void move(String from, String to) {
        List<Node> moved = new ArrayList<>();
        String prefix = from + "/";
        for (Map.Entry<String, Node> e : byPath.entrySet()) {
            if (e.getKey().equals(from) || e.getKey().startsWith(prefix)) {
                moved.add(e.getValue());
            }
        }
        for (Node n : moved) {
            byPath.remove(n.path);
        }
        for (Node n : moved) {
            n.path = to + n.path.substring(from.length());
            byPath.put(n.path, n);
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
