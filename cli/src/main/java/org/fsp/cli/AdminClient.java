package org.fsp.cli;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The client end of the daemon's admin socket: sends one Gogo command line, reads its framed reply.
 *
 * <p>Wire format, per command (the daemon side is the admin bundle's {@code AdminShellServer}): the client writes the
 * command as a UTF-8 line; the daemon answers {@code int status} (0 done, 1 the command failed) then
 * {@code int length} and that many bytes of UTF-8 output. The connection stays open for further commands.
 */
public final class AdminClient implements AutoCloseable {

    /** A command's outcome: its output and whether it failed. */
    public record Reply(boolean failed, String output) {}

    private final SocketChannel channel;
    private final DataOutputStream out;
    private final DataInputStream in;

    private AdminClient(SocketChannel channel) {
        this.channel = channel;
        this.out = new DataOutputStream(Channels.newOutputStream(channel));
        this.in = new DataInputStream(Channels.newInputStream(channel));
    }

    /** Connects to an admin socket; fails with a message a user can act on when no daemon is there. */
    public static AdminClient connect(Path adminSocket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(adminSocket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("no fspd is listening on " + adminSocket + " (" + e.getMessage()
                    + "); start one with bin/fspd, or pass --socket");
        }
        return new AdminClient(ch);
    }

    public Reply execute(String commandLine) throws IOException {
        if (commandLine.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("one command line at a time");
        }
        out.write((commandLine + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        int status = in.readInt();
        int length = in.readInt();
        byte[] text = in.readNBytes(length);
        return new Reply(status != 0, new String(text, StandardCharsets.UTF_8));
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
