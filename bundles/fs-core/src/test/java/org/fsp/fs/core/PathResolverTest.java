package org.fsp.fs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.testing.FsPieces;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PathResolver on its own, over a tree fs-core made: the hand-written rules (".", "..", trailing slashes, the 40-link
 * limit, search permission, length limits) and a differential run in which thousands of random paths through
 * symlinks, dots and trailing slashes resolve to the same node, or fail with the same errno, as the running kernel
 * resolves them in the same tree built under a temporary directory.
 */
class PathResolverTest {

    /** Root entries, links included; "c0".."c40" is a chain of 41 links ending at d1. */
    private static final String[] NAMES = {
        "d1", "d2", "f", "g", "h", "ld", "la", "lf", "lx", "loopA", "ldot", "up", "self", "back", "c0", "c1", "c39",
        "missing", ".", "x"
    };

    private static final Credentials ALICE = new Credentials(100, 1000, 1000, new int[0]);

    @TempDir
    static Path host;

    private static HeapBlockDeviceTestDouble device;
    private static PathResolver paths;
    private static final Map<Long, String> fspLabel = new HashMap<>();
    private static final Map<Long, String> hostLabel = new HashMap<>();

    @BeforeAll
    static void buildTrees() throws IOException, HostStat.Failed {
        device = new HeapBlockDeviceTestDouble(4096);
        FsCore fs = TestFs.formatAndMount(device);
        List<String[]> links = new ArrayList<>();
        fs.mkdir(TestFs.ROOT, "/d1", 0755);
        fs.mkdir(TestFs.ROOT, "/d1/d2", 0755);
        fs.mkdir(TestFs.ROOT, "/private", 0700);
        TestFs.writeFile(fs, TestFs.ROOT, "/f", TestFs.utf8("f"));
        TestFs.writeFile(fs, TestFs.ROOT, "/d1/g", TestFs.utf8("g"));
        TestFs.writeFile(fs, TestFs.ROOT, "/d1/d2/h", TestFs.utf8("h"));
        TestFs.writeFile(fs, TestFs.ROOT, "/private/p", TestFs.utf8("p"));
        links.add(new String[] {"d1", "/ld"});
        links.add(new String[] {"/d1/d2", "/la"});
        links.add(new String[] {"f", "/lf"});
        links.add(new String[] {"nowhere", "/lx"});
        links.add(new String[] {"loopB", "/loopA"});
        links.add(new String[] {"loopA", "/loopB"});
        links.add(new String[] {".", "/ldot"});
        links.add(new String[] {"..", "/d1/up"});
        links.add(new String[] {"../d1", "/d1/self"});
        links.add(new String[] {"../../f", "/d1/d2/back"});
        for (int i = 0; i < 40; i++) {
            links.add(new String[] {"c" + (i + 1), "/c" + i});
        }
        links.add(new String[] {"d1", "/c40"});
        Files.createDirectories(host.resolve("d1/d2"));
        Files.createDirectories(host.resolve("private"));
        Files.writeString(host.resolve("f"), "f");
        Files.writeString(host.resolve("d1/g"), "g");
        Files.writeString(host.resolve("d1/d2/h"), "h");
        for (String[] l : links) {
            fs.symlink(TestFs.ROOT, l[0], l[1]);
            String hostTarget = l[0].startsWith("/") ? host + l[0] : l[0];
            Files.createSymbolicLink(host.resolve(l[1].substring(1)), Path.of(hostTarget));
        }
        List<String> nodes = new ArrayList<>(List.of("/", "/d1", "/d1/d2", "/f", "/d1/g", "/d1/d2/h", "/private"));
        links.forEach(l -> nodes.add(l[1]));
        for (String node : nodes) {
            fspLabel.put(fs.lstat(TestFs.ROOT, node).ino(), node);
            hostLabel.put(HostStat.ino(host + node, false), node);
        }
        fs.unmount();
        paths = resolverOn(device);
    }

    /** A resolver over its own cache on the unmounted image, as FsCore wires one. */
    private static PathResolver resolverOn(HeapBlockDeviceTestDouble d) throws IOException {
        FsPieces p = FsPieces.open(d);
        return new PathResolver(p.cache(), p.alloc(), p.table(), LinkProtection.OFF);
    }

    private static String fsp(String path, boolean follow) {
        try {
            Inode i = paths.resolve(TestFs.ROOT, path, follow);
            String label = fspLabel.get(i.ino);
            assertTrue(label != null, "resolved to an inode the test did not make: " + i.ino);
            return label;
        } catch (FsException e) {
            return e.errno().name();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Errno fspError(Credentials who, String path) {
        try {
            paths.resolve(who, path, true);
            return null;
        } catch (FsException e) {
            return e.errno();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void dotsAndSlashesNameTheSameDirectory() {
        assertEquals("/d1/d2", fsp("/d1/./d2", true));
        assertEquals("/d1", fsp("/d1/d2/..", true));
        assertEquals("/", fsp("/..", true));
        assertEquals("/", fsp("/../../..", true));
        assertEquals("/d1/d2", fsp("//d1///d2//", true));
        assertEquals("/", fsp("/", true));
    }

    @Test
    void trailingSlashOnAFileIsNotADirectory() {
        assertEquals("ENOTDIR", fsp("/f/", true));
        assertEquals("ENOTDIR", fsp("/f/.", true));
        assertEquals("ENOTDIR", fsp("/d1/g/x", true));
        assertEquals("ENOTDIR", fsp("/lf/", false));
    }

    @Test
    void trailingSlashFollowsALinkEvenWithoutFollow() {
        assertEquals("/ld", fsp("/ld", false));
        assertEquals("/d1", fsp("/ld/", false));
        assertEquals("/d1", fsp("/ld", true));
    }

    @Test
    void fortyLinksAreFollowedAndTheFortyFirstIsAnError() {
        assertEquals("/d1", fsp("/c1", true));
        assertEquals("ELOOP", fsp("/c0", true));
        assertEquals("/c0", fsp("/c0", false));
        assertEquals("ELOOP", fsp("/loopA/x", false));
    }

    @Test
    void relativeLinksResolveFromTheDirectoryHoldingThem() {
        assertEquals("/f", fsp("/d1/d2/back", true));
        assertEquals("/d1/g", fsp("/d1/up/d1/self/g", true));
        assertEquals("/d1/d2", fsp("/la/../d2", true));
    }

    @Test
    void searchPermissionIsCheckedOnEveryDirectoryPassed() {
        assertEquals(Errno.EACCES, fspError(ALICE, "/private/p"));
        assertEquals(Errno.EACCES, fspError(ALICE, "/private/missing"));
        assertEquals(null, fspError(TestFs.ROOT, "/private/p"));
        assertEquals(null, fspError(ALICE, "/private"));
    }

    @Test
    void malformedPathsAreRejectedBeforeAnyLookup() {
        assertEquals(Errno.ENOENT, fspError(TestFs.ROOT, ""));
        assertEquals(Errno.EINVAL, fspError(TestFs.ROOT, "d1"));
        assertEquals(Errno.EINVAL, fspError(TestFs.ROOT, "/d1\0/g"));
        assertEquals(Errno.ENAMETOOLONG, fspError(TestFs.ROOT, "/" + "n".repeat(256)));
        assertEquals(Errno.ENOENT, fspError(TestFs.ROOT, "/" + "n".repeat(255)));
        // PATH_MAX is the front ends' to check on what callers pass; fs-core resolves longer paths a front end built
        // (the FUSE mount's full paths of deep trees) up to its own bound.
        assertEquals(Errno.ENOENT, fspError(TestFs.ROOT, "/" + "d1/".repeat(1400) + "x"));
        assertEquals(Errno.ENAMETOOLONG, fspError(TestFs.ROOT, "/d1".repeat(PathResolver.RESOLVE_MAX / 3 + 1)));
        // NAME_MAX counts bytes: 128 two-byte characters are 256 bytes.
        assertEquals(Errno.ENAMETOOLONG, fspError(TestFs.ROOT, "/" + "é".repeat(128)));
    }

    @Test
    void parentOfAPathIsItsDirectoryAndLastName() throws IOException {
        PathResolver.Parent root = paths.resolveParent(TestFs.ROOT, "/");
        assertEquals("", root.name());
        assertEquals(Geometry.ROOT_INO, root.dir().ino);
        PathResolver.Parent p = paths.resolveParent(TestFs.ROOT, "/ld/new/");
        assertEquals("new", p.name());
        assertTrue(p.trailingSlash());
        assertEquals("/d1", fspLabel.get(p.dir().ino));
        assertFalse(paths.resolveParent(TestFs.ROOT, "/d1/g").trailingSlash());
        FsException e = assertThrows(FsException.class, () -> paths.resolveParent(TestFs.ROOT, "/f/new"));
        assertEquals(Errno.ENOTDIR, e.errno());
        e = assertThrows(FsException.class, () -> paths.resolveParent(TestFs.ROOT, "/lx/new"));
        assertEquals(Errno.ENOENT, e.errno());
    }

    @Test
    void randomPathsResolveAsTheKernelResolvesThem() {
        assumeTrue(HostStat.available(), "libc stat/lstat not found through FFM: differential part skipped");
        Random rnd = new Random(7);
        int compared = 0;
        for (int n = 0; n < 5000; n++) {
            String path = randomPath(rnd);
            for (boolean follow : new boolean[] {true, false}) {
                String expected = hostOutcome(path, follow);
                assertEquals(expected, fsp(path, follow), (follow ? "stat " : "lstat ") + path);
                compared++;
            }
        }
        assertEquals(10000, compared);
    }

    /**
     * A path of known names, dots, doubled and trailing slashes. ".." comes only after a real directory's name, so it
     * never climbs above the root: the kernel's tree is under a temporary directory whose parent is not the root.
     */
    private static String randomPath(Random rnd) {
        StringBuilder b = new StringBuilder();
        int parts = 1 + rnd.nextInt(5);
        for (int i = 0; i < parts; i++) {
            b.append(rnd.nextInt(8) == 0 ? "//" : "/");
            String name = NAMES[rnd.nextInt(NAMES.length)];
            b.append(name);
            if ((name.equals("d1") || name.equals("d2")) && rnd.nextInt(4) == 0) {
                b.append("/..");
            }
        }
        if (rnd.nextInt(4) == 0) {
            b.append('/');
        }
        return b.toString();
    }

    private static String hostOutcome(String path, boolean follow) {
        try {
            long ino = HostStat.ino(host + path, follow);
            String label = hostLabel.get(ino);
            assertTrue(label != null, "the kernel resolved " + path + " outside the test tree");
            return label;
        } catch (HostStat.Failed e) {
            return Errno.of(e.errno).name();
        }
    }

    /** stat(2) and lstat(2) of the running kernel through FFM, for their st_ino or errno. */
    private static final class HostStat {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final MemoryLayout CALL_STATE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        private static final MethodHandle STAT = find("stat");
        private static final MethodHandle LSTAT = find("lstat");
        /** x86-64 and arm64 both put st_ino right after the 8-byte st_dev; struct stat is at most 144 bytes. */
        private static final long ST_INO_OFFSET = 8;

        static final class Failed extends Exception {
            final int errno;

            Failed(int errno) {
                super("errno " + errno, null, false, false);
                this.errno = errno;
            }
        }

        private static MethodHandle find(String name) {
            return LINKER.defaultLookup()
                    .find(name)
                    .map(s -> LINKER.downcallHandle(
                            s,
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
                            Linker.Option.captureCallState("errno")))
                    .orElse(null);
        }

        static boolean available() {
            return STAT != null && LSTAT != null;
        }

        static long ino(String path, boolean follow) throws Failed {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(CALL_STATE);
                MemorySegment buf = arena.allocate(256, 8);
                int rc = (int) (follow ? STAT : LSTAT).invokeExact(state, arena.allocateFrom(path), buf);
                if (rc != 0) {
                    throw new Failed((int) ERRNO.get(state, 0L));
                }
                return buf.get(ValueLayout.JAVA_LONG, ST_INO_OFFSET);
            } catch (Failed e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
    }
}
