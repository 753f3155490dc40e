package org.fsp.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whom FS Lib accepts as the server behind a socket, decided from the server's SO_PEERCRED before a byte is sent: a
 * socket planted in a shared directory must not be able to impersonate fspd and receive what a client sends or make
 * it map a segment of its choosing.
 *
 * <p>Accepted: root; this process's own user; the uid named by {@value #EXPECTED_UID_PROPERTY} when that system
 * property is set (and then no one else); otherwise the owner of the socket file, but only when the socket's
 * directory is writable by no one but its owner: in a directory others can write (a sticky {@code /tmp} as well) anyone
 * may have created the socket, so its owner proves nothing.
 *
 * <p>A typical sequence is: {@code String why = ServerTrust.check(socket, serverUid, serverPid, Libc.getuid())}; a
 * non-null answer becomes the {@link IOException} the connect fails with.
 */
final class ServerTrust {

    /** System property: the uid of the fspd this process means to reach (e.g. a service account's). */
    static final String EXPECTED_UID_PROPERTY = "fsp.server.uid";

    private ServerTrust() {}

    /** What the socket's place on disk says about who created it. */
    record SocketFacts(int ownerUid, boolean directorySharedWithOthers) {

        /** Reads the socket file (as connect resolves it, symlinks followed) and its directory. */
        static SocketFacts of(Path socket) throws IOException {
            Path real = socket.toAbsolutePath().toRealPath();
            int owner = (Integer) Files.getAttribute(real, "unix:uid");
            int dirMode = (Integer) Files.getAttribute(real.getParent(), "unix:mode");
            return new SocketFacts(owner, (dirMode & 0022) != 0);
        }
    }

    /**
     * Null if the server may be trusted, else why not.
     *
     * @param configuredUid the value of {@value #EXPECTED_UID_PROPERTY}, or null when unset
     */
    static String refusal(Path socket, int serverUid, int serverPid, int ownUid, Integer configuredUid, SocketFacts f) {
        if (serverUid == 0 || serverUid == ownUid) {
            return null;
        }
        String who = "refusing the server at " + socket + ": it runs as uid " + serverUid + " (pid " + serverPid + ")";
        if (configuredUid != null) {
            return serverUid == configuredUid
                    ? null
                    : who + ", but " + EXPECTED_UID_PROPERTY + " expects uid " + configuredUid + " (or root)";
        }
        if (f.directorySharedWithOthers()) {
            return who + ", neither root nor this user (uid " + ownUid + "), and the socket's directory is writable by"
                    + " other users, so the socket's owner proves nothing; nothing was sent. If that uid is the fspd"
                    + " you mean, run with -D" + EXPECTED_UID_PROPERTY + "=" + serverUid;
        }
        if (serverUid == f.ownerUid()) {
            return null;
        }
        return who + ", neither root, this user (uid " + ownUid + ") nor the socket's owner (uid " + f.ownerUid()
                + "); nothing was sent";
    }

    /** {@link #refusal} with the property and the socket's facts read from this process and the file system. */
    static String check(Path socket, int serverUid, int serverPid, int ownUid) throws IOException {
        if (serverUid == 0 || serverUid == ownUid) {
            return null;
        }
        String configured = System.getProperty(EXPECTED_UID_PROPERTY);
        Integer uid = null;
        if (configured != null && !configured.isBlank()) {
            try {
                uid = Integer.parseInt(configured.trim());
            } catch (NumberFormatException e) {
                throw new IOException(EXPECTED_UID_PROPERTY + " is '" + configured + "', not a uid");
            }
        }
        return refusal(socket, serverUid, serverPid, ownUid, uid, SocketFacts.of(socket));
    }
}
