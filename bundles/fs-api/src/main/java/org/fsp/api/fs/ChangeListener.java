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

    /** Entry {@code name} of directory {@code dirIno} is gone (unlink, rmdir). */
    void removed(long dirIno, String name);

    /**
     * Entry {@code fromName} of {@code fromDirIno} now lives at {@code toName} of {@code toDirIno}, replacing what was
     * there; with {@code exchange} the two swapped places. {@code directory}: what now lives at the new name is a
     * directory (the names under it moved with it).
     */
    void renamed(long fromDirIno, String fromName, long toDirIno, String toName, boolean directory, boolean exchange);

    /** Inode {@code ino}'s data or attributes changed: a write, truncate, chmod, chown, utimens, link, xattr change. */
    void changed(long ino);
}
