package org.fsp.ipc.fuse;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;

/**
 * Finds a path for an inode number the kernel names but this process never learned: after a take-over from an fspd
 * that died, every node id the kernel holds is such a number. fs-core keeps no names in its inodes, so this walks the
 * tree from the root (as root) and remembers every name it passes, up to {@value #MAX_REMEMBERED}, so that the
 * kernel's next unknown ids are found without another walk; a remembered name is checked before it is used (the
 * namespace may have changed since). Only the recovery path pays for it: a walk costs one READDIR page per 128 entries
 * of every directory before the one it looks for.
 */
final class NodeResolver {

    /** Names kept from one walk for the next lookups. */
    static final int MAX_REMEMBERED = 1 << 20;

    private static final int BATCH = 128;

    /** Inode number to a path it had when the walk passed it. Guarded by this. */
    private final Map<Long, String> seen = new HashMap<>();

    /** A path naming inode {@code ino} now, or null if none does (the file was removed). */
    synchronized String find(FileSystemService fs, long ino) throws FsException {
        String p = seen.get(ino);
        if (p != null && names(fs, p, ino)) {
            return p;
        }
        seen.clear();
        return walk(fs, ino);
    }

    private static boolean names(FileSystemService fs, String path, long ino) throws FsException {
        try {
            return fs.lstat(Credentials.ROOT, path).ino() == ino;
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT || e.errno() == Errno.ENOTDIR) {
                return false;
            }
            throw e;
        }
    }

    /** Under this: breadth first from the root, so that a name near the root is found soon. */
    private String walk(FileSystemService fs, long ino) throws FsException {
        Deque<String> dirs = new ArrayDeque<>();
        dirs.add("/");
        String found = null;
        while (!dirs.isEmpty() && found == null) {
            String dir = dirs.poll();
            long cookie = 0;
            while (true) {
                List<DirEntry> page;
                try {
                    page = fs.readdir(Credentials.ROOT, dir, cookie, BATCH);
                } catch (FsException e) {
                    if (e.errno() == Errno.ENOENT || e.errno() == Errno.ENOTDIR) {
                        break; // removed while we walked
                    }
                    throw e;
                }
                if (page.isEmpty()) {
                    break;
                }
                for (DirEntry e : page) {
                    String p = NodeTable.child(dir, e.name());
                    if (seen.size() < MAX_REMEMBERED) {
                        seen.putIfAbsent(e.ino(), p);
                    }
                    if (e.ino() == ino && found == null) {
                        found = p;
                    }
                    if ((e.mode() & FileMode.S_IFMT) == FileMode.S_IFDIR) {
                        dirs.add(p);
                    }
                    cookie = e.cookie();
                }
            }
        }
        return found;
    }
}
