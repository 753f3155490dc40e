package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.api.channel.HandshakeDescriptor.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.fsp.api.channel.ChangeEventsDescriptor;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.HandshakeDescriptor;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.SessionRecords;
import org.fsp.linux.Libc;
import org.fsp.linux.MemFd;
import org.fsp.linux.NativeException;
import org.fsp.linux.UnixSockets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The channel handshake of one {@link ShmServer}: reads a connection's hello, checks it and the server's bounds (clients
 * in all and per uid, the session token's owner), then makes the client's segment and session and answers with the
 * welcome and the segment's memfd; or refuses with an errno the client reports.
 *
 * <p>A typical sequence is: the monitor calls {@link #hello} when a connection is readable; false means no byte has
 * come yet (the connection keeps waiting); true means it was answered either way. Runs on the monitor thread only.
 */
final class Handshake {

    private static final int EPIPE = 32;
    private static final int ECONNRESET = 104;
    private static final Logger LOG = LoggerFactory.getLogger(ShmServer.class);

    private final ShmServerConfig config;
    private final ClientTable clients;
    private final FileSystemGate gate;
    private final RateLimitedLog refusals;
    /** True once the server closes: hellos that come now are refused instead of set up. */
    private final BooleanSupplier closing;
    /** The CPUs the thread model's workers are pinned to now, published in each new client's header. */
    private final LongSupplier workerCpus;

    private final AtomicLong clientsServed = new AtomicLong();
    private final AtomicLong clientsRefused = new AtomicLong();

    Handshake(
            ShmServerConfig config,
            ClientTable clients,
            FileSystemGate gate,
            RateLimitedLog refusals,
            BooleanSupplier closing,
            LongSupplier workerCpus) {
        this.config = config;
        this.workerCpus = workerCpus;
        this.clients = clients;
        this.gate = gate;
        this.refusals = refusals;
        this.closing = closing;
    }

    /**
     * Writes the workers' CPUs into the header of each of {@code sessions} whose header says otherwise, so that a
     * worker the load manager added or removed after a client connected reaches that client's threads that start
     * calling from now on. A session released meanwhile (its segment unmapped) is skipped.
     */
    void republishServerCpus(ClientSession[] sessions) {
        long mask = workerCpus.getAsLong();
        for (ClientSession s : sessions) {
            try {
                if (ChannelHeaderDescriptor.serverCpus(s.segment) != mask) {
                    ChannelHeaderDescriptor.publishServerCpus(s.segment, mask);
                }
            } catch (IllegalStateException released) {
                // Its arena closed under us: nobody reads that header any more.
            }
        }
    }

    /** Clients set up since start. */
    long accepted() {
        return clientsServed.get();
    }

    /** Connections refused or dropped since start. */
    long refused() {
        return clientsRefused.get();
    }

    /**
     * Reads the hello on {@code fd} if it has come and answers it: with a segment, or with a refusal (after which the
     * connection is closed). Returns false, having done nothing, while no byte has come yet.
     *
     * <p>A hello is one message of exactly {@link HandshakeDescriptor#HELLO_BYTES} bytes with no descriptor and nothing
     * after it, as FS Lib sends it; a split hello, a descriptor, trailing bytes, a wrong magic or major version are
     * refused with EINVAL.
     */
    boolean hello(int fd, UnixSockets.PeerCredentials peer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hello = arena.allocate(HELLO_BYTES, 8);
            hello.fill((byte) 0);
            UnixSockets.Received got;
            try {
                got = UnixSockets.receive(fd, hello, UnixSockets.MSG_DONTWAIT);
            } catch (NativeException e) {
                // EBADMSG: more than one descriptor came (receive closed them all); ECONNRESET and the like.
                refuse(ShmServer.REFUSED_BAD_HELLO, fd, peer, Errno.EINVAL.code(), "hello failed: " + e.getMessage());
                return true;
            }
            if (got.bytes() == -1) {
                return false;
            }
            if (got.fd() != -1) {
                Libc.close(got.fd());
                refuse(ShmServer.REFUSED_BAD_HELLO, fd, peer, Errno.EINVAL.code(), "a descriptor came with the hello");
                return true;
            }
            if (got.bytes() == 0) {
                Libc.close(fd);
                return true;
            }
            String bad = null;
            if (got.bytes() != HELLO_BYTES && got.bytes() != HELLO_V0_BYTES) {
                bad = "hello of " + got.bytes() + " bytes, not " + HELLO_BYTES + " in one message";
            } else if (UnixSockets.hasPendingData(fd)) {
                bad = "bytes after the hello";
            } else if (hello.get(JAVA_LONG, MAGIC_OFFSET) != ChannelHeaderDescriptor.MAGIC
                    || hello.get(JAVA_INT, VERSION_OFFSET) >>> 16 != ChannelHeaderDescriptor.MAJOR_VERSION) {
                bad = "not an FSP hello of major version " + ChannelHeaderDescriptor.MAJOR_VERSION;
            }
            if (bad != null) {
                refuse(ShmServer.REFUSED_BAD_HELLO, fd, peer, Errno.EINVAL.code(), bad);
                return true;
            }
            if (closing.getAsBoolean() || clients.size() >= config.maxClients()) {
                refuse(
                        ShmServer.REFUSED_SERVER_FULL,
                        fd,
                        peer,
                        Errno.EAGAIN.code(),
                        config.maxClients() + " clients connected");
                return true;
            }
            long ofUid = clients.ofUid(peer.uid());
            if (ofUid >= config.clientsPerUid()) {
                refuse(
                        ShmServer.REFUSED_UID_FULL,
                        fd,
                        peer,
                        Errno.EAGAIN.code(),
                        "its uid has " + ofUid + " clients connected");
                return true;
            }
            // A client of minor version 0 computes the segment's size without a bulk area: it gets none; one below
            // minor 3 computes it without a change-event area.
            int minor = hello.get(JAVA_INT, VERSION_OFFSET) & 0xFFFF;
            boolean bulk = minor >= 1;
            boolean events = minor >= ChangeEventsDescriptor.MINOR_VERSION;
            long tokenHigh = hello.get(JAVA_LONG, HELLO_TOKEN_HIGH_OFFSET);
            long tokenLow = hello.get(JAVA_LONG, HELLO_TOKEN_LOW_OFFSET);
            boolean hasToken = tokenHigh != 0 || tokenLow != 0;
            boolean claimed = false;
            if (hasToken && gate.current() instanceof SessionRecords rs) {
                if (!rs.claim(tokenHigh, tokenLow, peer.uid())) {
                    refuse(
                            ShmServer.REFUSED_TOKEN,
                            fd,
                            peer,
                            Errno.EACCES.code(),
                            "its session token belongs to another uid");
                    return true;
                }
                claimed = true;
            }
            setUp(fd, peer, hello.get(JAVA_INT, HELLO_LANES_OFFSET), bulk, events, arena, tokenHigh, tokenLow, claimed);
            return true;
        }
    }

    /** Makes the client's segment and session and sends the welcome with the segment's memfd. */
    private void setUp(
            int fd,
            UnixSockets.PeerCredentials peer,
            int asked,
            boolean bulk,
            boolean events,
            Arena arena,
            long tokenHigh,
            long tokenLow,
            boolean claimed) {
        ClientSession session = null;
        int memfd = -1;
        try {
            int[] groups = UnixSockets.peerGroups(fd);
            int lanes = asked <= 0 ? config.lanesPerClient() : Math.min(asked, config.maxLanesPerClient());
            // One bulk buffer per lane: every thread of a client with a lane of its own can move 1 MiB at once. The
            // memfd is sparse, so only the pages a client touches cost memory.
            ChannelLayout layout = ChannelLayout.of(
                    lanes,
                    config.slotsPerLane(),
                    config.slotDataBytes(),
                    bulk ? lanes * ChannelLayout.BULK_IO_BYTES : 0);
            int eventBytes = events ? ChangeEventsDescriptor.AREA_BYTES : 0;
            long bytes = layout.segmentBytes() + eventBytes;
            long id = clients.newId();
            memfd = MemFd.createSealed("fsp-client-" + id, bytes);
            Arena sessionArena = Arena.ofShared();
            MemorySegment segment;
            try {
                segment = mapShared(memfd, bytes, sessionArena);
            } catch (RuntimeException e) {
                sessionArena.close();
                throw e;
            }
            ChannelHeaderDescriptor.write(segment, layout, eventBytes, id, Libc.getpid());
            ChannelHeaderDescriptor.publishServerCpus(segment, workerCpus.getAsLong());
            Credentials who = new Credentials(peer.pid(), peer.uid(), peer.gid(), groups);
            session = new ClientSession(
                    id,
                    who,
                    layout,
                    segment,
                    sessionArena,
                    fd,
                    config.maxOpenFilesPerClient(),
                    System.currentTimeMillis(),
                    tokenHigh,
                    tokenLow);
            session.tokenClaimed = claimed;
            clients.add(session);
            for (int lane = 0; lane < layout.laneCount(); lane++) {
                clients.assignLane(session, lane, 0);
            }
            MemorySegment welcome = welcome(arena, 0);
            welcome.set(JAVA_INT, WELCOME_LANE_COUNT_OFFSET, layout.laneCount());
            welcome.set(JAVA_INT, WELCOME_SLOTS_PER_LANE_OFFSET, layout.slotsPerLane());
            welcome.set(JAVA_INT, WELCOME_SLOT_DATA_BYTES_OFFSET, layout.slotDataBytes());
            welcome.set(JAVA_LONG, WELCOME_SEGMENT_BYTES_OFFSET, bytes);
            welcome.set(JAVA_LONG, WELCOME_CLIENT_ID_OFFSET, id);
            int features = events ? FEATURE_CHANGE_EVENTS : 0;
            if (session.hasToken() && gate.current() instanceof SessionRecords rs && rs.recordsKept()) {
                features |= FEATURE_RECORDS;
            }
            welcome.set(JAVA_INT, WELCOME_FEATURES_OFFSET, features);
            UnixSockets.send(fd, welcome, memfd);
            clientsServed.incrementAndGet();
            LOG.info("connected {} with {} lanes", session, lanes);
        } catch (RuntimeException e) {
            if (session != null && e instanceof NativeException n && (n.errno() == EPIPE || n.errno() == ECONNRESET)) {
                LOG.info("{} left during its handshake", session);
                clients.release(session);
            } else if (session != null) {
                refusals.warn(ShmServer.REFUSED_SETUP, "could not set up {}: {}", session, e.toString());
                clientsRefused.incrementAndGet();
                clients.release(session);
            } else {
                int errno = e instanceof NativeException n
                                && (n.errno() == UnixSockets.EMFILE || n.errno() == UnixSockets.ENFILE)
                        ? n.errno()
                        : Errno.EIO.code();
                refuse(
                        errno == Errno.EIO.code() ? ShmServer.REFUSED_SETUP : ShmServer.REFUSED_DESCRIPTORS,
                        fd,
                        peer,
                        errno,
                        e.toString());
            }
        } finally {
            if (memfd != -1) {
                Libc.close(memfd);
            }
        }
    }

    /**
     * Refuses the connection on {@code fd}: sends a welcome with {@code errno} as its status unless it is 0 (a
     * connection dropped unanswered), closes it, counts the refusal under {@code kind} and logs it, rate-limited.
     */
    void refuse(String kind, int fd, UnixSockets.PeerCredentials peer, int errno, String why) {
        if (errno != 0) {
            try (Arena arena = Arena.ofConfined()) {
                UnixSockets.send(fd, welcome(arena, errno), -1);
            } catch (NativeException e) {
                LOG.debug("refusal not delivered to pid {}", peer.pid(), e);
            }
        }
        Libc.close(fd);
        clientsRefused.incrementAndGet();
        refusals.warn(
                kind,
                "refused pid {} uid {}{}: {}",
                peer.pid(),
                peer.uid(),
                errno != 0 ? " with " + Errno.of(errno) : "",
                why);
    }

    static MemorySegment welcome(Arena arena, int status) {
        MemorySegment welcome = arena.allocate(WELCOME_BYTES, 8);
        welcome.set(JAVA_LONG, MAGIC_OFFSET, ChannelHeaderDescriptor.MAGIC);
        welcome.set(
                JAVA_INT,
                VERSION_OFFSET,
                ChannelHeaderDescriptor.version(
                        ChannelHeaderDescriptor.MAJOR_VERSION, ChannelHeaderDescriptor.MINOR_VERSION));
        welcome.set(JAVA_INT, WELCOME_STATUS_OFFSET, status);
        return welcome;
    }

    /**
     * Maps {@code memfd} shared into {@code arena}, through the JDK's own file mapping (by way of
     * {@code /proc/self/fd}): the unmapping action the arena keeps is then the JDK's, not a lambda of this bundle, so
     * a segment handed to the next version does not hold this bundle's class loader alive.
     */
    private static MemorySegment mapShared(int memfd, long bytes, Arena arena) {
        try (FileChannel ch = FileChannel.open(
                Path.of("/proc/self/fd/" + memfd), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map the client's segment", e);
        }
    }
}
