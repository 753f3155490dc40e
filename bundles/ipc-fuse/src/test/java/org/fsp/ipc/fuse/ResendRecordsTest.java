package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.ipc.fuse.FuseMessages.body;
import static org.fsp.ipc.fuse.FuseMessages.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.OpenFlags;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;
import org.fsp.ipc.fuse.FuseAbi.EntryOut;
import org.fsp.ipc.fuse.FuseAbi.OutHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Namespace changes re-sent by the kernel after a take-over: one dispatcher stands for the process that applied a
 * request and died before answering, a second one on the same fs-core (with a table of its own, as a standby starts)
 * gets the request again with the resend bit set. The crash itself (journal replay of the record) is fs-core's
 * {@code SessionRecordsTest} and the itest {@code FuseExactlyOnceIT}.
 */
class ResendRecordsTest {

    private static final Path MOUNT_POINT = Path.of("/mnt/resend-test");

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment out = arena.allocate(FuseChannel.BUFFER_BYTES, 8);
    private RamBlockDevice device;
    private FsCore fs;
    private FileSystemSlot slot;
    private long root;

    @BeforeEach
    void mount() throws Exception {
        device = new RamBlockDevice(32L << 20, 64);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        fs = FsCore.mount(scheduler, new FsCore.Options(8L << 20, 8, 5000));
        slot = new FileSystemSlot(1000);
        slot.attach(fs);
        root = fs.stat(Credentials.ROOT, "/").ino();
        assertTrue(fs.recordsKept(), "the image has a session table");
    }

    @AfterEach
    void unmount() throws Exception {
        fs.unmount();
        device.close();
        arena.close();
    }

    /** A dispatcher as a supervised mount has it: changes durable before their answer, re-sends recorded. */
    private FuseDispatcher dispatcher(boolean freshConnection) {
        FuseDispatcher d = new FuseDispatcher(
                slot,
                new NodeTable(root),
                new FileHandles(freshConnection ? 0 : 1),
                new CallerCredentials(Path.of("/nonexistent-proc"), System::nanoTime),
                new FuseConnection(),
                1_000_000_000L,
                1_000_000_000L,
                true);
        d.setResendRecords(new ResendRecords(MOUNT_POINT, freshConnection));
        d.setCommitBeforeAnswer(true);
        return d;
    }

    /** Dispatches one request as root; returns the reply's error (0 or a negative errno). */
    private int send(FuseDispatcher d, int opcode, long unique, long node, byte[] b) {
        MemorySegment in = request(arena, opcode, unique, node, 0, b);
        FuseRequest r = FuseDecoder.decode(in, FuseAbi.InHeader.SIZE + b.length);
        d.dispatch(r, out).encode(out, r.header().unique());
        assertEquals(unique, out.get(JAVA_LONG, OutHeader.UNIQUE), "the reply carries the unique as it came");
        return out.get(JAVA_INT, OutHeader.ERROR);
    }

    private static long resent(long unique) {
        return unique | ResendRecords.FUSE_UNIQUE_RESEND;
    }

    @Test
    void shouldAnswerAReSentMkdirThatTheDeadProcessAppliedWithSuccess() throws Exception {
        byte[] mkdir = body().u32(0755).u32(0).name("d").toArray();
        assertEquals(0, send(dispatcher(true), FuseOpcodes.MKDIR, 40, FuseAbi.ROOT_ID, mkdir));
        long ino = fs.stat(Credentials.ROOT, "/d").ino();

        FuseDispatcher standby = dispatcher(false);
        assertEquals(0, send(standby, FuseOpcodes.MKDIR, resent(40), FuseAbi.ROOT_ID, mkdir), "not EEXIST");
        assertEquals(ino, out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID), "the entry of the directory made");
        assertEquals(
                -Errno.EEXIST.code(),
                send(standby, FuseOpcodes.MKDIR, 42, FuseAbi.ROOT_ID, mkdir),
                "a new mkdir of the same name is no re-send");
        byte[] other = body().u32(0755).u32(0).name("e").toArray();
        assertEquals(
                0,
                send(standby, FuseOpcodes.MKDIR, resent(44), FuseAbi.ROOT_ID, other),
                "a re-send the dead process had not applied is applied");
        assertTrue(fs.stat(Credentials.ROOT, "/e").isDirectory());
    }

    @Test
    void shouldNotApplyAReSentExchangeOrUnlinkTwice() throws Exception {
        fs.close(Credentials.ROOT, fs.open(Credentials.ROOT, "/a", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0600));
        fs.close(Credentials.ROOT, fs.open(Credentials.ROOT, "/b", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0644));
        byte[] exchange = body().u64(FuseAbi.ROOT_ID)
                .u32(FuseOpcodes.RENAME_EXCHANGE)
                .u32(0)
                .name("a")
                .name("b")
                .toArray();
        byte[] unlink = body().name("b").toArray();
        FuseDispatcher dead = dispatcher(true);
        assertEquals(0, send(dead, FuseOpcodes.RENAME2, 60, FuseAbi.ROOT_ID, exchange));
        assertEquals(0, send(dead, FuseOpcodes.UNLINK, 62, FuseAbi.ROOT_ID, unlink));

        FuseDispatcher standby = dispatcher(false);
        assertEquals(0, send(standby, FuseOpcodes.RENAME2, resent(60), FuseAbi.ROOT_ID, exchange));
        assertEquals(0644, fs.stat(Credentials.ROOT, "/a").mode() & 0777, "swapped once, not swapped back");
        assertEquals(0, send(standby, FuseOpcodes.UNLINK, resent(62), FuseAbi.ROOT_ID, unlink), "not ENOENT");
    }

    @Test
    void shouldOpenTheFileAReSentExclusiveCreateMade() throws Exception {
        byte[] create = body().u32(OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL)
                .u32(0640)
                .u32(0)
                .u32(0)
                .name("c")
                .toArray();
        assertEquals(0, send(dispatcher(true), FuseOpcodes.CREATE, 80, FuseAbi.ROOT_ID, create));
        assertEquals(0, send(dispatcher(false), FuseOpcodes.CREATE, resent(80), FuseAbi.ROOT_ID, create), "not EEXIST");
        assertEquals(fs.stat(Credentials.ROOT, "/c").ino(), out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID));
    }
}
