package org.fsp.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.fsp.api.fs.DirEntry;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.api.fs.FsStats;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * The file commands of {@code bin/fsp}: each connects to the running daemon through FS Lib, as any application would,
 * so they see exactly what applications see, permissions included. Paths inside FSP are absolute ({@code /a/b}).
 */
final class FileCommands {

    /** Bytes moved per read or write call; FS Lib splits larger requests across slots anyway. */
    private static final int CHUNK_BYTES = 1 << 20;

    private FileCommands() {}

    /** Runs one operation on a fresh connection and turns failures into a message and exit code 1. */
    abstract static class FileCommand implements Callable<Integer> {

        @ParentCommand
        Fsp parent;

        abstract void run(FspClient fs) throws IOException;

        @Override
        public Integer call() {
            try (FspClient fs = FspClient.connect(parent.clientSocket())) {
                run(fs);
                return 0;
            } catch (IOException e) {
                String message = String.valueOf(e.getMessage());
                if (e instanceof FspException f && !message.contains(f.errno().name())) {
                    message += " (" + f.errno() + ")";
                }
                System.err.println("fsp " + name() + ": " + message);
                return 1;
            }
        }

        private String name() {
            return getClass().getAnnotation(Command.class).name();
        }
    }

    @Command(name = "ls", description = "Lists a directory (with -l: mode, links, owner, size, time).")
    static final class Ls extends FileCommand {
        @Option(names = "-l", description = "Long listing.")
        boolean longFormat;

        @Parameters(index = "0", defaultValue = "/", paramLabel = "PATH")
        String path;

        @Override
        void run(FspClient fs) throws IOException {
            List<DirEntry> entries = fs.readdir(path);
            for (DirEntry e : entries) {
                if (!longFormat) {
                    System.out.println(e.name());
                    continue;
                }
                String child = path.endsWith("/") ? path + e.name() : path + "/" + e.name();
                FileAttributes a = fs.lstat(child);
                System.out.printf(
                        Locale.ROOT,
                        "%s %3d %5d %5d %12d %s %s%n",
                        modeString(a.mode()),
                        a.nlink(),
                        a.uid(),
                        a.gid(),
                        a.size(),
                        Instant.ofEpochSecond(0, a.mtimeNanos()),
                        e.name());
            }
        }
    }

    @Command(name = "stat", description = "Shows a file's attributes (does not follow a final symlink).")
    static final class Stat extends FileCommand {
        @Parameters(index = "0", paramLabel = "PATH")
        String path;

        @Override
        void run(FspClient fs) throws IOException {
            FileAttributes a = fs.lstat(path);
            System.out.printf(
                    Locale.ROOT,
                    "  File: %s%n  Size: %d  Blocks: %d  IO Block: %d  %s%n",
                    path,
                    a.size(),
                    a.blocks(),
                    a.blockSize(),
                    typeName(a.mode()));
            System.out.printf(
                    Locale.ROOT,
                    " Inode: %d  Links: %d%nAccess: (%04o/%s)  Uid: %d  Gid: %d%n",
                    a.ino(),
                    a.nlink(),
                    a.mode() & FileMode.PERMISSION_MASK,
                    modeString(a.mode()),
                    a.uid(),
                    a.gid());
            System.out.printf(
                    "Access: %s%nModify: %s%nChange: %s%n",
                    Instant.ofEpochSecond(0, a.atimeNanos()),
                    Instant.ofEpochSecond(0, a.mtimeNanos()),
                    Instant.ofEpochSecond(0, a.ctimeNanos()));
        }
    }

    @Command(name = "cat", description = "Writes a file's content to standard output.")
    static final class Cat extends FileCommand {
        @Parameters(index = "0", paramLabel = "PATH")
        String path;

        @Override
        void run(FspClient fs) throws IOException {
            copyOut(fs, path, System.out);
            System.out.flush();
        }
    }

    @Command(name = "get", description = "Copies a file out of FSP to a local path.")
    static final class Get extends FileCommand {
        @Parameters(index = "0", paramLabel = "PATH")
        String path;

        @Parameters(index = "1", paramLabel = "LOCAL")
        Path local;

        @Override
        void run(FspClient fs) throws IOException {
            try (OutputStream out = Files.newOutputStream(local)) {
                copyOut(fs, path, out);
            }
        }
    }

    @Command(
            name = "put",
            description = "Copies a local file into FSP; reports success only once it is durable (fsync).")
    static final class Put extends FileCommand {
        @Parameters(index = "0", paramLabel = "LOCAL")
        Path local;

        @Parameters(index = "1", paramLabel = "PATH")
        String path;

        @Override
        void run(FspClient fs) throws IOException {
            long h = fs.open(path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
            try (InputStream in = Files.newInputStream(local, StandardOpenOption.READ)) {
                byte[] buf = new byte[CHUNK_BYTES];
                int n;
                while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
                    int off = 0;
                    while (off < n) {
                        off += fs.write(h, buf, off, n - off);
                    }
                }
                fs.fsync(h);
            } finally {
                fs.close(h);
            }
        }
    }

    @Command(name = "mkdir", description = "Creates a directory (with -p: and its parents, no error if it exists).")
    static final class Mkdir extends FileCommand {
        @Option(names = "-p", description = "Create parents as needed.")
        boolean parents;

        @Option(
                names = "-m",
                paramLabel = "MODE",
                defaultValue = "755",
                description = "Octal mode (default ${DEFAULT-VALUE}).")
        String mode;

        @Parameters(index = "0", paramLabel = "PATH")
        String path;

        @Override
        void run(FspClient fs) throws IOException {
            int bits = Integer.parseInt(mode, 8);
            if (!parents) {
                fs.mkdir(path, bits);
                return;
            }
            StringBuilder prefix = new StringBuilder();
            for (String part : path.split("/")) {
                if (part.isEmpty()) {
                    continue;
                }
                prefix.append('/').append(part);
                try {
                    fs.mkdir(prefix.toString(), bits);
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    if (!fs.stat(prefix.toString()).isDirectory()) {
                        throw e;
                    }
                }
            }
        }
    }

    @Command(name = "rm", description = "Removes a file, or with -r a directory and everything under it.")
    static final class Rm extends FileCommand {
        @Option(names = "-r", description = "Recursive.")
        boolean recursive;

        @Parameters(index = "0", paramLabel = "PATH")
        String path;

        @Override
        void run(FspClient fs) throws IOException {
            remove(fs, path);
        }

        private void remove(FspClient fs, String p) throws IOException {
            FileAttributes a = fs.lstat(p);
            if (!a.isDirectory()) {
                fs.unlink(p);
                return;
            }
            if (!recursive) {
                throw new java.nio.file.FileSystemException(p, null, "is a directory (use -r)");
            }
            for (DirEntry e : fs.readdir(p)) {
                remove(fs, p.endsWith("/") ? p + e.name() : p + "/" + e.name());
            }
            fs.rmdir(p);
        }
    }

    @Command(name = "mv", description = "Renames atomically, replacing a file or empty directory at the target.")
    static final class Mv extends FileCommand {
        @Parameters(index = "0", paramLabel = "FROM")
        String from;

        @Parameters(index = "1", paramLabel = "TO")
        String to;

        @Override
        void run(FspClient fs) throws IOException {
            fs.rename(from, to);
        }
    }

    @Command(name = "df", description = "Shows blocks and inodes used and free.")
    static final class Df extends FileCommand {
        @Override
        void run(FspClient fs) throws IOException {
            FsStats s = fs.statfs();
            long used = s.totalBlocks() - s.freeBlocks();
            System.out.printf(Locale.ROOT, "%-12s %12s %12s %12s %5s%n", "", "size", "used", "avail", "use%");
            // As df: avail leaves out the blocks reserved for root, and use% is used / (used + avail).
            System.out.printf(
                    Locale.ROOT,
                    "%-12s %12s %12s %12s %4d%%%n",
                    "blocks",
                    Sizes.human(s.totalBlocks() * s.blockSize()),
                    Sizes.human(used * s.blockSize()),
                    Sizes.human(s.availableBlocks() * s.blockSize()),
                    percent(used, used + s.availableBlocks()));
            long inodesUsed = s.totalInodes() - s.freeInodes();
            System.out.printf(
                    Locale.ROOT,
                    "%-12s %12d %12d %12d %4d%%%n",
                    "inodes",
                    s.totalInodes(),
                    inodesUsed,
                    s.freeInodes(),
                    percent(inodesUsed, s.totalInodes()));
        }
    }

    private static void copyOut(FspClient fs, String path, OutputStream out) throws IOException {
        long h = fs.open(path, OpenFlags.O_RDONLY, 0);
        try {
            byte[] buf = new byte[CHUNK_BYTES];
            int n;
            while ((n = fs.read(h, buf, 0, buf.length)) > 0) {
                out.write(buf, 0, n);
            }
        } finally {
            fs.close(h);
        }
    }

    private static int percent(long part, long whole) {
        return whole == 0 ? 0 : (int) (100 * part / whole);
    }

    static String typeName(int mode) {
        return FileMode.isDirectory(mode) ? "directory" : FileMode.isSymlink(mode) ? "symbolic link" : "regular file";
    }

    /** {@code drwxr-xr-x}, as ls prints it. */
    static String modeString(int mode) {
        char type = FileMode.isDirectory(mode) ? 'd' : FileMode.isSymlink(mode) ? 'l' : '-';
        String rwx = "rwxrwxrwx";
        StringBuilder sb = new StringBuilder().append(type);
        for (int i = 0; i < 9; i++) {
            sb.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
        }
        return sb.toString();
    }
}
