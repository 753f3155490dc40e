package org.fsp.ipc.fuse;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.fsp.ipc.fuse.FuseMessages.body;
import static org.fsp.ipc.fuse.FuseMessages.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.block.nvme.RamBlockDevice;
import org.fsp.block.sched.BatchingBlockScheduler;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.Formatter;
import org.fsp.ipc.fuse.FuseAbi.*;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Requests as the kernel sends them, decoded and dispatched onto fs-core on a RAM device, replies read back. */
class FuseDispatcherTest {

    private static final int ROOT = 0;
    private static final int USER = 1000;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment out = arena.allocate(FuseChannel.BUFFER_BYTES, 8);
    private RamBlockDevice device;
    private FsCore fs;
    private NodeTable nodes;
    private FuseDispatcher dispatcher;
    private FileSystemSlot slot;
    private long unique;

    @BeforeEach
    void mount() throws Exception {
        device = new RamBlockDevice(32L << 20, 64);
        BatchingBlockScheduler scheduler = new BatchingBlockScheduler(device, 256);
        Formatter.format(new BlockIo(scheduler), new BlockIo(scheduler).blockCount(), 0);
        fs = FsCore.mount(scheduler, new FsCore.Options(8L << 20, 8, 5000));
        slot = new FileSystemSlot(1000);
        slot.attach(fs);
        nodes = new NodeTable(fs.stat(Credentials.ROOT, "/").ino());
        dispatcher = new FuseDispatcher(
                slot,
                nodes,
                new CallerCredentials(Path.of("/nonexistent-proc"), System::nanoTime),
                new FuseConnection(),
                1_000_000_000L,
                1_000_000_000L);
    }

    @AfterEach
    void unmount() throws Exception {
        fs.unmount();
        device.close();
        arena.close();
    }

    /** Sends one request; returns the reply's error (0 or a negative errno). The reply stays in {@link #out}. */
    private int send(int opcode, long node, int uid, byte[] b) {
        MemorySegment in = request(arena, opcode, ++unique, node, uid, b);
        FuseRequest r = FuseDecoder.decode(in, FuseAbi.InHeader.SIZE + b.length);
        int len = dispatcher.dispatch(r, out).encode(out, r.header().unique());
        assertEquals(len, out.get(JAVA_INT, OutHeader.LEN));
        assertEquals(unique, out.get(JAVA_LONG, OutHeader.UNIQUE));
        return out.get(JAVA_INT, OutHeader.ERROR);
    }

    /** LOOKUP of {@code name} in the root as root. */
    private int lookUpInRoot(String name) {
        return send(FuseOpcodes.LOOKUP, FuseAbi.ROOT_ID, ROOT, body().name(name).toArray());
    }

    private int replyBodyBytes() {
        return out.get(JAVA_INT, OutHeader.LEN) - OutHeader.SIZE;
    }

    /** CREATE as root with mode 0644; returns {node id, fh}. */
    private long[] create(long dir, String name, int mode) {
        assertEquals(
                0,
                send(
                        FuseOpcodes.CREATE,
                        dir,
                        ROOT,
                        body().u32(2).u32(mode).u32(0).u32(0).name(name).toArray()));
        return new long[] {
            out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID),
            out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.SIZE + OpenOut.FH)
        };
    }

    private static byte[] readIn(long fh, long offset, int size) {
        return body().u64(fh).u64(offset).u32(size).u32(0).u64(0).u32(0).u32(0).toArray();
    }

    @Test
    void shouldWriteAndReadBackThroughCreatedHandle() {
        long[] f = create(FuseAbi.ROOT_ID, "f", 0644);
        byte[] data = "through fuse".getBytes(StandardCharsets.UTF_8);
        byte[] w = body().u64(f[1])
                .u64(0)
                .u32(data.length)
                .u32(0)
                .u64(0)
                .u32(0)
                .u32(0)
                .bytes(data)
                .toArray();
        assertEquals(0, send(FuseOpcodes.WRITE, f[0], ROOT, w));
        assertEquals(data.length, out.get(JAVA_INT, OutHeader.SIZE));
        assertEquals(0, send(FuseOpcodes.READ, f[0], ROOT, readIn(f[1], 8, 100)));
        assertEquals(
                "fuse", new String(out.asSlice(OutHeader.SIZE, replyBodyBytes()).toArray(JAVA_BYTE)));
        assertEquals(
                0,
                send(
                        FuseOpcodes.RELEASE,
                        f[0],
                        ROOT,
                        body().u64(f[1]).u32(0).u32(0).u64(0).toArray()));
        assertEquals(-Errno.EBADF.code(), send(FuseOpcodes.READ, f[0], ROOT, readIn(f[1], 0, 10)));
    }

    @Test
    void shouldAnswerALookupOfAMissingNameWithANegativeEntryAndOpensWithKeepCache() {
        assertEquals(0, lookUpInRoot("absent"));
        assertEquals(0L, out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID), "node id 0: a negative entry");
        assertEquals(1L, out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.ENTRY_VALID), "cached as long as an entry");
        long[] f = create(FuseAbi.ROOT_ID, "absent", 0644);
        assertEquals(
                FuseOpcodes.FOPEN_KEEP_CACHE,
                out.get(JAVA_INT, OutHeader.SIZE + EntryOut.SIZE + OpenOut.OPEN_FLAGS),
                "the page cache outlives the open: others' writes invalidate it by notice");
        assertEquals(0, lookUpInRoot("absent"));
        assertEquals(f[0], out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID));
        dispatcher = new FuseDispatcher(
                slot,
                nodes,
                new CallerCredentials(Path.of("/nonexistent-proc"), System::nanoTime),
                new FuseConnection(),
                0,
                0);
        assertEquals(-Errno.ENOENT.code(), lookUpInRoot("x"));
    }

    @Test
    void shouldServeTheNodesAndHandlesOfAProcessThatDiedWithoutItsTables() throws Exception {
        assertEquals(
                0,
                send(
                        FuseOpcodes.MKDIR,
                        FuseAbi.ROOT_ID,
                        ROOT,
                        body().u32(0755).u32(0).name("d").toArray()));
        long dir = out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID);
        long[] f = create(dir, "f", 0644);
        assertEquals(
                fs.generation(f[0]),
                out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.GENERATION),
                "the entry carries the inode's generation");
        assertEquals(f[0], fs.stat(Credentials.ROOT, "/d/f").ino(), "a node id is the inode number");
        byte[] data = "before".getBytes(StandardCharsets.UTF_8);
        assertEquals(0, send(FuseOpcodes.WRITE, f[0], ROOT, writeIn(f[1], 0, data)));

        // The process that takes the mount over: new tables, the next epoch, the kernel's ids and fh as they were.
        FileSystemSlot slot = new FileSystemSlot(1000);
        slot.attach(fs);
        nodes = new NodeTable(fs.stat(Credentials.ROOT, "/").ino());
        dispatcher = new FuseDispatcher(
                slot,
                nodes,
                new FileHandles(1),
                new CallerCredentials(Path.of("/nonexistent-proc"), System::nanoTime),
                new FuseConnection(),
                1_000_000_000L,
                1_000_000_000L,
                true);
        assertEquals(
                0,
                send(
                        FuseOpcodes.GETATTR,
                        f[0],
                        ROOT,
                        body().u32(0).u32(0).u64(0).toArray()));
        assertEquals(0, send(FuseOpcodes.LOOKUP, dir, ROOT, body().name("f").toArray()), "a directory it never saw");
        assertEquals(f[0], out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID));
        byte[] more = "after".getBytes(StandardCharsets.UTF_8);
        assertEquals(0, send(FuseOpcodes.WRITE, f[0], ROOT, writeIn(f[1], 6, more)), "an fh of the dead process");
        assertEquals(0, send(FuseOpcodes.READ, f[0], ROOT, readIn(f[1], 0, 100)));
        assertEquals(
                "beforeafter",
                new String(out.asSlice(OutHeader.SIZE, replyBodyBytes()).toArray(JAVA_BYTE)));
        assertEquals(
                0,
                send(
                        FuseOpcodes.RELEASE,
                        f[0],
                        ROOT,
                        body().u64(f[1]).u32(0).u32(0).u64(0).toArray()));
    }

    private static byte[] writeIn(long fh, long offset, byte[] data) {
        return body().u64(fh)
                .u64(offset)
                .u32(data.length)
                .u32(0)
                .u64(0)
                .u32(0)
                .u32(0)
                .bytes(data)
                .toArray();
    }

    @Test
    void shouldPageThroughALargeDirectoryWithoutLosingOrRepeatingAnEntry() throws Exception {
        assertEquals(
                0,
                send(
                        FuseOpcodes.MKDIR,
                        FuseAbi.ROOT_ID,
                        ROOT,
                        body().u32(0755).u32(0).name("d").toArray()));
        long d = out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID);
        for (int i = 0; i < 300; i++) {
            long[] f = create(d, "file-" + i, 0644);
            send(
                    FuseOpcodes.RELEASE,
                    f[0],
                    ROOT,
                    body().u64(f[1]).u32(0).u32(0).u64(0).toArray());
        }
        for (boolean plus : new boolean[] {false, true}) {
            List<String> names = new ArrayList<>();
            long offset = 0;
            while (true) {
                int op = plus ? FuseOpcodes.READDIRPLUS : FuseOpcodes.READDIR;
                assertEquals(0, send(op, d, ROOT, readIn(0, offset, 1024)));
                int n = replyBodyBytes();
                if (n == 0) {
                    break;
                }
                int at = OutHeader.SIZE;
                while (at < OutHeader.SIZE + n) {
                    int dirent = at + (plus ? DirentPlus.DIRENT : 0);
                    int len = out.get(JAVA_INT, dirent + Dirent.NAMELEN);
                    names.add(new String(out.asSlice(dirent + Dirent.NAME, len).toArray(JAVA_BYTE)));
                    offset = out.get(JAVA_LONG, dirent + Dirent.OFF);
                    at += plus ? DirentPlus.size(len) : Dirent.size(len);
                }
            }
            assertEquals(302, names.size(), "READDIR" + (plus ? "PLUS" : "") + ": " + names);
            assertEquals(302, names.stream().distinct().count());
            assertTrue(names.containsAll(List.of(".", "..", "file-0", "file-299")));
        }
        long file0 = nodes.lookedUp(
                "/d/file-0", fs.lstat(Credentials.ROOT, "/d/file-0").ino());
        assertEquals(3, nodes.lookups(file0), "CREATE, READDIRPLUS's entry and this lookup");
    }

    @Test
    void shouldRefuseAnotherUsersWriteWithFsCoresErrno() {
        long[] f = create(FuseAbi.ROOT_ID, "roots", 0644);
        assertEquals(
                -Errno.EACCES.code(),
                send(FuseOpcodes.OPEN, f[0], USER, body().u32(1).u32(0).toArray()));
        assertEquals(0, send(FuseOpcodes.OPEN, f[0], USER, body().u32(0).u32(0).toArray()));
        assertEquals(
                -Errno.EACCES.code(),
                send(
                        FuseOpcodes.MKDIR,
                        FuseAbi.ROOT_ID,
                        USER,
                        body().u32(0755).u32(0).name("x").toArray()));
        assertEquals(
                -Errno.EACCES.code(),
                send(FuseOpcodes.ACCESS, f[0], USER, body().u32(2).u32(0).toArray()));
    }

    @Test
    void shouldAcceptTheOpenFlagsLinuxPasses() {
        long[] f = create(FuseAbi.ROOT_ID, "flags", 0644);
        int largefileCloexecNoatime = 0100000 | 02000000 | 01000000 | 2;
        assertEquals(
                0,
                send(
                        FuseOpcodes.OPEN,
                        f[0],
                        ROOT,
                        body().u32(largefileCloexecNoatime).u32(0).toArray()));
    }

    @Test
    void shouldSetTimesWithNowAndOmitAndSizeByHandle() throws Exception {
        long[] f = create(FuseAbi.ROOT_ID, "t", 0644);
        long mtime = fs.stat(Credentials.ROOT, "/t").mtimeNanos();
        MemorySegment s = arena.allocate(SetattrIn.SIZE);
        s.set(JAVA_INT, SetattrIn.VALID, FuseOpcodes.FATTR_ATIME | FuseOpcodes.FATTR_FH | FuseOpcodes.FATTR_SIZE);
        s.set(JAVA_LONG, SetattrIn.FH, f[1]);
        s.set(JAVA_LONG, SetattrIn.SIZE_BYTES, 12345);
        s.set(JAVA_LONG, SetattrIn.ATIME, 1_000_000_000L);
        s.set(JAVA_INT, SetattrIn.ATIME_NSEC, 7);
        assertEquals(0, send(FuseOpcodes.SETATTR, f[0], ROOT, s.toArray(JAVA_BYTE)));
        assertEquals(12345, out.get(JAVA_LONG, OutHeader.SIZE + AttrOut.ATTR + Attr.SIZE_BYTES));
        assertEquals(1_000_000_000L, out.get(JAVA_LONG, OutHeader.SIZE + AttrOut.ATTR + Attr.ATIME));
        assertEquals(7, out.get(JAVA_INT, OutHeader.SIZE + AttrOut.ATTR + Attr.ATIME_NSEC));
        assertTrue(fs.stat(Credentials.ROOT, "/t").mtimeNanos() >= mtime, "mtime was omitted, then set by truncate");
    }

    @Test
    void shouldExchangeTwoNamesAndTheirNodes() throws Exception {
        long a = create(FuseAbi.ROOT_ID, "a", 0644)[0];
        long b = create(FuseAbi.ROOT_ID, "b", 0600)[0];
        byte[] r = body().u64(FuseAbi.ROOT_ID)
                .u32(FuseOpcodes.RENAME_EXCHANGE)
                .u32(0)
                .name("a")
                .name("b")
                .toArray();
        assertEquals(0, send(FuseOpcodes.RENAME2, FuseAbi.ROOT_ID, ROOT, r));
        assertEquals("/b", nodes.path(a));
        assertEquals("/a", nodes.path(b));
        assertEquals(0600, fs.stat(Credentials.ROOT, "/a").mode() & 0777);
        byte[] noreplace =
                body().u64(FuseAbi.ROOT_ID).u32(1).u32(0).name("a").name("b").toArray();
        assertEquals(-Errno.EEXIST.code(), send(FuseOpcodes.RENAME2, FuseAbi.ROOT_ID, ROOT, noreplace));
    }

    @Test
    void shouldStillStatAnUnlinkedFileThroughItsOpenHandle() {
        long[] f = create(FuseAbi.ROOT_ID, "gone", 0644);
        assertEquals(
                0,
                send(
                        FuseOpcodes.UNLINK,
                        FuseAbi.ROOT_ID,
                        ROOT,
                        body().name("gone").toArray()));
        assertEquals(
                0,
                send(
                        FuseOpcodes.GETATTR,
                        f[0],
                        ROOT,
                        body().u32(0).u32(0).u64(0).toArray()));
        assertEquals(0, out.get(JAVA_INT, OutHeader.SIZE + AttrOut.ATTR + Attr.NLINK));
    }

    @Test
    void shouldMakeSpecialFilesAsMknodAndAnswerUnimplementedOpcodesWithEnosys() {
        byte[] fifo = body().u32(0010644).u32(0).u32(0).u32(0).name("fifo").toArray();
        assertEquals(0, send(FuseOpcodes.MKNOD, FuseAbi.ROOT_ID, ROOT, fifo));
        byte[] reg = body().u32(0100644).u32(0).u32(0).u32(0).name("reg").toArray();
        assertEquals(0, send(FuseOpcodes.MKNOD, FuseAbi.ROOT_ID, ROOT, reg));
        // A device node needs CAP_MKNOD: a user may make names in "open" (mode 0777), but not a device there.
        assertEquals(
                0,
                send(
                        FuseOpcodes.MKDIR,
                        FuseAbi.ROOT_ID,
                        ROOT,
                        body().u32(0777).u32(0).name("open").toArray()));
        long open = out.get(JAVA_LONG, OutHeader.SIZE + EntryOut.NODE_ID);
        byte[] chr =
                body().u32(0020600).u32((1 << 8) | 3).u32(0).u32(0).name("null").toArray();
        assertEquals(-Errno.EPERM.code(), send(FuseOpcodes.MKNOD, open, USER, chr));
        assertEquals(0, send(FuseOpcodes.MKNOD, open, USER, fifo));
        assertEquals(0, send(FuseOpcodes.MKNOD, open, ROOT, chr));
        assertEquals((1 << 8) | 3, out.get(JAVA_INT, OutHeader.SIZE + EntryOut.ATTR + FuseAbi.Attr.RDEV));
        // ENOSYS on purpose: the kernel then answers polls itself (no_poll), and io_uring does not retry through POLLs.
        assertEquals(-Errno.ENOSYS.code(), send(FuseOpcodes.POLL, FuseAbi.ROOT_ID, ROOT, new byte[24]));
    }

    @Test
    void shouldKeepExtendedAttributesWithTheSizeProtocolOfGetxattr() {
        long[] f = create(FuseAbi.ROOT_ID, "x", 0644);
        byte[] value = "v4lue".getBytes(StandardCharsets.UTF_8);
        assertEquals(
                0,
                send(
                        FuseOpcodes.SETXATTR,
                        f[0],
                        ROOT,
                        body().u32(value.length)
                                .u32(0)
                                .name("user.k")
                                .bytes(value)
                                .toArray()));
        assertEquals(
                0,
                send(
                        FuseOpcodes.GETXATTR,
                        f[0],
                        ROOT,
                        body().u32(0).u32(0).name("user.k").toArray()));
        assertEquals(value.length, out.get(JAVA_INT, OutHeader.SIZE + GetxattrOut.SIZE_BYTES));
        assertEquals(
                -Errno.ERANGE.code(),
                send(
                        FuseOpcodes.GETXATTR,
                        f[0],
                        ROOT,
                        body().u32(2).u32(0).name("user.k").toArray()));
        assertEquals(
                0,
                send(
                        FuseOpcodes.GETXATTR,
                        f[0],
                        ROOT,
                        body().u32(64).u32(0).name("user.k").toArray()));
        assertEquals(
                "v4lue",
                new String(out.asSlice(OutHeader.SIZE, replyBodyBytes()).toArray(JAVA_BYTE)));
        assertEquals(
                0, send(FuseOpcodes.LISTXATTR, f[0], ROOT, body().u32(64).u32(0).toArray()));
        assertEquals(
                "user.k\0",
                new String(out.asSlice(OutHeader.SIZE, replyBodyBytes()).toArray(JAVA_BYTE)));
        // fs-core's rules, with the caller's uid from the request: another user may not write root's file.
        assertEquals(
                -Errno.EACCES.code(),
                send(
                        FuseOpcodes.SETXATTR,
                        f[0],
                        USER,
                        body().u32(1).u32(0).name("user.u").bytes(new byte[1]).toArray()));
        assertEquals(
                -Errno.ENODATA.code(),
                send(
                        FuseOpcodes.GETXATTR,
                        f[0],
                        ROOT,
                        body().u32(64).u32(0).name("user.none").toArray()));
        assertEquals(
                0,
                send(FuseOpcodes.REMOVEXATTR, f[0], ROOT, body().name("user.k").toArray()));
        assertEquals(
                0, send(FuseOpcodes.LISTXATTR, f[0], ROOT, body().u32(0).u32(0).toArray()));
        assertEquals(0, out.get(JAVA_INT, OutHeader.SIZE + GetxattrOut.SIZE_BYTES));
    }

    @Test
    void shouldAnswerXattrRequestsEnosysWhenXattrsAreOff() {
        dispatcher = new FuseDispatcher(
                slotOf(fs),
                nodes,
                new CallerCredentials(Path.of("/nonexistent-proc"), System::nanoTime),
                new FuseConnection(),
                1_000_000_000L,
                1_000_000_000L,
                false);
        long[] f = create(FuseAbi.ROOT_ID, "nox", 0644);
        assertEquals(
                -Errno.ENOSYS.code(),
                send(
                        FuseOpcodes.GETXATTR,
                        f[0],
                        ROOT,
                        body().u32(0).u32(0).name("security.capability").toArray()));
        assertEquals(
                -Errno.ENOSYS.code(),
                send(FuseOpcodes.LISTXATTR, f[0], ROOT, body().u32(0).u32(0).toArray()));
    }

    @Test
    void shouldSeekHolesPreallocateAndCopyRangesInsideFsp() {
        long[] f = create(FuseAbi.ROOT_ID, "src", 0644);
        byte[] data = "0123456789".getBytes(StandardCharsets.UTF_8);
        byte[] w = body().u64(f[1])
                .u64(8192)
                .u32(data.length)
                .u32(0)
                .u64(0)
                .u32(0)
                .u32(0)
                .bytes(data)
                .toArray();
        assertEquals(0, send(FuseOpcodes.WRITE, f[0], ROOT, w));
        assertEquals(
                0,
                send(
                        FuseOpcodes.LSEEK,
                        f[0],
                        ROOT,
                        body().u64(f[1]).u64(0).u32(3).u32(0).toArray()));
        assertEquals(8192, out.get(JAVA_LONG, OutHeader.SIZE + LseekOut.OFFSET));
        assertEquals(
                0,
                send(
                        FuseOpcodes.LSEEK,
                        f[0],
                        ROOT,
                        body().u64(f[1]).u64(8192).u32(4).u32(0).toArray()));
        assertEquals(8192 + data.length, out.get(JAVA_LONG, OutHeader.SIZE + LseekOut.OFFSET));
        assertEquals(
                0,
                send(
                        FuseOpcodes.FALLOCATE,
                        f[0],
                        ROOT,
                        body().u64(f[1]).u64(0).u64(20_000).u32(0).u32(0).toArray()));
        assertEquals(
                -Errno.EOPNOTSUPP.code(),
                send(
                        FuseOpcodes.FALLOCATE,
                        f[0],
                        ROOT,
                        body().u64(f[1]).u64(0).u64(10).u32(1).u32(0).toArray()));
        long[] g = create(FuseAbi.ROOT_ID, "dst", 0644);
        byte[] copy = body().u64(f[1])
                .u64(8192)
                .u64(g[0])
                .u64(g[1])
                .u64(3)
                .u64(1000)
                .u64(0)
                .toArray();
        assertEquals(0, send(FuseOpcodes.COPY_FILE_RANGE, f[0], ROOT, copy));
        // The source is 20 000 bytes now (fallocate): the copy stops at its end.
        assertEquals(1000, out.get(JAVA_INT, OutHeader.SIZE + WriteOut.WRITTEN));
        assertEquals(0, send(FuseOpcodes.READ, g[0], ROOT, readIn(g[1], 3, 10)));
        assertEquals("0123456789", new String(out.asSlice(OutHeader.SIZE, 10).toArray(JAVA_BYTE)));
    }

    @Test
    void shouldOpenWriteOnlyFilesReadableAndWithoutAppendUnderTheWritebackCache() {
        dispatcher = new FuseDispatcher(
                slotOf(fs),
                nodes,
                new CallerCredentials(Path.of("/nonexistent-proc"), System::nanoTime),
                new FuseConnection(true),
                1_000_000_000L,
                1_000_000_000L);
        assertEquals(
                0,
                send(
                        FuseOpcodes.INIT,
                        0,
                        ROOT,
                        body().u32(7).u32(45).u32(131072).u32(-1).toArray()));
        assertEquals(
                FuseConnection.WANTED | FuseOpcodes.FUSE_WRITEBACK_CACHE,
                out.get(JAVA_INT, OutHeader.SIZE + InitOut.FLAGS));
        long[] f = create(FuseAbi.ROOT_ID, "wb", 0644);
        byte[] data = "abc".getBytes(StandardCharsets.UTF_8);
        assertEquals(
                0,
                send(
                        FuseOpcodes.WRITE,
                        f[0],
                        ROOT,
                        body().u64(f[1])
                                .u64(0)
                                .u32(3)
                                .u32(0)
                                .u64(0)
                                .u32(0)
                                .u32(0)
                                .bytes(data)
                                .toArray()));
        assertEquals(
                0,
                send(FuseOpcodes.OPEN, f[0], ROOT, body().u32(01 | 02000).u32(0).toArray()));
        long fh = out.get(JAVA_LONG, OutHeader.SIZE + OpenOut.FH);
        // Written where the kernel says, not at the end; and readable, for the kernel's partial-page reads.
        byte[] x = "X".getBytes(StandardCharsets.UTF_8);
        assertEquals(
                0,
                send(
                        FuseOpcodes.WRITE,
                        f[0],
                        ROOT,
                        body().u64(fh)
                                .u64(1)
                                .u32(1)
                                .u32(0)
                                .u64(0)
                                .u32(0)
                                .u32(0)
                                .bytes(x)
                                .toArray()));
        assertEquals(0, send(FuseOpcodes.READ, f[0], ROOT, readIn(fh, 0, 10)));
        assertEquals(
                "aXc", new String(out.asSlice(OutHeader.SIZE, replyBodyBytes()).toArray(JAVA_BYTE)));
    }

    private static FileSystemSlot slotOf(FsCore fs) {
        FileSystemSlot slot = new FileSystemSlot(1000);
        slot.attach(fs);
        return slot;
    }

    private static byte[] lk(long fh, long owner, long start, long end, int type, int flags) {
        return body().u64(fh)
                .u64(owner)
                .u64(start)
                .u64(end)
                .u32(type)
                .u32(4242)
                .u32(flags)
                .u32(0)
                .toArray();
    }

    @Test
    void shouldLockByOwnerAndAnswerGetlkAndReleaseOnFlush() throws Exception {
        long[] f = create(FuseAbi.ROOT_ID, "locked", 0644);
        long a = 0xAAAAL;
        long b = 0xBBBBL;
        assertEquals(0, send(FuseOpcodes.SETLK, f[0], ROOT, lk(f[1], a, 0, 99, 1, 0)));
        assertEquals(-Errno.EAGAIN.code(), send(FuseOpcodes.SETLK, f[0], ROOT, lk(f[1], b, 50, 50, 0, 0)));
        assertEquals(0, send(FuseOpcodes.GETLK, f[0], ROOT, lk(f[1], b, 10, FuseOpcodes.OFFSET_MAX, 0, 0)));
        assertEquals(1, out.get(JAVA_INT, OutHeader.SIZE + LkOut.TYPE));
        assertEquals(0, out.get(JAVA_LONG, OutHeader.SIZE + LkOut.START));
        assertEquals(99, out.get(JAVA_LONG, OutHeader.SIZE + LkOut.END));
        // flock on the whole file conflicts too: one table of locks.
        assertEquals(
                -Errno.EAGAIN.code(),
                send(FuseOpcodes.SETLK, f[0], ROOT, lk(f[1], b, 0, 0, 0, FuseOpcodes.FUSE_LK_FLOCK)));
        // A SETLKW of b waits until a's close of a descriptor (FLUSH with its lock owner) drops a's locks.
        java.util.concurrent.CompletableFuture<Integer> waited =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    MemorySegment o = Arena.ofAuto().allocate(FuseChannel.BUFFER_BYTES, 8);
                    byte[] req = lk(f[1], b, 0, 10, 1, 0);
                    MemorySegment in = request(Arena.ofAuto(), FuseOpcodes.SETLKW, 999, f[0], ROOT, req);
                    FuseRequest r = FuseDecoder.decode(in, FuseAbi.InHeader.SIZE + req.length);
                    dispatcher.dispatch(r, o).encode(o, 999);
                    return o.get(JAVA_INT, OutHeader.ERROR);
                });
        Thread.sleep(50);
        assertTrue(!waited.isDone(), "SETLKW waits while the lock is held");
        assertEquals(
                0,
                send(
                        FuseOpcodes.FLUSH,
                        f[0],
                        ROOT,
                        body().u64(f[1]).u32(0).u32(0).u64(a).toArray()));
        assertEquals(0, waited.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, send(FuseOpcodes.GETLK, f[0], ROOT, lk(f[1], a, 0, 5, 0, 0)));
        assertEquals(1, out.get(JAVA_INT, OutHeader.SIZE + LkOut.TYPE), "b holds bytes 0-10 now");
    }

    @Test
    void shouldNegotiateTheProtocolAtInit() {
        assertEquals(
                0,
                send(
                        FuseOpcodes.INIT,
                        0,
                        ROOT,
                        body().u32(7).u32(45).u32(131072).u32(-1).toArray()));
        assertEquals(7, out.get(JAVA_INT, OutHeader.SIZE + InitOut.MAJOR));
        assertEquals(FuseAbi.KERNEL_MINOR_VERSION, out.get(JAVA_INT, OutHeader.SIZE + InitOut.MINOR));
        assertEquals(1 << 20, out.get(JAVA_INT, OutHeader.SIZE + InitOut.MAX_WRITE));
        assertEquals(FuseConnection.WANTED, out.get(JAVA_INT, OutHeader.SIZE + InitOut.FLAGS));
        assertTrue(send(
                        FuseOpcodes.INIT,
                        0,
                        ROOT,
                        body().u32(7).u32(20).u32(0).u32(0).toArray())
                < 0);
    }
}
