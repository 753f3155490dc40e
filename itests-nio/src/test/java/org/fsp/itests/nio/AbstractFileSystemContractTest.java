package org.fsp.itests.nio;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.nio.file.StandardOpenOption.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.CompletionHandler;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The java.nio.file contract, written once and run against every provider (after jimfs's AbstractJimfsIntegrationTest):
 * {@link FspProviderContractTest} on FSP, {@link PlatformProviderContractTest} on the platform's provider in a kernel
 * temporary directory. Every assertion must hold on both; one that holds only on FSP is a bug in the test.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
abstract class AbstractFileSystemContractTest {

    /** An empty directory of the provider under test, to work in. */
    protected abstract Path newWorkDirectory() throws Exception;

    /** Releases what {@link #newWorkDirectory} set up. */
    protected void release() throws Exception {}

    protected Path dir;

    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    @BeforeEach
    void setUpDirectory() throws Exception {
        dir = newWorkDirectory();
    }

    @AfterEach
    void releaseDirectory() throws Exception {
        release();
    }

    private FileSystem fs() {
        return dir.getFileSystem();
    }

    // ------------------------------------------------------------------------------------------------------------
    // paths

    @Test
    void pathsHaveUnixSyntaxAndLexicalOperations() {
        Path p = fs().getPath("a//b/", "c");
        assertEquals("a/b/c", p.toString());
        assertFalse(p.isAbsolute());
        assertNull(p.getRoot());
        assertEquals(3, p.getNameCount());
        assertEquals("c", p.getFileName().toString());
        assertEquals("a/b", p.getParent().toString());
        assertEquals("b/c", p.subpath(1, 3).toString());
        assertTrue(p.startsWith(fs().getPath("a/b")));
        assertTrue(p.endsWith("b/c"));
        assertFalse(p.startsWith(fs().getPath("a/b/c/d")));
        assertEquals("a/c", fs().getPath("a/./b/../c").normalize().toString());
        assertEquals("../x", fs().getPath("../a/../x").normalize().toString());
        assertEquals("/x", fs().getPath("/../x").normalize().toString());
        assertEquals("../c", fs().getPath("a/b").relativize(fs().getPath("a/c")).toString());
        assertEquals(
                "../../x/y",
                fs().getPath("/a/b").relativize(fs().getPath("/x/y")).toString());
        assertEquals("", fs().getPath("a").relativize(fs().getPath("a")).toString());
        assertEquals("/x/y", fs().getPath("/a").resolve("/x/y").toString());
        assertEquals("/a/x", fs().getPath("/a").resolve("x").toString());
        assertEquals("/b", fs().getPath("/a").resolveSibling("b").toString());
        assertEquals("/x/b", fs().getPath("/x/a").resolveSibling("b").toString());
        Path empty = fs().getPath("");
        assertEquals(1, empty.getNameCount());
        assertEquals("a", empty.resolve("a").toString());
        Path slash = fs().getPath("/");
        assertEquals(0, slash.getNameCount());
        assertNull(slash.getFileName());
        assertNull(slash.getParent());
        assertEquals(slash, fs().getPath("/a").getRoot());
        assertThrows(IllegalArgumentException.class, () -> fs().getPath("/a").relativize(fs().getPath("b")));
        assertEquals(fs().getPath("/a/b"), fs().getPath("/a", "b"));
        assertEquals(fs().getPath("/a/b").hashCode(), fs().getPath("/a/b/").hashCode());
        assertTrue(fs().getPath("a").compareTo(fs().getPath("b")) < 0);
        assertEquals(dir, Path.of(dir.toUri()));
        List<String> names = new ArrayList<>();
        fs().getPath("/x/y/z").forEach(n -> names.add(n.toString()));
        assertEquals(List.of("x", "y", "z"), names);
    }

    @Test
    void pathMatchersSpeakGlobAndRegex() {
        PathMatcher txt = fs().getPathMatcher("glob:*.txt");
        assertTrue(txt.matches(fs().getPath("a.txt")));
        assertFalse(txt.matches(fs().getPath("d/a.txt")));
        assertTrue(fs().getPathMatcher("glob:**/*.txt").matches(fs().getPath("d/e/a.txt")));
        PathMatcher group = fs().getPathMatcher("glob:{foo,bar}?.[ch]");
        assertTrue(group.matches(fs().getPath("foo1.c")));
        assertTrue(group.matches(fs().getPath("barx.h")));
        assertFalse(group.matches(fs().getPath("baz1.c")));
        assertFalse(fs().getPathMatcher("glob:[!a]*").matches(fs().getPath("abc")));
        assertTrue(fs().getPathMatcher("regex:a+b").matches(fs().getPath("aaab")));
        assertThrows(UnsupportedOperationException.class, () -> fs().getPathMatcher("xml:a"));
    }

    @Test
    void realPathsResolveLinksAndDots() throws IOException {
        Files.createDirectories(dir.resolve("x/y"));
        Files.createSymbolicLink(dir.resolve("l"), dir.getFileSystem().getPath("x/y"));
        Path real = dir.toRealPath();
        assertEquals(real.resolve("x/y"), dir.resolve("l").toRealPath());
        assertEquals(real.resolve("x"), dir.resolve("x/y/..").toRealPath());
        assertEquals(real.resolve("l"), dir.resolve("l").toRealPath(LinkOption.NOFOLLOW_LINKS));
        assertThrows(NoSuchFileException.class, () -> dir.resolve("none").toRealPath());
    }

    // ------------------------------------------------------------------------------------------------------------
    // files, streams, attributes

    @Test
    void writesAndReadsWholeFilesAndStreams() throws IOException {
        Path f = dir.resolve("f.txt");
        Files.writeString(f, "hello\nworld\n");
        assertEquals(List.of("hello", "world"), Files.readAllLines(f));
        try (OutputStream out = Files.newOutputStream(f, APPEND)) {
            out.write("more\n".getBytes(UTF_8));
        }
        assertEquals("hello\nworld\nmore\n", Files.readString(f));
        try (InputStream in = Files.newInputStream(f)) {
            assertEquals(6, in.skip(6));
            assertEquals('w', in.read());
        }
        byte[] big = new byte[3 << 20];
        new java.util.Random(5).nextBytes(big);
        Files.write(dir.resolve("big"), big);
        assertArrayEquals(big, Files.readAllBytes(dir.resolve("big")));
        assertEquals(big.length, Files.size(dir.resolve("big")));
        Files.write(f, new byte[0], TRUNCATE_EXISTING);
        assertEquals(0, Files.size(f));
        assertThrows(FileAlreadyExistsException.class, () -> Files.write(f, new byte[1], CREATE_NEW, WRITE));
        assertThrows(NoSuchFileException.class, () -> Files.readAllBytes(dir.resolve("none")));
        assertThrows(NoSuchFileException.class, () -> Files.write(dir.resolve("none/x"), new byte[1]));
    }

    @Test
    void attributesAreThoseOfStat() throws IOException {
        Path f = Files.writeString(dir.resolve("f"), "12345");
        BasicFileAttributes b = Files.readAttributes(f, BasicFileAttributes.class);
        assertTrue(b.isRegularFile());
        assertFalse(b.isDirectory() || b.isSymbolicLink() || b.isOther());
        assertEquals(5, b.size());
        assertNotNull(b.fileKey());
        assertTrue(Files.isDirectory(dir));
        assertTrue(Files.readAttributes(dir, BasicFileAttributes.class).isDirectory());

        FileTime t = FileTime.from(Instant.parse("2020-01-02T03:04:05.123456Z"));
        Files.setLastModifiedTime(f, t);
        assertEquals(t, Files.getLastModifiedTime(f));
        Files.setAttribute(f, "basic:lastAccessTime", t);
        assertEquals(t, Files.getAttribute(f, "lastAccessTime"));

        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        Files.setAttribute(f, "posix:permissions", PosixFilePermissions.fromString("rwx------"));
        PosixFileAttributes p = Files.readAttributes(f, PosixFileAttributes.class);
        assertEquals("rwx------", PosixFilePermissions.toString(p.permissions()));
        assertEquals(System.getProperty("user.name"), p.owner().getName());
        assertEquals(System.getProperty("user.name"), Files.getOwner(f).getName());

        Map<String, Object> unix = Files.readAttributes(f, "unix:ino,nlink,mode,uid,gid,ctime,dev,size");
        assertEquals(0100700, unix.get("mode"));
        assertEquals(1, unix.get("nlink"));
        assertEquals(5L, unix.get("size"));
        assertInstanceOf(Long.class, unix.get("ino"));
        assertInstanceOf(Long.class, unix.get("dev"));
        assertInstanceOf(Integer.class, unix.get("uid"));
        assertInstanceOf(FileTime.class, unix.get("ctime"));
        Files.createLink(dir.resolve("hard"), f);
        assertEquals(2, Files.getAttribute(f, "unix:nlink"));
        assertEquals(unix.get("ino"), Files.getAttribute(dir.resolve("hard"), "unix:ino"));
        assertEquals(
                b.fileKey(),
                Files.readAttributes(dir.resolve("hard"), BasicFileAttributes.class)
                        .fileKey());
        assertTrue(Files.isSameFile(f, dir.resolve("hard")));
        assertFalse(Files.isSameFile(f, dir));
        Map<String, Object> all = Files.readAttributes(f, "posix:*");
        assertTrue(all.keySet().containsAll(Set.of("permissions", "owner", "group", "size", "lastModifiedTime")));
        assertEquals(5L, Files.readAttributes(f, "size").get("size"));
        assertThrows(IllegalArgumentException.class, () -> Files.readAttributes(f, "basic:nonsense"));
        assertThrows(UnsupportedOperationException.class, () -> Files.readAttributes(f, "nonsense:*"));

        PosixFileAttributeView view = Files.getFileAttributeView(f, PosixFileAttributeView.class);
        assertEquals("posix", view.name());
        view.setTimes(FileTime.fromMillis(1_000_000), null, null);
        assertEquals(FileTime.fromMillis(1_000_000), Files.getLastModifiedTime(f));
        view.setOwner(fs().getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name")));

        assertTrue(Files.isHidden(dir.resolve(".dot")));
        assertFalse(Files.isHidden(f));
        assertTrue(Files.isReadable(f) && Files.isWritable(f) && Files.isExecutable(f));
        assertFalse(Files.exists(dir.resolve("none")));
        assertTrue(Files.notExists(dir.resolve("none")));
        assertEquals(
                Files.probeContentType(Path.of("/nonexistent/a.txt")), Files.probeContentType(dir.resolve("a.txt")));
    }

    @Test
    void permissionsAreEnforcedForOrdinaryUsers() throws IOException {
        Path f = Files.writeString(dir.resolve("secret"), "x");
        Files.setPosixFilePermissions(f, Set.of());
        if (ROOT) {
            assertEquals("x", Files.readString(f), "root reads anything");
        } else {
            assertThrows(AccessDeniedException.class, () -> Files.readString(f));
            assertFalse(Files.isReadable(f));
        }
    }

    @Test
    void fileStoreHasSizesFromStatfs() throws IOException {
        FileStore store = Files.getFileStore(dir);
        assertTrue(store.getTotalSpace() > 0);
        assertTrue(store.getUsableSpace() <= store.getTotalSpace());
        assertTrue(store.getBlockSize() > 0);
        assertTrue(store.supportsFileAttributeView("posix"));
        assertTrue(store.supportsFileAttributeView(PosixFileAttributeView.class));
        assertThrows(NoSuchFileException.class, () -> Files.getFileStore(dir.resolve("none")));
    }

    // ------------------------------------------------------------------------------------------------------------
    // channels

    @Test
    void fileChannelsReadAndWriteAtPositions() throws IOException {
        Path f = dir.resolve("c");
        try (FileChannel ch = FileChannel.open(f, CREATE_NEW, READ, WRITE)) {
            assertEquals(5, ch.write(ByteBuffer.wrap("hello".getBytes(UTF_8))));
            assertEquals(5, ch.position());
            assertEquals(3, ch.write(ByteBuffer.wrap("XYZ".getBytes(UTF_8)), 10));
            assertEquals(5, ch.position(), "a positional write does not move the position");
            assertEquals(13, ch.size());
            ByteBuffer buf = ByteBuffer.allocate(13);
            assertEquals(13, ch.read(buf, 0));
            assertArrayEquals("hello\0\0\0\0\0XYZ".getBytes(UTF_8), buf.array());
            ch.position(1);
            ByteBuffer direct = ByteBuffer.allocateDirect(4);
            assertEquals(4, ch.read(direct));
            assertEquals(5, ch.position());
            direct.flip();
            assertEquals('e', direct.get());
            ch.position(13);
            assertEquals(-1, ch.read(ByteBuffer.allocate(1)));
            assertEquals(0, ch.read(ByteBuffer.allocate(0)));

            ByteBuffer[] parts = {ByteBuffer.wrap("ab".getBytes(UTF_8)), ByteBuffer.wrap("cde".getBytes(UTF_8))};
            ch.position(0);
            assertEquals(5, ch.write(parts));
            ByteBuffer[] into = {ByteBuffer.allocate(3), ByteBuffer.allocate(3)};
            ch.position(0);
            assertEquals(6, ch.read(into));
            assertEquals("abc", new String(into[0].array(), UTF_8));
            assertEquals("de\0", new String(into[1].array(), UTF_8));

            ch.truncate(4);
            assertEquals(4, ch.size());
            assertEquals(4, ch.position(), "truncate pulls the position back");
            ch.truncate(100);
            assertEquals(4, ch.size(), "truncate never grows a file");
            ch.force(true);
            ch.force(false);
            assertThrows(IllegalArgumentException.class, () -> ch.position(-1));
        }
        try (SeekableByteChannel ro = Files.newByteChannel(f)) {
            assertThrows(NonWritableChannelException.class, () -> ro.write(ByteBuffer.allocate(1)));
            ro.close();
            assertThrows(ClosedChannelException.class, () -> ro.read(ByteBuffer.allocate(1)));
        }
        try (FileChannel wo = FileChannel.open(f, WRITE)) {
            assertThrows(NonReadableChannelException.class, () -> wo.read(ByteBuffer.allocate(1)));
        }
        try (FileChannel app = FileChannel.open(f, APPEND)) {
            assertEquals(4, app.position());
            app.write(ByteBuffer.wrap("!".getBytes(UTF_8)));
            assertEquals(5, app.position());
        }
        assertEquals("abcd!", Files.readString(f));
        assertThrows(IllegalArgumentException.class, () -> FileChannel.open(f, READ, APPEND));
        assertThrows(NoSuchFileException.class, () -> FileChannel.open(dir.resolve("none"), READ));
    }

    @Test
    void channelsTransferToAndFromEachOther() throws IOException {
        byte[] data = new byte[700_000];
        new java.util.Random(2).nextBytes(data);
        Path a = Files.write(dir.resolve("a"), data);
        Path b = dir.resolve("b");
        try (FileChannel in = FileChannel.open(a, READ);
                FileChannel out = FileChannel.open(b, CREATE, WRITE)) {
            assertEquals(data.length - 10, in.transferTo(10, data.length, out));
        }
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 10, data.length), Files.readAllBytes(b));
        Path c = dir.resolve("c");
        try (FileChannel in = FileChannel.open(a, READ);
                FileChannel out = FileChannel.open(c, CREATE, WRITE, READ)) {
            assertEquals(1000, out.transferFrom(in, 0, 1000));
            // The JDK's channel writes past the end (its Javadoc says it transfers nothing there); FSP does the same.
            assertEquals(10, out.transferFrom(in, 5000, 10));
            assertEquals(5010, out.size());
        }
        assertArrayEquals(java.util.Arrays.copyOf(data, 1000), java.util.Arrays.copyOf(Files.readAllBytes(c), 1000));
    }

    @Test
    void locksConflictInsideTheJvmAsOnThePlatform() throws IOException {
        Path f = Files.write(dir.resolve("lock"), new byte[100]);
        try (FileChannel a = FileChannel.open(f, READ, WRITE);
                FileChannel b = FileChannel.open(f, READ, WRITE)) {
            FileLock la = a.tryLock(0, 50, false);
            assertNotNull(la);
            assertTrue(la.isValid());
            assertFalse(la.isShared());
            assertThrows(OverlappingFileLockException.class, () -> b.tryLock(10, 10, true));
            assertThrows(OverlappingFileLockException.class, () -> a.lock(0, 10, false));
            FileLock lb = b.lock(50, 50, false);
            assertTrue(lb.overlaps(60, 1));
            la.release();
            assertFalse(la.isValid());
            FileLock again = b.tryLock(0, 10, true);
            assertNotNull(again);
            assertTrue(again.isShared());
            again.close();
            lb.release();
        }
        try (FileChannel ro = FileChannel.open(f, READ)) {
            assertThrows(NonWritableChannelException.class, () -> ro.tryLock(0, 1, false));
            FileLock l = ro.lock(0, Long.MAX_VALUE, true);
            ro.close();
            assertFalse(l.isValid(), "closing the channel releases its locks");
        }
    }

    @Test
    void locksExcludeAnotherProcess() throws Exception {
        Path f = Files.write(dir.resolve("plock"), new byte[10]);
        try (FileChannel ch = FileChannel.open(f, READ, WRITE);
                FileLock l = ch.lock()) {
            assertTrue(l.isValid());
            assertEquals("busy", LockProbe.probe(f));
        }
        assertEquals("locked", LockProbe.probe(f));
    }

    @Test
    void asynchronousChannelsCompleteFuturesAndHandlers() throws Exception {
        Path f = dir.resolve("async");
        try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(f, CREATE, READ, WRITE)) {
            assertEquals(4, ch.write(ByteBuffer.wrap("abcd".getBytes(UTF_8)), 0).get(10, TimeUnit.SECONDS));
            CompletableFuture<Integer> done = new CompletableFuture<>();
            ByteBuffer buf = ByteBuffer.allocate(10);
            ch.read(buf, 1, "attachment", new CompletionHandler<Integer, String>() {
                @Override
                public void completed(Integer result, String attachment) {
                    done.complete(result);
                }

                @Override
                public void failed(Throwable exc, String attachment) {
                    done.completeExceptionally(exc);
                }
            });
            assertEquals(3, done.get(10, TimeUnit.SECONDS));
            assertEquals("bcd", new String(buf.array(), 0, 3, UTF_8));
            assertEquals(4, ch.size());
            FileLock l = ch.lock().get(10, TimeUnit.SECONDS);
            assertTrue(l.isValid());
            assertSame(ch, l.acquiredBy());
            l.release();
            ch.force(true);
        }
    }

    @Test
    void mappedSegmentsReadTheFileAndWriteBackWhenTheArenaCloses() throws IOException {
        byte[] data = new byte[20_000];
        new java.util.Random(9).nextBytes(data);
        Path f = Files.write(dir.resolve("map"), data);
        try (FileChannel ch = FileChannel.open(f, READ, WRITE);
                Arena arena = Arena.ofConfined()) {
            MemorySegment ro = ch.map(FileChannel.MapMode.READ_ONLY, 100, 1000, arena);
            assertEquals(1000, ro.byteSize());
            assertEquals(data[100], ro.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(data[1099], ro.get(ValueLayout.JAVA_BYTE, 999));
            assertTrue(ro.isReadOnly());
            assertTrue(ro.isMapped(), "a mapped segment, as Lucene's MMapDirectory expects (isLoaded, load)");
            ro.isLoaded();
            ro.load();
        }
        try (FileChannel ch = FileChannel.open(f, READ, WRITE)) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment rw = ch.map(FileChannel.MapMode.READ_WRITE, 0, 30_000, arena);
                rw.set(ValueLayout.JAVA_BYTE, 0, (byte) 42);
                rw.set(ValueLayout.JAVA_BYTE, 29_999, (byte) 7);
            }
            assertEquals(30_000, ch.size(), "a READ_WRITE mapping past the end grows the file");
        }
        byte[] after = Files.readAllBytes(f);
        assertEquals(42, after[0]);
        assertEquals(7, after[29_999]);
        assertEquals(data[1], after[1]);
    }

    // ------------------------------------------------------------------------------------------------------------
    // names: directories, links, copy, move, delete

    @Test
    void directoriesListAndRefuseWhatLinuxRefuses() throws IOException {
        Path d = Files.createDirectory(dir.resolve("d"));
        for (String n : List.of("b.txt", "a.txt", "c.dat")) {
            Files.writeString(d.resolve(n), n);
        }
        Files.createDirectories(d.resolve("sub/deeper"));
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
            for (Path p : ds) {
                assertEquals(d, p.getParent());
                names.add(p.getFileName().toString());
            }
            assertThrows(IllegalStateException.class, ds::iterator);
        }
        assertEquals(
                List.of("a.txt", "b.txt", "c.dat", "sub"),
                names.stream().sorted().toList());
        List<String> txt = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, "*.txt")) {
            ds.forEach(p -> txt.add(p.getFileName().toString()));
        }
        assertEquals(List.of("a.txt", "b.txt"), txt.stream().sorted().toList());
        try (Stream<Path> walk = Files.walk(d)) {
            assertEquals(6, walk.count());
        }
        try (Stream<Path> found = Files.find(d, 5, (p, a) -> a.isDirectory())) {
            assertEquals(3, found.count());
        }
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(d));
        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(d));
        assertThrows(NotDirectoryException.class, () -> Files.newDirectoryStream(d.resolve("a.txt")));
        assertThrows(NoSuchFileException.class, () -> Files.newDirectoryStream(d.resolve("none")));
        assertThrows(NoSuchFileException.class, () -> Files.delete(d.resolve("none")));
        assertFalse(Files.deleteIfExists(d.resolve("none")));
        Files.delete(d.resolve("sub/deeper"));
        assertFalse(Files.exists(d.resolve("sub/deeper")));
        Path perm = Files.createDirectory(
                dir.resolve("p"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x---")));
        assertEquals("rwx--x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(perm)));
        Path tmp = Files.createTempFile(dir, "pre", ".suf");
        assertTrue(tmp.getFileName().toString().startsWith("pre"));
        if (tmp.getFileSystem() == java.nio.file.FileSystems.getDefault()) {
            // The JDK's TempFileHelper asks for rw------- only on the default file system.
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp)));
        }
    }

    @Test
    void linksAndSymbolicLinks() throws IOException {
        Path f = Files.writeString(dir.resolve("target"), "t");
        Path link = Files.createSymbolicLink(dir.resolve("link"), fs().getPath("target"));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(fs().getPath("target"), Files.readSymbolicLink(link));
        assertEquals("t", Files.readString(link));
        assertTrue(Files.readAttributes(link, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .isSymbolicLink());
        assertTrue(Files.isRegularFile(link));
        assertFalse(Files.isRegularFile(link, LinkOption.NOFOLLOW_LINKS));
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), fs().getPath("nowhere"));
        assertFalse(Files.exists(dangling));
        assertTrue(Files.exists(dangling, LinkOption.NOFOLLOW_LINKS));
        assertThrows(NotLinkException.class, () -> Files.readSymbolicLink(f));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createSymbolicLink(link, f));
        assertThrows(IOException.class, () -> FileChannel.open(link, Set.of(READ, LinkOption.NOFOLLOW_LINKS))
                .close());
        Files.delete(link);
        assertTrue(Files.exists(f), "deleting a link leaves its target");
        Path hard = Files.createLink(dir.resolve("hard"), f);
        Files.writeString(hard, "changed");
        assertEquals("changed", Files.readString(f));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createLink(hard, f));
    }

    @Test
    void copyHonoursItsOptions() throws IOException {
        Path a = Files.writeString(dir.resolve("a"), "aaa");
        FileTime old = FileTime.from(Instant.parse("2001-01-01T00:00:00Z"));
        Files.setLastModifiedTime(a, old);
        Files.setPosixFilePermissions(a, PosixFilePermissions.fromString("rw-r-----"));
        Path b = dir.resolve("b");
        Files.copy(a, b);
        assertEquals("aaa", Files.readString(b));
        assertNotEquals(old, Files.getLastModifiedTime(b));
        assertThrows(FileAlreadyExistsException.class, () -> Files.copy(a, b));
        Files.writeString(a, "new");
        Files.setLastModifiedTime(a, old);
        Files.copy(a, b, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        assertEquals("new", Files.readString(b));
        assertEquals(old, Files.getLastModifiedTime(b));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(b)));
        Files.copy(a, a);
        Path link = Files.createSymbolicLink(dir.resolve("l"), fs().getPath("a"));
        Files.copy(link, dir.resolve("l2"), LinkOption.NOFOLLOW_LINKS);
        assertTrue(Files.isSymbolicLink(dir.resolve("l2")));
        Files.copy(link, dir.resolve("l3"));
        assertFalse(Files.isSymbolicLink(dir.resolve("l3")));
        assertEquals("new", Files.readString(dir.resolve("l3")));
        Path d = Files.createDirectory(dir.resolve("d"));
        Files.writeString(d.resolve("inside"), "x");
        Files.copy(d, dir.resolve("d2"));
        try (Stream<Path> s = Files.list(dir.resolve("d2"))) {
            assertEquals(0, s.count(), "copying a directory copies it empty");
        }
        assertThrows(DirectoryNotEmptyException.class, () -> Files.copy(a, d, StandardCopyOption.REPLACE_EXISTING));
        assertThrows(NoSuchFileException.class, () -> Files.copy(dir.resolve("none"), dir.resolve("x")));
        assertThrows(UnsupportedOperationException.class, () -> Files.copy(a, b, StandardCopyOption.ATOMIC_MOVE));
        try (InputStream in = new java.io.ByteArrayInputStream("streamed".getBytes(UTF_8))) {
            Files.copy(in, dir.resolve("s"));
        }
        assertEquals("streamed", Files.readString(dir.resolve("s")));
    }

    @Test
    void moveRenamesAndHonoursItsOptions() throws IOException {
        Path a = Files.writeString(dir.resolve("a"), "a");
        Path b = Files.writeString(dir.resolve("b"), "b");
        assertThrows(FileAlreadyExistsException.class, () -> Files.move(a, b));
        assertEquals("a", Files.readString(a), "a refused move changes nothing");
        long ino = (Long) Files.getAttribute(a, "unix:ino");
        Files.move(a, b, StandardCopyOption.REPLACE_EXISTING);
        assertFalse(Files.exists(a));
        assertEquals("a", Files.readString(b));
        assertEquals(ino, Files.getAttribute(b, "unix:ino"), "a move within the file system is a rename");
        Path c = Files.writeString(dir.resolve("c"), "c");
        Files.move(c, b, StandardCopyOption.ATOMIC_MOVE);
        assertEquals("c", Files.readString(b));
        Path d = Files.createDirectory(dir.resolve("d"));
        Files.writeString(d.resolve("x"), "x");
        Files.move(d, dir.resolve("e"));
        assertEquals("x", Files.readString(dir.resolve("e/x")));
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThrows(
                DirectoryNotEmptyException.class,
                () -> Files.move(empty, dir.resolve("e"), StandardCopyOption.REPLACE_EXISTING));
        Files.move(b, empty, StandardCopyOption.REPLACE_EXISTING);
        assertTrue(Files.isRegularFile(empty), "REPLACE_EXISTING replaces an empty directory with a file");
        assertThrows(NoSuchFileException.class, () -> Files.move(dir.resolve("none"), dir.resolve("x")));
        assertThrows(java.nio.file.FileSystemException.class, () -> Files.move(dir.resolve("e"), dir.resolve("e/in")));
    }

    @Test
    void deleteOnCloseAndCreateNewBehave() throws IOException {
        Path f = dir.resolve("tmp");
        try (SeekableByteChannel ch = Files.newByteChannel(f, CREATE_NEW, WRITE, DELETE_ON_CLOSE)) {
            // As on Linux's provider: the name goes at open, the file when the channel closes.
            assertFalse(Files.exists(f));
            assertEquals(3, ch.write(ByteBuffer.wrap(new byte[3])));
            assertEquals(3, ch.size());
        }
        assertFalse(Files.exists(f));
        Files.createFile(f);
        assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(f));
        try (SeekableByteChannel ch = Files.newByteChannel(f, CREATE, WRITE, SYNC)) {
            assertEquals(2, ch.write(ByteBuffer.wrap(new byte[2])));
        }
        try (SeekableByteChannel ch = Files.newByteChannel(f, WRITE, DSYNC)) {
            assertEquals(1, ch.write(ByteBuffer.wrap(new byte[1])));
        }
        assertEquals(2, Files.size(f));
    }

    @Test
    void shouldKeepUserDefinedAttributes() throws Exception {
        Path f = Files.writeString(dir.resolve("x.txt"), "x");
        org.junit.jupiter.api.Assumptions.assumeTrue(
                Files.getFileStore(f)
                        .supportsFileAttributeView(java.nio.file.attribute.UserDefinedFileAttributeView.class),
                "this file store keeps no user extended attributes");
        var view = Files.getFileAttributeView(f, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        assertEquals("user", view.name());
        assertEquals(List.of(), view.list());
        assertEquals(5, view.write("mime", UTF_8.encode("text!")));
        view.write("empty", ByteBuffer.allocate(0));
        assertEquals(Set.of("mime", "empty"), Set.copyOf(view.list()));
        assertEquals(5, view.size("mime"));
        ByteBuffer in = ByteBuffer.allocate(16);
        assertEquals(5, view.read("mime", in));
        assertEquals("text!", UTF_8.decode(in.flip()).toString());
        assertThrows(java.nio.file.FileSystemException.class, () -> view.read("mime", ByteBuffer.allocate(2)));
        assertThrows(java.nio.file.FileSystemException.class, () -> view.size("none"));
        assertArrayEquals("text!".getBytes(UTF_8), (byte[]) Files.getAttribute(f, "user:mime"));
        Files.setAttribute(f, "user:other", "o".getBytes(UTF_8));
        assertArrayEquals("o".getBytes(UTF_8), (byte[])
                Files.readAttributes(f, "user:other").get("other"));
        view.delete("mime");
        assertThrows(java.nio.file.FileSystemException.class, () -> view.delete("mime"));
        assertEquals(Set.of("empty", "other"), Set.copyOf(view.list()));
    }

    // ------------------------------------------------------------------------------------------------------------
    // secure directory streams

    private static java.nio.file.SecureDirectoryStream<Path> secure(Path d) throws IOException {
        DirectoryStream<Path> s = Files.newDirectoryStream(d);
        assertInstanceOf(java.nio.file.SecureDirectoryStream.class, s, "Linux's provider gives secure streams");
        return (java.nio.file.SecureDirectoryStream<Path>) s;
    }

    private static List<String> names(DirectoryStream<Path> s) {
        List<String> out = new ArrayList<>();
        s.forEach(p -> out.add(p.getFileName().toString()));
        return out.stream().sorted().toList();
    }

    @Test
    void shouldWorkRelativeToTheOpenedDirectoryAfterItIsRenamedAndReplaced() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        Files.writeString(d.resolve("a"), "a");
        Files.createDirectory(d.resolve("sub"));
        Files.writeString(d.resolve("sub/deep"), "deep");
        try (java.nio.file.SecureDirectoryStream<Path> s = secure(d)) {
            Path moved = dir.resolve("moved");
            Files.move(d, moved);
            Files.createDirectory(d);
            Files.writeString(d.resolve("impostor"), "not this one");
            try (SeekableByteChannel ch = s.newByteChannel(fs().getPath("new"), Set.of(CREATE_NEW, WRITE))) {
                ch.write(ByteBuffer.wrap("x".getBytes(UTF_8)));
            }
            assertEquals("x", Files.readString(moved.resolve("new")));
            try (SeekableByteChannel ch = s.newByteChannel(fs().getPath("sub/deep"), Set.of(READ))) {
                assertEquals(4, ch.size());
            }
            var attrs = s.getFileAttributeView(fs().getPath("a"), java.nio.file.attribute.BasicFileAttributeView.class)
                    .readAttributes();
            assertEquals(1, attrs.size());
            assertTrue(attrs.isRegularFile());
            s.move(fs().getPath("a"), s, fs().getPath("b"));
            assertEquals("a", Files.readString(moved.resolve("b")));
            s.deleteFile(fs().getPath("b"));
            assertFalse(Files.exists(moved.resolve("b")));
            s.deleteFile(fs().getPath("sub/deep"));
            s.deleteDirectory(fs().getPath("sub"));
            assertFalse(Files.exists(moved.resolve("sub")));
            List<Path> entries = new ArrayList<>();
            s.forEach(entries::add);
            assertEquals(List.of(d.resolve("new")), entries, "entries are the given path resolved with each name");
            assertTrue(Files.exists(d.resolve("impostor")));
        }
    }

    @Test
    void shouldFailAsThePlatformOnTheWrongKindOfEntry() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        Files.writeString(d.resolve("file"), "f");
        Files.createDirectory(d.resolve("full"));
        Files.writeString(d.resolve("full/x"), "x");
        try (java.nio.file.SecureDirectoryStream<Path> s = secure(d)) {
            assertThrows(NoSuchFileException.class, () -> s.deleteFile(fs().getPath("none")));
            assertThrows(NoSuchFileException.class, () -> s.deleteDirectory(fs().getPath("none")));
            assertThrows(DirectoryNotEmptyException.class, () -> s.deleteDirectory(fs().getPath("full")));
            assertThrows(java.nio.file.FileSystemException.class, () -> s.deleteFile(fs().getPath("full")));
            assertThrows(java.nio.file.FileSystemException.class, () -> s.deleteDirectory(fs().getPath("file")));
            assertThrows(
                    FileAlreadyExistsException.class,
                    () -> s.newByteChannel(fs().getPath("file"), Set.of(CREATE_NEW, WRITE)));
            assertThrows(java.nio.file.FileSystemException.class, () -> s.newDirectoryStream(fs().getPath("file")));
            assertNull(s.getFileAttributeView(java.nio.file.attribute.AclFileAttributeView.class));
        }
    }

    @Test
    void shouldNotFollowASymlinkWhenToldAndRefuseOperationsAfterClose() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        Path target = Files.createDirectory(dir.resolve("target"));
        Files.writeString(target.resolve("keep"), "k");
        Files.createSymbolicLink(d.resolve("link"), target);
        java.nio.file.SecureDirectoryStream<Path> s = secure(d);
        Path link = fs().getPath("link");
        assertThrows(
                java.nio.file.FileSystemException.class, () -> s.newDirectoryStream(link, LinkOption.NOFOLLOW_LINKS));
        try (java.nio.file.SecureDirectoryStream<Path> followed = s.newDirectoryStream(link)) {
            assertEquals(List.of("keep"), names(followed));
        }
        var view = s.getFileAttributeView(
                link, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        assertTrue(view.readAttributes().isSymbolicLink());
        s.deleteFile(link);
        assertTrue(Files.exists(target.resolve("keep")), "deleting a link leaves its target");
        s.close();
        s.close();
        assertThrows(java.nio.file.ClosedDirectoryStreamException.class, () -> s.deleteFile(fs().getPath("x")));
        assertThrows(
                java.nio.file.ClosedDirectoryStreamException.class,
                () -> s.newByteChannel(fs().getPath("x"), Set.of(CREATE, WRITE)));
        assertThrows(IllegalStateException.class, s::iterator);
    }

    @Test
    void shouldSetAttributesThroughTheViewsOfASecureStream() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        Path f = Files.writeString(d.resolve("f"), "f");
        try (java.nio.file.SecureDirectoryStream<Path> s = secure(d)) {
            PosixFileAttributeView self = s.getFileAttributeView(PosixFileAttributeView.class);
            self.setPermissions(PosixFilePermissions.fromString("rwx------"));
            assertEquals(
                    "rwx------",
                    PosixFilePermissions.toString(self.readAttributes().permissions()));
            assertTrue(self.readAttributes().isDirectory());
            PosixFileAttributeView view = s.getFileAttributeView(fs().getPath("f"), PosixFileAttributeView.class);
            assertEquals("posix", view.name());
            view.setPermissions(PosixFilePermissions.fromString("rw-r-----"));
            FileTime t = FileTime.from(Instant.parse("2020-01-02T03:04:05Z"));
            view.setTimes(t, null, null);
            PosixFileAttributes a = Files.readAttributes(f, PosixFileAttributes.class);
            assertEquals("rw-r-----", PosixFilePermissions.toString(a.permissions()));
            assertEquals(t, a.lastModifiedTime());
            assertEquals(view.readAttributes().owner(), view.getOwner());
        }
    }

    /** A recursive delete as Guava's MoreFiles.deleteRecursively does it: through secure streams, never following links. */
    private static void deleteRecursively(java.nio.file.SecureDirectoryStream<Path> s) throws IOException {
        for (Path p : s) {
            Path name = p.getFileName();
            var a = s.getFileAttributeView(
                            name, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .readAttributes();
            if (a.isDirectory()) {
                try (java.nio.file.SecureDirectoryStream<Path> sub =
                        s.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
                    deleteRecursively(sub);
                }
                s.deleteDirectory(name);
            } else {
                s.deleteFile(name);
            }
        }
    }

    @Test
    void shouldDeleteATreeRecursivelyThroughSecureStreamsAndWithWalkFileTree() throws Exception {
        Path outside = Files.createDirectory(dir.resolve("outside"));
        Files.writeString(outside.resolve("safe"), "s");
        for (String root : List.of("tree1", "tree2")) {
            Path t = Files.createDirectories(dir.resolve(root + "/a/b/c"));
            for (int i = 0; i < 300; i++) {
                Files.writeString(t.resolve("f" + i), "x");
            }
            Files.writeString(dir.resolve(root + "/a/top"), "t");
            Files.createSymbolicLink(dir.resolve(root + "/a/out"), outside);
        }
        Path tree1 = dir.resolve("tree1");
        try (java.nio.file.SecureDirectoryStream<Path> s = secure(tree1)) {
            deleteRecursively(s);
        }
        Files.delete(tree1);
        assertFalse(Files.exists(tree1, LinkOption.NOFOLLOW_LINKS));
        Path tree2 = dir.resolve("tree2");
        Files.walkFileTree(tree2, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
        assertFalse(Files.exists(tree2, LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.deleteIfExists(tree2));
        assertEquals("s", Files.readString(outside.resolve("safe")), "links were not followed");
        try (DirectoryStream<Path> left = Files.newDirectoryStream(dir)) {
            assertEquals(List.of("outside"), names(left));
        }
    }

    /** Events of one key until {@code until} holds for them or 15 s pass; the key is reset after each batch. */
    private static List<String> eventsUntil(
            java.nio.file.WatchService watcher, java.util.function.Predicate<List<String>> until) throws Exception {
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!until.test(seen) && System.nanoTime() < deadline) {
            java.nio.file.WatchKey key = watcher.poll(200, TimeUnit.MILLISECONDS);
            if (key == null) {
                continue;
            }
            for (java.nio.file.WatchEvent<?> e : key.pollEvents()) {
                seen.add(e.kind().name() + " " + e.context());
            }
            key.reset();
        }
        return seen;
    }

    @Test
    void shouldReportCreatedModifiedAndDeletedEntriesToAWatchService() throws Exception {
        Path watched = Files.createDirectory(dir.resolve("watched"));
        try (java.nio.file.WatchService watcher = dir.getFileSystem().newWatchService()) {
            java.nio.file.WatchKey key = watched.register(
                    watcher,
                    java.nio.file.StandardWatchEventKinds.ENTRY_CREATE,
                    java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY,
                    java.nio.file.StandardWatchEventKinds.ENTRY_DELETE);
            assertEquals(watched, key.watchable());
            Files.writeString(watched.resolve("a"), "a");
            Files.createDirectory(watched.resolve("sub"));
            List<String> created =
                    eventsUntil(watcher, seen -> seen.contains("ENTRY_CREATE a") && seen.contains("ENTRY_CREATE sub"));
            assertTrue(created.contains("ENTRY_CREATE a") && created.contains("ENTRY_CREATE sub"), created.toString());
            Files.writeString(watched.resolve("a"), "longer now", APPEND);
            List<String> modified = eventsUntil(watcher, seen -> seen.contains("ENTRY_MODIFY a"));
            assertTrue(modified.contains("ENTRY_MODIFY a"), modified.toString());
            Files.delete(watched.resolve("a"));
            List<String> deleted = eventsUntil(watcher, seen -> seen.contains("ENTRY_DELETE a"));
            assertTrue(deleted.contains("ENTRY_DELETE a"), deleted.toString());
            assertTrue(key.isValid());
            key.cancel();
            assertFalse(key.isValid());
        }
    }

    @Test
    void shouldReportARenameWithinAWatchedDirectoryAsADeleteOfTheOldNameAndACreateOfTheNew() throws Exception {
        Path watched = Files.createDirectory(dir.resolve("renames"));
        Files.writeString(watched.resolve("old"), "x");
        try (java.nio.file.WatchService watcher = dir.getFileSystem().newWatchService()) {
            watched.register(
                    watcher,
                    java.nio.file.StandardWatchEventKinds.ENTRY_CREATE,
                    java.nio.file.StandardWatchEventKinds.ENTRY_DELETE);
            Files.move(watched.resolve("old"), watched.resolve("new"));
            List<String> seen =
                    eventsUntil(watcher, s -> s.contains("ENTRY_DELETE old") && s.contains("ENTRY_CREATE new"));
            assertEquals(List.of("ENTRY_DELETE old", "ENTRY_CREATE new"), seen);
        }
    }

    @Test
    void shouldRefuseToWatchAFileAndCloseTheWatchService() throws Exception {
        Path f = Files.writeString(dir.resolve("plain"), "x");
        java.nio.file.WatchService watcher = dir.getFileSystem().newWatchService();
        assertThrows(
                NotDirectoryException.class,
                () -> f.register(watcher, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE));
        watcher.close();
        assertThrows(java.nio.file.ClosedWatchServiceException.class, watcher::poll);
        assertThrows(
                java.nio.file.ClosedWatchServiceException.class,
                () -> dir.register(watcher, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE));
    }
}
