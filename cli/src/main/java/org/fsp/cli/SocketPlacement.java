package org.fsp.cli;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * Where fspd may put its sockets, log and bundle cache. A directory other users can write lets them replace the
 * socket with their own (and so impersonate fspd to every client) or plant a symlink where the log goes; fspd refuses
 * one, unless it is sticky (as {@code /tmp}: others cannot remove or rename what is ours) and every name fspd uses in
 * it is absent or already ours. The log and the Felix cache go into a private directory beside the socket, mode 0700.
 *
 * <p>A typical sequence is: {@code String why = SocketPlacement.problem(dir, names, uid)}; refuse with it if not null;
 * then {@code Path priv = SocketPlacement.privateDirectory(socket, uid)}.
 */
final class SocketPlacement {

    static final int S_ISVTX = 01000;

    private SocketPlacement() {}

    /** What one file-system entry says about who controls it: its owner and mode, or absent. */
    record Entry(boolean exists, int uid, int gid, int mode) {
        static final Entry ABSENT = new Entry(false, -1, -1, 0);

        static Entry of(Path p) throws IOException {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return ABSENT;
            }
            return new Entry(
                    true,
                    (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS),
                    (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS),
                    (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS));
        }
    }

    /**
     * Null if a directory with these attributes may hold fspd's sockets, else why not.
     *
     * @param dir the directory's attributes
     * @param names the entries fspd will create in it, by name (the client and admin sockets, the private directory)
     * @param uid this process's uid
     */
    static String problem(String dirName, Entry dir, List<String> names, List<Entry> entries, int uid) {
        boolean othersWrite = (dir.mode() & 0002) != 0 || (dir.mode() & 0020) != 0;
        boolean ownerIsOther = dir.uid() != uid && dir.uid() != 0;
        if (ownerIsOther) {
            // The owner of a directory may remove anything in it, sticky or not.
            return "socket directory " + dirName + " belongs to uid " + dir.uid() + ", who could replace fspd's socket;"
                    + " choose a --socket in a directory of your own (mode 0700)";
        }
        if (!othersWrite) {
            return null;
        }
        if ((dir.mode() & S_ISVTX) == 0) {
            return "socket directory " + dirName + " is writable by other users (mode "
                    + String.format("%04o", dir.mode() & 07777) + "), who could replace fspd's socket with their own;"
                    + " choose a --socket in a directory of your own (mode 0700) or a sticky one such as /tmp";
        }
        for (int k = 0; k < names.size(); k++) {
            Entry e = entries.get(k);
            if (e.exists() && e.uid() != uid) {
                return names.get(k) + " in the shared directory " + dirName + " already exists and belongs to uid "
                        + e.uid() + "; fspd will not use a name another user holds: choose another --socket";
            }
        }
        return null;
    }

    /** {@link #problem} for the directory of {@code socket}, read from the file system. */
    static String check(Path socket, int uid) throws IOException {
        Path dir = socket.getParent();
        List<Path> ours = List.of(socket, FspPaths.adminSocketFor(socket), privateDirectoryFor(socket));
        return problem(
                dir.toString(),
                Entry.of(dir.toRealPath()),
                ours.stream().map(Path::toString).toList(),
                ours.stream()
                        .map(p -> {
                            try {
                                return Entry.of(p);
                            } catch (IOException e) {
                                return new Entry(true, -1, -1, 0);
                            }
                        })
                        .toList(),
                uid);
    }

    /** The private directory beside a socket: {@code PATH.d}, holding {@code fspd.log} and {@code felix-cache}. */
    static Path privateDirectoryFor(Path socket) {
        return socket.resolveSibling(socket.getFileName() + ".d");
    }

    /**
     * Creates (or takes back) the private directory of {@code socket}, mode 0700. Refuses one that is a symlink or
     * belongs to another user: the log written there would go where they chose.
     */
    static Path privateDirectory(Path socket, int uid) throws IOException {
        Path dir = privateDirectoryFor(socket);
        try {
            Files.createDirectory(
                    dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            // From an earlier run; checked below.
        }
        Entry e = Entry.of(dir);
        if ((e.mode() & 0170000) != 0040000) {
            throw new IOException(dir + " exists and is not a directory (a symlink is not accepted)");
        }
        if (e.uid() != uid) {
            throw new IOException(dir + " belongs to uid " + e.uid() + ", not to this user (uid " + uid + ")");
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        return dir;
    }
}
