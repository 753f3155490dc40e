package org.fsp.ipc.fuse;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds FUSE request messages as the kernel lays them out, for the decoder and dispatcher tests. */
final class FuseMessages {

    private FuseMessages() {}

    /** A body under construction, little-endian. */
    static final class Body {
        private final ByteBuffer b = ByteBuffer.allocate(1 << 21).order(ByteOrder.LITTLE_ENDIAN);

        Body u32(int v) {
            b.putInt(v);
            return this;
        }

        Body u64(long v) {
            b.putLong(v);
            return this;
        }

        Body name(String s) {
            b.put(s.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
            return this;
        }

        Body bytes(byte[] bytes) {
            b.put(bytes);
            return this;
        }

        byte[] toArray() {
            byte[] out = new byte[b.position()];
            b.duplicate().flip().get(out);
            return out;
        }
    }

    static Body body() {
        return new Body();
    }

    /** A whole request: header (len right, uid 1000, gid 1000, pid 4242) and body, in a native segment. */
    static MemorySegment request(Arena arena, int opcode, long unique, long nodeId, byte[] body) {
        return request(arena, opcode, unique, nodeId, 1000, body);
    }

    /** A whole request from {@code uid} (its gid the same, pid 4242). */
    static MemorySegment request(Arena arena, int opcode, long unique, long nodeId, int uid, byte[] body) {
        MemorySegment m = arena.allocate(FuseAbi.InHeader.SIZE + body.length + 8L, 8);
        ByteBuffer b = m.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(FuseAbi.InHeader.SIZE + body.length)
                .putInt(opcode)
                .putLong(unique)
                .putLong(nodeId)
                .putInt(uid)
                .putInt(uid)
                .putInt(4242)
                .putInt(0)
                .put(body);
        return m;
    }

    static long length(byte[] body) {
        return FuseAbi.InHeader.SIZE + body.length;
    }
}
