package org.fsp.ipc.shm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.fsp.api.channel.ChannelLayout;
import org.fsp.api.channel.ChannelOpcodes;
import org.fsp.api.channel.RequestFlyweight;
import org.fsp.api.channel.ResponseFlyweight;
import org.fsp.api.channel.SlotDescriptor;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.OpenFlags;
import org.junit.jupiter.api.Test;

/**
 * Seeded-random fuzzing of the request decoder and dispatcher: random and half-valid requests go through
 * {@link RequestAdapter#execute}; every one must complete with a result and a payload length in range, never throw,
 * and never write outside the slot it came from. The seed is printed and can be fixed with -Dfsp.fuzz.seed=... to
 * replay a failure.
 */
class RequestAdapterFuzzTest {

    private static final int ITERATIONS = Integer.getInteger("fsp.fuzz.iterations", 30_000);
    private static final byte CANARY = (byte) 0xA5;

    @Test
    void shouldAnswerEveryRandomRequestWithoutTouchingOtherSlots() throws Exception {
        long seed = Long.getLong("fsp.fuzz.seed", System.nanoTime());
        System.out.println("request fuzz seed " + seed);
        Random rnd = new Random(seed);
        ChannelLayout layout = ChannelLayout.of(2, 64, 8192);
        HeapFileSystemDouble fs = new HeapFileSystemDouble();
        fs.mkdir(Credentials.ROOT, "/d", 0777);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(layout.segmentBytes(), 4096);
            seg.fill(CANARY);
            ClientSession session = new ClientSession(
                    1, new Credentials(4242, 1000, 1000, new int[] {5}), layout, seg, arena, -1, 16, 0);
            RequestAdapter adapter = new RequestAdapter(new FileSystemGate(fs, 30_000), layout.slotDataBytes());
            RequestFlyweight req = new RequestFlyweight();
            ResponseFlyweight resp = new ResponseFlyweight();
            int lane = 1;
            int slot = 17;
            long slotOffset = layout.slotOffset(lane, slot);
            long dataOffset = layout.dataOffset(lane, slot);
            MemorySegment data = seg.asSlice(dataOffset, layout.slotDataBytes());
            int errors = 0;
            for (int i = 0; i < ITERATIONS; i++) {
                req.wrap(seg, slotOffset);
                shape(req, data, layout, rnd);
                req.publishSubmitted();
                try {
                    adapter.execute(session, lane, slot);
                } catch (RuntimeException e) {
                    fail("iteration " + i + " (seed " + seed + ") threw", e);
                }
                assertEquals(SlotDescriptor.COMPLETED, req.stateAcquire() & SlotDescriptor.STATE_MASK);
                resp.wrap(seg, slotOffset);
                long result = resp.result();
                int payload = resp.payloadLength();
                assertTrue(payload >= 0 && payload <= layout.slotDataBytes(), "payload " + payload);
                if (result < 0) {
                    errors++;
                    assertTrue(-result < 4096, "errno " + result);
                    assertEquals(0, payload, "no payload with an error");
                }
                req.releaseEmpty();
            }
            assertTrue(errors > ITERATIONS / 10, "most random requests are refused: " + errors);
            assertTrue(errors < ITERATIONS, "some requests succeed");
            for (long off = 0; off < seg.byteSize(); off++) {
                boolean ownSlot = off >= slotOffset && off < slotOffset + SlotDescriptor.SLOT_HEADER_BYTES;
                boolean ownData = off >= dataOffset && off < dataOffset + layout.slotDataBytes();
                if (!ownSlot && !ownData && seg.get(JAVA_BYTE, off) != CANARY) {
                    fail("byte " + off + " outside the slot was written (seed " + seed + ")");
                }
            }
            long[] held = session.files.closeAll();
            assertEquals(held.length, fs.openHandles());
        }
    }

    /** Random bytes, or a valid opcode with random or boundary fields, or a well-formed request. */
    private static void shape(RequestFlyweight req, MemorySegment data, ChannelLayout layout, Random rnd) {
        int dataBytes = layout.slotDataBytes();
        switch (rnd.nextInt(4)) {
            case 0 -> {
                for (long i = SlotDescriptor.OPCODE_OFFSET; i < SlotDescriptor.REQUEST_BYTES; i++) {
                    req.segment().set(JAVA_BYTE, req.offset() + i, (byte) rnd.nextInt());
                }
            }
            case 1 ->
                req.clear()
                        .opcode(rnd.nextInt(ChannelOpcodes.COUNT + 3) - 1)
                        .handle(edge(rnd, ((long) rnd.nextInt(3) << 32) | rnd.nextInt(20)))
                        .fileOffset(edge(rnd, rnd.nextInt(1 << 20)))
                        .length(edge(rnd, rnd.nextInt(dataBytes + 2)))
                        .flags(rnd.nextBoolean() ? rnd.nextInt() : OpenFlags.O_RDWR | OpenFlags.O_CREAT)
                        .mode(rnd.nextBoolean() ? rnd.nextInt() : 0644)
                        .arg0(edge(rnd, rnd.nextInt(100)))
                        .arg1(edge(rnd, rnd.nextInt(100)))
                        .path1Length((int) edge(rnd, rnd.nextInt(40)))
                        .path2Length((int) edge(rnd, rnd.nextInt(40)));
            default -> {
                String p1 = "/d/f" + rnd.nextInt(8);
                String p2 = "/d/g" + rnd.nextInt(8);
                byte[] b1 = p1.getBytes(StandardCharsets.UTF_8);
                byte[] b2 = p2.getBytes(StandardCharsets.UTF_8);
                MemorySegment.copy(b1, 0, data, JAVA_BYTE, 0, b1.length);
                MemorySegment.copy(b2, 0, data, JAVA_BYTE, b1.length, b2.length);
                if (rnd.nextInt(10) == 0) {
                    data.set(JAVA_BYTE, rnd.nextInt(b1.length), rnd.nextBoolean() ? 0 : (byte) 0xFF);
                }
                req.clear()
                        .opcode(rnd.nextInt(ChannelOpcodes.COUNT))
                        .handle(((long) 1 << 32) | rnd.nextInt(4))
                        .fileOffset(rnd.nextInt(1 << 16))
                        .length(rnd.nextInt(dataBytes + 1))
                        .flags(OpenFlags.O_RDWR | OpenFlags.O_CREAT)
                        .mode(0644)
                        .arg0(-1)
                        .arg1(1 + rnd.nextInt(50))
                        .path1Length(b1.length)
                        .path2Length(b2.length);
            }
        }
    }

    private static long edge(Random rnd, long usual) {
        return switch (rnd.nextInt(8)) {
            case 0 -> -1;
            case 1 -> Long.MAX_VALUE;
            case 2 -> Long.MIN_VALUE;
            case 3 -> Integer.MAX_VALUE;
            case 4 -> rnd.nextLong();
            default -> usual;
        };
    }

    @Test
    void shouldRefuseUnknownOpcodeBadPathAndForeignHandle() throws Exception {
        ChannelLayout layout = ChannelLayout.of(1, 64, 8192);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(layout.segmentBytes(), 4096);
            ClientSession s = new ClientSession(1, Credentials.ROOT, layout, seg, arena, -1, 4, 0);
            RequestAdapter adapter = new RequestAdapter(new FileSystemGate(new HeapFileSystemDouble(), 30_000), 8192);
            RequestFlyweight req = new RequestFlyweight().wrap(seg, layout.slotOffset(0, 0));
            ResponseFlyweight resp = new ResponseFlyweight().wrap(seg, layout.slotOffset(0, 0));
            req.clear().opcode(999);
            adapter.execute(s, 0, 0);
            assertEquals(-Errno.ENOSYS.code(), resp.result());
            seg.set(JAVA_INT, layout.dataOffset(0, 0), 0x00782F);
            req.clear().opcode(ChannelOpcodes.STAT).path1Length(3);
            adapter.execute(s, 0, 0);
            assertEquals(-Errno.EINVAL.code(), resp.result());
            req.clear().opcode(ChannelOpcodes.STAT).path1Length(8192).path2Length(1);
            adapter.execute(s, 0, 0);
            assertEquals(-Errno.EINVAL.code(), resp.result());
            req.clear().opcode(ChannelOpcodes.STAT).path1Length(5000);
            adapter.execute(s, 0, 0);
            assertEquals(-Errno.ENAMETOOLONG.code(), resp.result());
            req.clear().opcode(ChannelOpcodes.PREAD).handle(1L << 32).length(10);
            adapter.execute(s, 0, 0);
            assertEquals(-Errno.EBADF.code(), resp.result());
            req.clear().opcode(ChannelOpcodes.NOOP);
            adapter.execute(s, 0, 0);
            assertEquals(0, resp.result());
        }
    }
}
