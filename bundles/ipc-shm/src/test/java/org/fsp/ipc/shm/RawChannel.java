package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.HandshakeDescriptor;
import org.fsp.api.channel.LaneDescriptor;
import org.fsp.api.channel.RequestFlyweight;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.linux.Futex;
import org.fsp.linux.Libc;
import org.fsp.linux.UnixSockets;

/**
 * A client made by hand, as a hostile program would make one, for tests: the handshake through {@link UnixSockets}, the
 * memfd kept open (so that the test can tamper with it), the segment mapped with {@link Libc#mmap}, and requests
 * posted straight into slots without FS Lib's bookkeeping.
 */
final class RawChannel implements AutoCloseable {

    private static final VarHandle INT = JAVA_INT.varHandle();

    final int socketFd;
    final int memfd;
    final ChannelLayout layout;
    final MemorySegment segment;

    /** Offset of the change-event area, or -1 without one. */
    final long eventArea;

    private RawChannel(int socketFd, int memfd, ChannelLayout layout, MemorySegment segment, long eventArea) {
        this.eventArea = eventArea;
        this.socketFd = socketFd;
        this.memfd = memfd;
        this.layout = layout;
        this.segment = segment;
    }

    /** Connects and says hello asking for {@code lanes}; fails unless the server welcomes it with a segment. */
    static RawChannel connect(Path socket, int lanes) {
        int fd = UnixSockets.connect(socket.toString());
        try (Arena arena = Arena.ofConfined()) {
            UnixSockets.send(fd, hello(arena, lanes), -1);
            MemorySegment welcome = arena.allocate(HandshakeDescriptor.WELCOME_BYTES, 8);
            UnixSockets.Received r = UnixSockets.receive(fd, welcome);
            int status = welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_STATUS_OFFSET);
            if (status != 0 || r.fd() < 0) {
                throw new IllegalStateException("refused with status " + status);
            }
            ChannelLayout geometry = ChannelLayout.of(
                    welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_LANE_COUNT_OFFSET),
                    welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_SLOTS_PER_LANE_OFFSET),
                    welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_SLOT_DATA_BYTES_OFFSET));
            long bytes = welcome.get(JAVA_LONG, HandshakeDescriptor.WELCOME_SEGMENT_BYTES_OFFSET);
            MemorySegment seg = Libc.mmap(bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, r.fd(), 0);
            boolean events = (welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_FEATURES_OFFSET)
                            & HandshakeDescriptor.FEATURE_CHANGE_EVENTS)
                    != 0;
            int eventBytes = events ? ChannelHeaderDescriptor.eventBytes(seg) : 0;
            ChannelLayout layout = geometry.withBulkBytes((int) (bytes - geometry.segmentBytes() - eventBytes));
            return new RawChannel(fd, r.fd(), layout, seg, events ? layout.segmentBytes() : -1);
        }
    }

    /** A well-formed hello asking for {@code lanes}. */
    static MemorySegment hello(Arena arena, int lanes) {
        MemorySegment hello = arena.allocate(HandshakeDescriptor.HELLO_BYTES, 8);
        hello.set(JAVA_LONG, HandshakeDescriptor.MAGIC_OFFSET, ChannelHeaderDescriptor.MAGIC);
        hello.set(
                JAVA_INT,
                HandshakeDescriptor.VERSION_OFFSET,
                ChannelHeaderDescriptor.version(
                        ChannelHeaderDescriptor.MAJOR_VERSION, ChannelHeaderDescriptor.MINOR_VERSION));
        hello.set(JAVA_INT, HandshakeDescriptor.HELLO_LANES_OFFSET, lanes);
        return hello;
    }

    /** Whether slot {@code slot} of {@code lane} is free or completed (may be posted again). */
    boolean reusable(int lane, int slot) {
        int state = new RequestFlyweight()
                        .wrap(segment, layout.slotOffset(lane, slot))
                        .stateAcquire()
                & SlotDescriptor.STATE_MASK;
        return state != SlotDescriptor.SUBMITTED;
    }

    /** Posts {@code opcode} (no arguments) in {@code slot} of {@code lane} and rings the lane's doorbell if needed. */
    void post(int lane, int slot, int opcode) {
        post(lane, slot, req -> req.opcode(opcode));
    }

    /** Posts the request {@code fill} writes (into a cleared slot) and rings the lane's doorbell if needed. */
    void post(int lane, int slot, java.util.function.Consumer<RequestFlyweight> fill) {
        RequestFlyweight req = new RequestFlyweight().wrap(segment, layout.slotOffset(lane, slot));
        req.clear();
        fill.accept(req);
        req.publishSubmitted();
        VarHandle.fullFence();
        long doorbell = layout.laneOffset(lane) + LaneDescriptor.DOORBELL_OFFSET;
        if ((int) INT.getVolatile(segment, doorbell) == LaneDescriptor.PARKED) {
            INT.setVolatile(segment, doorbell, LaneDescriptor.AWAKE);
            Futex.wake(segment.asSlice(doorbell, 4), 1);
        }
    }

    /** Writes {@code path} into the data buffer of {@code slot} of {@code lane} as path 1 of {@code req}. */
    void putPath1(int lane, int slot, RequestFlyweight req, String path) {
        byte[] bytes = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        MemorySegment.copy(
                bytes,
                0,
                segment,
                java.lang.foreign.ValueLayout.JAVA_BYTE,
                layout.dataOffset(lane, slot),
                bytes.length);
        req.path1Length(bytes.length);
    }

    /** Waits (spinning, at most {@code millis}) until slot {@code slot} of {@code lane} completes; its result. */
    long await(int lane, int slot, long millis) {
        RequestFlyweight req = new RequestFlyweight().wrap(segment, layout.slotOffset(lane, slot));
        long deadline = System.nanoTime() + millis * 1_000_000;
        while ((req.stateAcquire() & SlotDescriptor.STATE_MASK) != SlotDescriptor.COMPLETED) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("slot " + lane + "/" + slot + " not completed within " + millis);
            }
            Thread.onSpinWait();
        }
        return new org.fsp.api.channel.ResponseFlyweight()
                .wrap(segment, layout.slotOffset(lane, slot))
                .result();
    }

    @Override
    public void close() {
        Libc.munmap(segment);
        Libc.close(memfd);
        Libc.close(socketFd);
    }
}
