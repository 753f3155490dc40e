package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.fsp.api.channel.ChannelHeaderDescriptor;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.ChannelOpcodes;
import org.fsp.api.channel.HandshakeDescriptor;
import org.fsp.api.channel.LaneDescriptor;
import org.fsp.api.channel.RequestFlyweight;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.api.fs.OpenFlags;
import org.fsp.linux.Futex;
import org.fsp.linux.Libc;
import org.fsp.linux.UnixSockets;

/**
 * A hostile client, run in a child JVM: it does the handshake by hand (asking for far too many lanes), then fills its
 * slots with random bytes, unknown opcodes, out-of-range offsets, lengths and path lengths, guessed (foreign) handles,
 * bad paths and requests that would touch memory past its slots; a second thread keeps rewriting requests while the
 * server reads them and scribbles on the header and doorbells; it never collects a completion (it just reuses the
 * slot). It prints "READY lanes" and then "PROGRESS n" with the completions it has seen, until it is killed.
 */
public final class HostileClientMain {

    private static final VarHandle INT = JAVA_INT.varHandle();

    private HostileClientMain() {}

    public static void main(String[] args) throws Exception {
        String socket = args[0];
        long seed = Long.parseLong(args[1]);
        int fd = UnixSockets.connect(socket);
        Arena arena = Arena.ofShared();
        MemorySegment hello = arena.allocate(HandshakeDescriptor.HELLO_BYTES, 8);
        hello.set(JAVA_LONG, HandshakeDescriptor.MAGIC_OFFSET, ChannelHeaderDescriptor.MAGIC);
        hello.set(JAVA_INT, HandshakeDescriptor.VERSION_OFFSET, ChannelHeaderDescriptor.version(1, 0));
        hello.set(JAVA_INT, HandshakeDescriptor.HELLO_LANES_OFFSET, 1000);
        UnixSockets.send(fd, hello, -1);
        MemorySegment welcome = arena.allocate(HandshakeDescriptor.WELCOME_BYTES, 8);
        UnixSockets.Received r = UnixSockets.receive(fd, welcome);
        ChannelLayout layout = ChannelLayout.of(
                welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_LANE_COUNT_OFFSET),
                welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_SLOTS_PER_LANE_OFFSET),
                welcome.get(JAVA_INT, HandshakeDescriptor.WELCOME_SLOT_DATA_BYTES_OFFSET));
        MemorySegment seg =
                Libc.mmap(layout.segmentBytes(), Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, r.fd(), 0);
        System.out.println("READY " + layout.laneCount());
        System.out.flush();

        Thread.ofPlatform().daemon().start(() -> scribble(seg, layout, new Random(seed ^ 0x5EED)));

        Random rnd = new Random(seed);
        RequestFlyweight req = new RequestFlyweight();
        long[] heads = new long[layout.laneCount()];
        long completions = 0;
        for (long n = 1; ; n++) {
            int lane = rnd.nextInt(layout.laneCount());
            int slot = (int) (heads[lane]++ % layout.slotsPerLane());
            long slotOffset = layout.slotOffset(lane, slot);
            long dataOffset = layout.dataOffset(lane, slot);
            req.wrap(seg, slotOffset);
            if ((req.stateAcquire() & SlotDescriptor.STATE_MASK) == SlotDescriptor.COMPLETED) {
                completions++;
            }
            fill(req, seg, dataOffset, layout, rnd);
            req.publishSubmitted();
            VarHandle.fullFence();
            long doorbell = layout.laneOffset(lane);
            if ((int) INT.getVolatile(seg, doorbell) == LaneDescriptor.PARKED) {
                INT.setVolatile(seg, doorbell, LaneDescriptor.AWAKE);
                Futex.wake(seg.asSlice(doorbell, 4), 1);
            }
            if (n % 2000 == 0) {
                System.out.println("PROGRESS " + completions);
                System.out.flush();
                Thread.sleep(1);
            }
        }
    }

    private static void fill(
            RequestFlyweight req, MemorySegment seg, long dataOffset, ChannelLayout layout, Random rnd) {
        int kind = rnd.nextInt(6);
        MemorySegment data = seg.asSlice(dataOffset, layout.slotDataBytes());
        switch (kind) {
            case 0 -> {
                for (long i = SlotDescriptor.OPCODE_OFFSET; i < SlotDescriptor.REQUEST_BYTES; i++) {
                    req.segment().set(JAVA_BYTE, req.offset() + i, (byte) rnd.nextInt());
                }
                for (int i = 0; i < 64; i++) {
                    data.set(JAVA_BYTE, rnd.nextInt(layout.slotDataBytes()), (byte) rnd.nextInt());
                }
            }
            case 1 ->
                req.opcode(rnd.nextBoolean() ? ChannelOpcodes.COUNT + rnd.nextInt(1000) : -rnd.nextInt(1000) - 1)
                        .handle(rnd.nextLong());
            case 2 ->
                req.opcode(rnd.nextBoolean() ? ChannelOpcodes.PREAD : ChannelOpcodes.PWRITE)
                        .handle(((long) (1 + rnd.nextInt(3)) << 32) | rnd.nextInt(4))
                        .fileOffset(pick(rnd, -1, Long.MAX_VALUE, Long.MAX_VALUE - 10, 1L << 40, 0))
                        .length(pick(
                                rnd,
                                -1,
                                Integer.MAX_VALUE,
                                layout.slotDataBytes() + 1,
                                Long.MIN_VALUE,
                                layout.slotDataBytes()));
            case 3 -> {
                byte[] path = ("/hostile-" + rnd.nextInt(4)).getBytes(StandardCharsets.UTF_8);
                MemorySegment.copy(path, 0, seg, JAVA_BYTE, dataOffset, path.length);
                req.opcode(ChannelOpcodes.OPEN)
                        .flags(OpenFlags.O_RDWR | OpenFlags.O_CREAT)
                        .mode(0644)
                        .path1Length(path.length)
                        .path2Length(0);
            }
            case 4 -> {
                int op = rnd.nextInt(ChannelOpcodes.COUNT);
                req.opcode(op)
                        .path1Length((int) pick(rnd, -5, layout.slotDataBytes(), Integer.MAX_VALUE, 4096, 3))
                        .path2Length((int) pick(rnd, -1, Integer.MIN_VALUE, layout.slotDataBytes(), 0, 2))
                        .arg1(pick(rnd, 0, -1, Long.MAX_VALUE, 1, 10))
                        .mode(rnd.nextInt());
                data.set(JAVA_BYTE, 0, (byte) '/');
                data.set(JAVA_BYTE, 1, rnd.nextBoolean() ? 0 : (byte) 0xC3);
                data.set(JAVA_BYTE, 2, (byte) 0x28);
            }
            default -> req.opcode(ChannelOpcodes.FSTAT).handle(((long) rnd.nextInt(4) << 32) | rnd.nextInt(8));
        }
    }

    private static long pick(Random rnd, long... values) {
        return values[rnd.nextInt(values.length)];
    }

    /** Rewrites request fields, the segment header and the doorbells while the server works. */
    private static void scribble(MemorySegment seg, ChannelLayout layout, Random rnd) {
        while (true) {
            int lane = rnd.nextInt(layout.laneCount());
            long slot = layout.slotOffset(lane, rnd.nextInt(layout.slotsPerLane()));
            seg.set(JAVA_LONG, slot + SlotDescriptor.LENGTH_OFFSET, rnd.nextLong());
            seg.set(JAVA_INT, slot + SlotDescriptor.PATH1_LENGTH_OFFSET, rnd.nextInt());
            seg.set(JAVA_INT, slot + SlotDescriptor.OPCODE_OFFSET, rnd.nextInt(ChannelOpcodes.COUNT + 2));
            seg.set(JAVA_LONG, ChannelHeaderDescriptor.SEGMENT_BYTES_OFFSET, rnd.nextLong());
            seg.set(JAVA_INT, ChannelHeaderDescriptor.SLOT_DATA_BYTES_OFFSET, rnd.nextInt());
            if (rnd.nextInt(100) == 0) {
                INT.setVolatile(seg, layout.laneOffset(lane), rnd.nextInt(3));
            }
            Thread.onSpinWait();
        }
    }
}
