package org.fsp.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code bin/fsp}: the user's command line for a running (or offline) FSP. */
@Command(
        name = "fsp",
        mixinStandardHelpOptions = true,
        version = "fsp 0.1.0",
        description = "The FSP command line: attach to the daemon's shell, work with files, format and check images.",
        subcommands = {
            Fsp.Shell.class,
            MountCommands.Mount.class,
            MountCommands.Umount.class,
            FileCommands.Ls.class,
            FileCommands.Stat.class,
            FileCommands.Cat.class,
            FileCommands.Put.class,
            FileCommands.Get.class,
            FileCommands.Mkdir.class,
            FileCommands.Rm.class,
            FileCommands.Mv.class,
            FileCommands.Df.class,
            OfflineCommands.MkfsCommand.class,
            OfflineCommands.FsckCommand.class,
            OfflineCommands.BenchCommand.class
        })
public final class Fsp {

    @Option(
            names = "--socket",
            paramLabel = "PATH",
            scope = CommandLine.ScopeType.INHERIT,
            description = "The daemon's client socket (default: fsp.sock under the runtime directory).")
    Path socket;

    Path clientSocket() {
        return socket != null
                ? socket.toAbsolutePath()
                : FspPaths.fromEnvironment().defaultClientSocket();
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Fsp()).execute(args));
    }

    /** Attaches to the daemon's Gogo shell through the admin socket (only the daemon's user and root may). */
    @Command(name = "shell", description = "Runs Gogo shell commands in the running fspd (interactive without -c).")
    static final class Shell implements Callable<Integer> {

        @ParentCommand
        Fsp parent;

        @Option(
                names = {"-c", "--command"},
                paramLabel = "COMMAND",
                description = "Run one command line and exit.")
        String command;

        @Override
        public Integer call() throws IOException {
            Path admin = FspPaths.adminSocketFor(parent.clientSocket());
            try (AdminClient client = AdminClient.connect(admin)) {
                if (command != null) {
                    AdminClient.Reply reply = client.execute(command);
                    print(reply);
                    return reply.failed() ? 1 : 0;
                }
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                boolean tty = System.console() != null;
                while (true) {
                    if (tty) {
                        System.out.print("fsp> ");
                        System.out.flush();
                    }
                    String line = in.readLine();
                    if (line == null || line.strip().equals("exit")) {
                        return 0;
                    }
                    if (!line.isBlank()) {
                        print(client.execute(line));
                    }
                }
            } catch (IOException e) {
                System.err.println("fsp: " + e.getMessage());
                return 2;
            }
        }

        static void print(AdminClient.Reply reply) {
            String text = reply.output();
            (reply.failed() ? System.err : System.out)
                    .print(text.endsWith("\n") || text.isEmpty() ? text : text + "\n");
        }
    }
}
