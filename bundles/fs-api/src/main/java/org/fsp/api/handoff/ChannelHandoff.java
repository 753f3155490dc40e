package org.fsp.api.handoff;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.fs.Credentials;

/**
 * What ipc-shm hands to its successor: the listening socket and every connected client's channel, so that clients
 * keep their connection, their mapped segment and their open files across the upgrade and only see a pause.
 *
 * @param socketPath the path the listening socket is bound to
 * @param listenFd the listening socket
 * @param nextClientId the next client id to hand out
 * @param clients the connected clients
 * @param quiescedAtNanos {@link System#nanoTime()} when the outgoing version stopped polling the lanes
 * @param pendingFds connections accepted but not yet past their hello: the successor goes on waiting for it, so a
 *     client that connects during the hand-over is not cut off
 */
public record ChannelHandoff(
        String socketPath,
        int listenFd,
        long nextClientId,
        List<Client> clients,
        long quiescedAtNanos,
        List<Integer> pendingFds)
        implements LayerState {

    /** A hand-off with no connection waiting for its hello. */
    public ChannelHandoff(
            String socketPath, int listenFd, long nextClientId, List<Client> clients, long quiescedAtNanos) {
        this(socketPath, listenFd, nextClientId, clients, quiescedAtNanos, List.of());
    }

    /**
     * One connected client.
     *
     * @param id the server's client id
     * @param credentials as the kernel vouched for them at connect
     * @param socketFd the client's socket (its closing means the client died)
     * @param layout the segment's geometry
     * @param segment the mapped segment
     * @param arena owns the mapping
     * @param laneHeads per lane, the next slot sequence the server serves
     * @param files the client's open files
     * @param fileGenerations the generation of every entry of the client's open-file table by index, open or free, so
     *     that a number the client closed before the hand-over is not given out again
     * @param requestsServed counter carried on for {@code fsp:clients}
     * @param connectedAtMillis when the client connected
     * @param tokenHigh the client's session token, high half (both halves zero: none; see {@code docs/recovery.md})
     * @param tokenLow the client's session token, low half
     */
    public record Client(
            long id,
            Credentials credentials,
            int socketFd,
            ChannelLayout layout,
            MemorySegment segment,
            Arena arena,
            long[] laneHeads,
            List<ClientFile> files,
            int[] fileGenerations,
            long requestsServed,
            long connectedAtMillis,
            long tokenHigh,
            long tokenLow) {

        public Client {
            files = List.copyOf(files);
        }

        /** A client without a session token. */
        public Client(
                long id,
                Credentials credentials,
                int socketFd,
                ChannelLayout layout,
                MemorySegment segment,
                Arena arena,
                long[] laneHeads,
                List<ClientFile> files,
                int[] fileGenerations,
                long requestsServed,
                long connectedAtMillis) {
            this(
                    id,
                    credentials,
                    socketFd,
                    layout,
                    segment,
                    arena,
                    laneHeads,
                    files,
                    fileGenerations,
                    requestsServed,
                    connectedAtMillis,
                    0,
                    0);
        }
    }

    /**
     * One entry of a client's open-file table.
     *
     * @param index the table index (the low half of the client's handle number)
     * @param generation the entry's generation (the high half)
     * @param fsHandle the file system's handle
     */
    public record ClientFile(int index, int generation, long fsHandle) {}

    public ChannelHandoff {
        clients = List.copyOf(clients);
        pendingFds = List.copyOf(pendingFds);
    }

    @Override
    public List<Integer> descriptors() {
        List<Integer> fds = new ArrayList<>();
        fds.add(listenFd);
        for (Client c : clients) {
            fds.add(c.socketFd());
        }
        fds.addAll(pendingFds);
        return fds;
    }

    @Override
    public List<Arena> arenas() {
        List<Arena> out = new ArrayList<>();
        for (Client c : clients) {
            out.add(c.arena());
        }
        return out;
    }
}
