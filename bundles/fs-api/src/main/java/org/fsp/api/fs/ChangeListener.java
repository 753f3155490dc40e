package org.fsp.api.fs;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Told by a {@link FileSystemService} of changes to its namespace and its files, whoever made them: how a front end
 * that lets a kernel cache names and attributes (the FUSE mount) keeps those caches right when another client changes
 * the file system. Register with {@link FileSystemService#addChangeListener}.
 *
 * <p>Names are given by their directory's inode number and the name in it, not by the path the caller used: a path
 * through a symlink or ".." names the same entry as the canonical path a front end keeps.
 *
 * <p>Calls come on the changing operation's own thread once the change is made: an implementation must be quick, must
 * not block and must not call back into the file system (it queues the work for a thread of its own).
 */
@ConsumerType
public interface ChangeListener {

    /**
     * Entry {@code name} of directory {@code dirIno} was made (create, mkdir, symlink, link): a front end that let the
     * kernel cache the name's absence drops that. Listeners that cache no absent names ignore it.
     */
    default void created(long dirIno, String name) {}

    /**
     * {@link #created(long, String)} naming the inode {@code ino} the new entry refers to, for a listener that keeps
     * names with their inodes (ipc-shm's directory watches). The default tells {@link #created(long, String)}.
     */
    default void created(long dirIno, String name, long ino) {
        created(dirIno, name);
    }

    /** Entry {@code name} of directory {@code dirIno} is gone (unlink, rmdir). */
    void removed(long dirIno, String name);

    /**
     * {@link #removed(long, String)} naming the inode {@code ino} the entry referred to (for rmdir: the directory
     * removed). The default tells {@link #removed(long, String)}.
     */
    default void removed(long dirIno, String name, long ino) {
        removed(dirIno, name);
    }

    /**
     * Entry {@code fromName} of {@code fromDirIno} now lives at {@code toName} of {@code toDirIno}, replacing what was
     * there; with {@code exchange} the two swapped places. {@code directory}: what now lives at the new name is a
     * directory (the names under it moved with it).
     */
    void renamed(long fromDirIno, String fromName, long toDirIno, String toName, boolean directory, boolean exchange);

    /**
     * {@link #renamed(long, String, long, String, boolean, boolean)} naming the inodes: {@code movedIno} now lives at
     * {@code toName}; {@code exchangedIno}, with {@code exchange}, is the inode now at {@code fromName}, else 0. The
     * default tells the form without inodes.
     */
    default void renamed(
            long fromDirIno,
            String fromName,
            long toDirIno,
            String toName,
            boolean directory,
            boolean exchange,
            long movedIno,
            long exchangedIno) {
        renamed(fromDirIno, fromName, toDirIno, toName, directory, exchange);
    }

    /** Inode {@code ino}'s data or attributes changed: a write, truncate, chmod, chown, utimens, link, xattr change. */
    void changed(long ino);
}
