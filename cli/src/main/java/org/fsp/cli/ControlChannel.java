package org.fsp.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.fsp.linux.UnixSockets;

/**
 * One end of the private control connection between {@code fspd --supervise} and an fspd it runs: lines of text
 * ({@code hello 4242}, {@code locked}, {@code go 3 …}), and once, from the supervisor, the listening client socket
 * attached with SCM_RIGHTS. Stream sockets may join or split messages, so lines are framed by their newline.
 *
 * <p>Not thread-safe: one thread receives, sends are whole lines in one sendmsg each.
 */
final class ControlChannel implements AutoCloseable {

    private final int fd;
    private final StringBuilder partial = new StringBuilder();
    private final Deque<String> lines = new ArrayDeque<>();
    private final Deque<Integer> descriptors = new ArrayDeque<>();
    private volatile boolean closed;
    private boolean peerClosed;

    ControlChannel(int fd) {
        this.fd = fd;
    }

    /** Connects to the supervisor's control socket. */
    static ControlChannel connect(String path) {
        return new ControlChannel(UnixSockets.connect(path));
    }

    int fd() {
        return fd;
    }

    /** Sends {@code line} and, unless it is -1, {@code passFd} with it. */
    synchronized void send(String line, int passFd) {
        UnixSockets.sendLine(fd, line, passFd);
    }

    void send(String line) {
        send(line, -1);
    }

    /** The next line, blocking; null when the peer has closed (or the connection broke). */
    String receive() {
        while (lines.isEmpty()) {
            if (!fill()) {
                return null;
            }
        }
        return lines.poll();
    }

    /** The next line if one has come, else null at once (see {@link #peerClosed()}). */
    String receiveNow() {
        while (lines.isEmpty() && !peerClosed) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(4096);
                UnixSockets.Received got = UnixSockets.receive(fd, buf, UnixSockets.MSG_DONTWAIT);
                if (got.bytes() < 0) {
                    return null; // nothing waiting
                }
                take(buf, got);
            } catch (NativeException e) {
                peerClosed = true;
            }
        }
        return lines.poll();
    }

    /** True once the peer has closed the connection (or it broke) and every line it sent has been taken. */
    boolean peerClosed() {
        return peerClosed && lines.isEmpty();
    }

    /** A descriptor that came with the lines received so far, or -1. */
    int takeDescriptor() {
        Integer d = descriptors.poll();
        return d == null ? -1 : d;
    }

    private boolean fill() {
        if (peerClosed) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4096);
            take(buf, UnixSockets.receive(fd, buf));
        } catch (NativeException e) {
            // ECONNRESET from a peer that died, or EBADF after close(): either way the conversation is over.
            peerClosed = true;
        }
        return !peerClosed;
    }

    private void take(MemorySegment buf, UnixSockets.Received got) {
        if (got.fd() >= 0) {
            descriptors.add(got.fd());
        }
        if (got.bytes() == 0) {
            peerClosed = true;
            return;
        }
        partial.append(new String(buf.asSlice(0, got.bytes()).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
        int nl;
        while ((nl = partial.indexOf("\n")) >= 0) {
            lines.add(partial.substring(0, nl));
            partial.delete(0, nl + 1);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }
}
