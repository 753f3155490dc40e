package org.fsp.ipc.fuse;

import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.SessionRecords;
import org.fsp.ipc.fuse.FuseReply.Entry;

/**
 * The names and entries of the kernel's node ids: a node's path from the {@link NodeTable}, found again by inode
 * number ({@link NodeResolver}) for a node a process before this one handed out, and the LOOKUP-style entries that
 * hand out node ids. A typical sequence is: {@link #path} of the parent named in a request, the fs-core call on the
 * child's path, then {@link #entry} for the answer, which counts one more kernel lookup of the child.
 */
final class NodePaths {

    private final NodeTable nodes;
    private final FileHandles handles;
    private final NodeResolver resolver = new NodeResolver();
    private final long entryValidNanos;
    private final long attrValidNanos;

    NodePaths(NodeTable nodes, FileHandles handles, long entryValidNanos, long attrValidNanos) {
        this.nodes = nodes;
        this.handles = handles;
        this.entryValidNanos = entryValidNanos;
        this.attrValidNanos = attrValidNanos;
    }

    /**
     * A path of the node, or null for a node whose name was removed. A node this table does not know (learned by a
     * process that died, or forgotten too early) is found again by its inode number.
     */
    String pathOrNull(FileSystemService fs, long node) throws FsException {
        String p = nodes.path(node);
        if (p != null || nodes.known(node)) {
            return p;
        }
        p = resolver.find(fs, nodes.inoOf(node));
        if (p != null) {
            nodes.relearned(node, p);
        }
        return p;
    }

    /** The node's path; ENOENT for a node whose name was removed (or one the kernel should not hold). */
    String path(FileSystemService fs, long node) throws FsException {
        String p = pathOrNull(fs, node);
        if (p == null) {
            throw new FsException(Errno.ENOENT, "node " + node + " has no name");
        }
        return p;
    }

    /** The node's attributes: by its name, or for an unlinked node by any handle still open on it. */
    FileAttributes attrsOf(FileSystemService fs, Credentials who, long node) throws FsException {
        String p = pathOrNull(fs, node);
        if (p != null) {
            return fs.lstat(who, p);
        }
        long fh = nodes.anyHandle(node);
        if (fh < 0) {
            throw new FsException(Errno.ENOENT, "node " + node + " has no name and no open file");
        }
        return fs.fstat(who, handles.handle(fs, fh));
    }

    /** A LOOKUP-style answer for the file at {@code path}: one more lookup of its node. */
    Entry entry(FileSystemService fs, Credentials who, String path) throws FsException {
        return entry(fs, path, fs.lstat(who, path));
    }

    /** The entry of the file at {@code path} whose attributes are {@code a}: one more lookup of its node. */
    Entry entry(FileSystemService fs, String path, FileAttributes a) {
        return new Entry(nodes.lookedUp(path, a.ino()), generation(fs, a.ino()), a, entryValidNanos, attrValidNanos);
    }

    FuseReply attributes(FileAttributes a) {
        return new FuseReply.Attributes(a, attrValidNanos);
    }

    /** The generation of inode {@code ino} (0 if the file system has none to tell, or the file has just gone). */
    static int generation(FileSystemService fs, long ino) {
        if (fs instanceof SessionRecords records) {
            try {
                return records.generation(ino);
            } catch (FsException e) {
                return 0;
            }
        }
        return 0;
    }
}
