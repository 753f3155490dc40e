package org.fsp.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code fsp mount [DIR]} and {@code fsp umount DIR}: the running daemon's {@code fsp:mount} / {@code fsp:umount}
 * shell commands from the command line, so that FSP can be mounted through FUSE (or unmounted) without a shell.
 */
final class MountCommands {

    private MountCommands() {}

    /** Runs one Gogo command over the admin socket; prints its output; 0 if it succeeded. */
    static int run(Fsp parent, String command) {
        try (AdminClient client = AdminClient.connect(FspPaths.adminSocketFor(parent.clientSocket()))) {
            AdminClient.Reply reply = client.execute(command);
            Fsp.Shell.print(reply);
            return reply.failed() ? 1 : 0;
        } catch (IOException e) {
            System.err.println("fsp: " + e.getMessage());
            return 2;
        }
    }

    /** Gogo takes a double-quoted argument whole; a path with a quote or backslash is refused rather than mangled. */
    static String quoted(Path dir) {
        String s = dir.toAbsolutePath().normalize().toString();
        if (s.contains("\"") || s.contains("\\")) {
            throw new IllegalArgumentException("a mount directory may not contain \" or \\: " + s);
        }
        return "\"" + s + "\"";
    }

    @Command(
            name = "mount",
            description = "Mounts FSP at DIR through FUSE in the running fspd (needs root); without DIR, lists the"
                    + " mounts and the transport each uses.")
    static final class Mount implements Callable<Integer> {

        @ParentCommand
        Fsp parent;

        @Parameters(arity = "0..1", paramLabel = "DIR", description = "An existing, empty directory.")
        Path dir;

        @Override
        public Integer call() {
            return run(parent, dir == null ? "fsp:mount" : "fsp:mount " + quoted(dir));
        }
    }

    @Command(name = "umount", description = "Unmounts FSP from DIR (lazily: programs still inside see ENOTCONN).")
    static final class Umount implements Callable<Integer> {

        @ParentCommand
        Fsp parent;

        @Parameters(paramLabel = "DIR")
        Path dir;

        @Override
        public Integer call() {
            return run(parent, "fsp:umount " + quoted(dir));
        }
    }
}
