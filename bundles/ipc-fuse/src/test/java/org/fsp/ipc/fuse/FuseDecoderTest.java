package org.fsp.ipc.fuse;

import static org.fsp.ipc.fuse.FuseMessages.body;
import static org.fsp.ipc.fuse.FuseMessages.length;
import static org.fsp.ipc.fuse.FuseMessages.request;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Random;
import org.fsp.api.fs.Errno;
import org.fsp.ipc.fuse.FuseRequest.*;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FuseDecoderTest {

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    private FuseRequest decode(int opcode, byte[] body) {
        return FuseDecoder.decode(request(arena, opcode, 7, 1, body), length(body));
    }

    @Test
    void shouldDecodeLookupWithTheCallerFromTheHeader() {
        Lookup l = assertInstanceOf(
                Lookup.class, decode(FuseOpcodes.LOOKUP, body().name("a.txt").toArray()));
        assertEquals("a.txt", l.name());
        assertEquals(7, l.header().unique());
        assertEquals(1000, l.header().uid());
        assertEquals(4242, l.header().pid());
    }

    @Test
    void shouldReadInitsFlags2OnlyWhenFlagsSayFuseInitExt() {
        Init ext = assertInstanceOf(
                Init.class,
                decode(
                        FuseOpcodes.INIT,
                        body().u32(7)
                                .u32(45)
                                .u32(0)
                                .u32(FuseOpcodes.FUSE_INIT_EXT)
                                .u32(0x200)
                                .u32(0)
                                .toArray()));
        assertEquals(0x200, ext.flags2());
        Init plain = assertInstanceOf(
                Init.class,
                decode(
                        FuseOpcodes.INIT,
                        body().u32(7).u32(45).u32(0).u32(0).u32(0x200).u32(0).toArray()));
        assertEquals(0, plain.flags2());
    }

    @Test
    void shouldGiveNothingToAnswerForAMessageShorterThanItsHeader() {
        MemorySegment m = request(arena, FuseOpcodes.GETATTR, 1, 1, new byte[0]);
        for (int n = 0; n < FuseAbi.InHeader.SIZE; n++) {
            assertNull(FuseDecoder.decode(m, n), "length " + n);
        }
    }

    @Test
    void shouldRejectAHeaderWhoseLengthIsNotWhatWasRead() {
        byte[] b = body().u32(0).u32(0).u64(0).toArray();
        MemorySegment m = request(arena, FuseOpcodes.GETATTR, 1, 1, b);
        Malformed bad = assertInstanceOf(Malformed.class, FuseDecoder.decode(m, length(b) + 8));
        assertEquals(Errno.EINVAL, bad.errno());
    }

    /** The smallest valid body of each opcode the decoder knows, to cut short. */
    private static final Map<Integer, byte[]> VALID = Map.ofEntries(
            Map.entry(FuseOpcodes.INIT, body().u32(7).u32(45).u32(131072).u32(0).toArray()),
            Map.entry(FuseOpcodes.LOOKUP, body().name("x").toArray()),
            Map.entry(FuseOpcodes.FORGET, body().u64(1).toArray()),
            Map.entry(
                    FuseOpcodes.BATCH_FORGET, body().u32(1).u32(0).u64(2).u64(1).toArray()),
            Map.entry(FuseOpcodes.GETATTR, body().u32(0).u32(0).u64(0).toArray()),
            Map.entry(FuseOpcodes.SETATTR, new byte[FuseAbi.SetattrIn.SIZE]),
            Map.entry(FuseOpcodes.SYMLINK, body().name("l").name("target").toArray()),
            Map.entry(
                    FuseOpcodes.MKNOD,
                    body().u32(0100644).u32(0).u32(022).u32(0).name("n").toArray()),
            Map.entry(FuseOpcodes.MKDIR, body().u32(0755).u32(022).name("d").toArray()),
            Map.entry(FuseOpcodes.UNLINK, body().name("u").toArray()),
            Map.entry(FuseOpcodes.RMDIR, body().name("r").toArray()),
            Map.entry(FuseOpcodes.RENAME, body().u64(1).name("a").name("b").toArray()),
            Map.entry(
                    FuseOpcodes.RENAME2,
                    body().u64(1).u32(1).u32(0).name("a").name("b").toArray()),
            Map.entry(FuseOpcodes.LINK, body().u64(2).name("l").toArray()),
            Map.entry(FuseOpcodes.OPEN, body().u32(0).u32(0).toArray()),
            Map.entry(FuseOpcodes.OPENDIR, body().u32(0).u32(0).toArray()),
            Map.entry(
                    FuseOpcodes.CREATE,
                    body().u32(1).u32(0644).u32(022).u32(0).name("c").toArray()),
            Map.entry(FuseOpcodes.READ, new byte[FuseAbi.ReadIn.SIZE]),
            Map.entry(FuseOpcodes.READDIR, new byte[FuseAbi.ReadIn.SIZE]),
            Map.entry(FuseOpcodes.READDIRPLUS, new byte[FuseAbi.ReadIn.SIZE]),
            Map.entry(
                    FuseOpcodes.WRITE,
                    body().u64(5)
                            .u64(0)
                            .u32(3)
                            .u32(0)
                            .u64(0)
                            .u32(0)
                            .u32(0)
                            .bytes(new byte[] {1, 2, 3})
                            .toArray()),
            Map.entry(FuseOpcodes.RELEASE, new byte[FuseAbi.ReleaseIn.SIZE]),
            Map.entry(FuseOpcodes.RELEASEDIR, new byte[FuseAbi.ReleaseIn.SIZE]),
            Map.entry(FuseOpcodes.FLUSH, new byte[FuseAbi.FlushIn.SIZE]),
            Map.entry(FuseOpcodes.FSYNC, new byte[FuseAbi.FsyncIn.SIZE]),
            Map.entry(FuseOpcodes.FSYNCDIR, new byte[FuseAbi.FsyncIn.SIZE]),
            Map.entry(FuseOpcodes.ACCESS, new byte[FuseAbi.AccessIn.SIZE]),
            Map.entry(FuseOpcodes.INTERRUPT, new byte[FuseAbi.InterruptIn.SIZE]));

    @Test
    void shouldDecodeEveryKnownOpcodeFromItsSmallestValidBody() {
        VALID.forEach((opcode, b) -> {
            FuseRequest r = decode(opcode, b);
            assertNotNull(r);
            if (r instanceof Malformed m) {
                throw new AssertionError(FuseOpcodes.name(opcode) + ": " + m.why());
            }
            assertEquals(opcode, r.header().opcode());
        });
    }

    @Test
    void shouldAnswerEveryShortenedBodyWithEinvalNeverAnException() {
        VALID.forEach((opcode, b) -> {
            for (int n = 0; n < b.length; n++) {
                byte[] cut = java.util.Arrays.copyOf(b, n);
                FuseRequest r = decode(opcode, cut);
                Malformed m = assertInstanceOf(Malformed.class, r, FuseOpcodes.name(opcode) + " cut to " + n);
                assertEquals(Errno.EINVAL, m.errno(), FuseOpcodes.name(opcode) + " cut to " + n);
            }
        });
    }

    @Test
    void shouldRejectNamesThatAreEmptyHaveASlashOrAreNotUtf8() {
        assertEquals(
                Errno.EINVAL,
                ((Malformed) decode(FuseOpcodes.LOOKUP, body().name("").toArray())).errno());
        assertEquals(
                Errno.EINVAL,
                ((Malformed) decode(FuseOpcodes.LOOKUP, body().name("a/b").toArray())).errno());
        byte[] latin1 = {(byte) 0xe9, 0};
        assertEquals(Errno.EINVAL, ((Malformed) decode(FuseOpcodes.LOOKUP, latin1)).errno());
    }

    @Test
    void shouldRejectANameLongerThanNameMaxWithEnametoolong() {
        Malformed m = (Malformed) decode(
                FuseOpcodes.MKDIR, body().u32(0755).u32(0).name("n".repeat(256)).toArray());
        assertEquals(Errno.ENAMETOOLONG, m.errno());
        assertInstanceOf(
                Mkdir.class,
                decode(
                        FuseOpcodes.MKDIR,
                        body().u32(0755).u32(0).name("n".repeat(255)).toArray()));
    }

    @Test
    void shouldRejectAWriteWhoseDataIsNotItsDeclaredSize() {
        byte[] header = body().u64(5).u64(0).u32(4).u32(0).u64(0).u32(0).u32(0).toArray();
        byte[] three = body().bytes(header).bytes(new byte[3]).toArray();
        byte[] five = body().bytes(header).bytes(new byte[5]).toArray();
        assertEquals(Errno.EINVAL, ((Malformed) decode(FuseOpcodes.WRITE, three)).errno());
        assertEquals(Errno.EINVAL, ((Malformed) decode(FuseOpcodes.WRITE, five)).errno());
        byte[] four = body().bytes(header).bytes(new byte[] {9, 8, 7, 6}).toArray();
        Write w = assertInstanceOf(Write.class, decode(FuseOpcodes.WRITE, four));
        assertEquals(5, w.fh());
        assertArrayEquals(new byte[] {9, 8, 7, 6}, w.data().toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void shouldRejectANegativeReadOffset() {
        byte[] b = body().u64(1).u64(-1).u32(4096).u32(0).u64(0).u32(0).u32(0).toArray();
        assertEquals(Errno.EINVAL, ((Malformed) decode(FuseOpcodes.READ, b)).errno());
    }

    @Test
    void shouldRejectABatchForgetWhoseCountOverrunsTheMessage() {
        byte[] b = body().u32(3).u32(0).u64(2).u64(1).toArray();
        assertEquals(Errno.EINVAL, ((Malformed) decode(FuseOpcodes.BATCH_FORGET, b)).errno());
        byte[] huge = body().u32(-1).u32(0).toArray();
        assertEquals(Errno.EINVAL, ((Malformed) decode(FuseOpcodes.BATCH_FORGET, huge)).errno());
    }

    @Test
    void shouldDecodeBothNamesOfARenameInOrder() {
        Rename r = (Rename) decode(
                FuseOpcodes.RENAME2,
                body().u64(9).u32(1).u32(0).name("old").name("new").toArray());
        assertEquals(9, r.newDir());
        assertEquals(1, r.flags());
        assertEquals("old", r.oldName());
        assertEquals("new", r.newName());
    }

    @Test
    void shouldAcceptALongerInitFromANewerKernel() {
        byte[] b = body().u32(7).u32(45).u32(0).u32(0).bytes(new byte[48]).toArray();
        assertEquals(45, ((Init) decode(FuseOpcodes.INIT, b)).minor());
    }

    @Test
    void shouldTreatAnUnknownOpcodeAsUnsupported() {
        assertInstanceOf(
                Unsupported.class,
                decode(FuseOpcodes.POLL, body().u64(1).u64(2).u32(0).u32(0).toArray()));
        assertInstanceOf(Unsupported.class, decode(9999, new byte[0]));
    }

    @Test
    void shouldDecodeExtendedAttributeRequestsAndCheckTheirLengths() {
        FuseRequest.Setxattr set = (FuseRequest.Setxattr) decode(
                FuseOpcodes.SETXATTR,
                body().u32(3)
                        .u32(1)
                        .name("user.a/b")
                        .bytes(new byte[] {1, 2, 3})
                        .toArray());
        assertEquals("user.a/b", set.name());
        assertEquals(3, set.value().byteSize());
        assertEquals(1, set.flags());
        Malformed shortValue = assertInstanceOf(
                Malformed.class,
                decode(
                        FuseOpcodes.SETXATTR,
                        body().u32(5)
                                .u32(0)
                                .name("user.a")
                                .bytes(new byte[] {1})
                                .toArray()));
        assertEquals(org.fsp.api.fs.Errno.EINVAL, shortValue.errno());
        Malformed longName = assertInstanceOf(
                Malformed.class,
                decode(
                        FuseOpcodes.GETXATTR,
                        body().u32(0).u32(0).name("user." + "n".repeat(251)).toArray()));
        assertEquals(org.fsp.api.fs.Errno.ERANGE, longName.errno());
        assertEquals(
                100,
                ((FuseRequest.Listxattr) decode(
                                FuseOpcodes.LISTXATTR, body().u32(100).u32(0).toArray()))
                        .size());
        assertEquals(
                "user.x",
                ((FuseRequest.Removexattr) decode(
                                FuseOpcodes.REMOVEXATTR, body().name("user.x").toArray()))
                        .name());
    }

    @Test
    void shouldNeverThrowOnRandomGarbage() {
        Random random = new Random(14);
        for (int i = 0; i < 20_000; i++) {
            int opcode = random.nextInt(50);
            byte[] b = new byte[random.nextInt(300)];
            random.nextBytes(b);
            FuseRequest r = decode(opcode, b);
            assertNotNull(r, "seed 14 message " + i);
            assertEquals(opcode, r.header().opcode());
        }
    }
}
