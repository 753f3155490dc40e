package org.fsp.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where FSP keeps things by default, following the XDG base directories so that each user gets a private daemon:
 * the device image under the data directory, the client and admin sockets under the runtime directory.
 *
 * <p>A typical sequence is: {@code FspPaths.fromEnvironment()}, then {@link #defaultDevice()} and
 * {@link #defaultClientSocket()}; both {@code fspd} and {@code fsp} use it, so they agree without configuration.
 */
public final class FspPaths {

    /** File name of the client socket inside the runtime directory. */
    public static final String CLIENT_SOCKET = "fsp.sock";
    /** Suffix that turns a client socket path into its admin socket path. */
    public static final String ADMIN_SUFFIX = ".admin";

    private final Path dataDir;
    private final Path runtimeDir;

    FspPaths(Path dataDir, Path runtimeDir) {
        this.dataDir = dataDir;
        this.runtimeDir = runtimeDir;
    }

    /** Resolves the directories from {@code XDG_DATA_HOME}, {@code XDG_RUNTIME_DIR} and the home directory. */
    public static FspPaths fromEnvironment() {
        return from(System.getenv(), System.getProperty("user.home"), uid());
    }

    static FspPaths from(Map<String, String> env, String home, long uid) {
        String data = env.get("XDG_DATA_HOME");
        Path dataDir =
                (data == null || data.isBlank() ? Path.of(home, ".local", "share") : Path.of(data)).resolve("fsp");
        String runtime = env.get("XDG_RUNTIME_DIR");
        Path runtimeDir;
        if (runtime != null && !runtime.isBlank()) {
            runtimeDir = Path.of(runtime).resolve("fsp");
        } else if (Files.isDirectory(Path.of("/run/user/" + uid))) {
            runtimeDir = Path.of("/run/user/" + uid, "fsp");
        } else {
            runtimeDir = Path.of(System.getProperty("java.io.tmpdir"), "fsp-" + uid);
        }
        return new FspPaths(dataDir, runtimeDir);
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path runtimeDir() {
        return runtimeDir;
    }

    /** The embedded default device: an image file created and formatted on first start. */
    public Path defaultDevice() {
        return dataDir.resolve("default.img");
    }

    /** The UNIX socket clients connect to. */
    public Path defaultClientSocket() {
        return runtimeDir.resolve(CLIENT_SOCKET);
    }

    /** The admin (shell) socket that belongs to a client socket. */
    public static Path adminSocketFor(Path clientSocket) {
        return clientSocket.resolveSibling(clientSocket.getFileName() + ADMIN_SUFFIX);
    }

    /** The current user's uid, from the owner of a file this process creates. */
    static long uid() {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return ((Number) uid).longValue();
        } catch (Exception e) {
            return 0;
        }
    }
}
