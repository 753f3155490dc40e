package org.fsp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Where fspd may put its sockets, log and bundle cache, and the image it creates. */
class SocketPlacementTest {

    private static final int ME = 1000;
    private static final List<String> NAMES = List.of("fsp.sock", "fsp.sock.admin", "fsp.sock.d");
    private static final List<SocketPlacement.Entry> NONE =
            List.of(SocketPlacement.Entry.ABSENT, SocketPlacement.Entry.ABSENT, SocketPlacement.Entry.ABSENT);

    @TempDir
    Path tmp;

    private static SocketPlacement.Entry dir(int uid, int mode) {
        return new SocketPlacement.Entry(true, uid, uid, 0040000 | mode);
    }

    @Test
    void shouldAcceptADirectoryOfItsOwnOrRootsThatOthersCannotWrite() {
        assertNull(SocketPlacement.problem("/run/user/1000/fsp", dir(ME, 0700), NAMES, NONE, ME));
        assertNull(SocketPlacement.problem("/srv/fsp", dir(0, 0755), NAMES, NONE, ME));
    }

    @Test
    void shouldRefuseADirectoryOtherUsersCanWrite() {
        String why = SocketPlacement.problem("/srv/shared", dir(ME, 0777), NAMES, NONE, ME);
        assertTrue(why.contains("writable by other users (mode 0777)"), why);
        assertTrue(SocketPlacement.problem("/srv/group", dir(ME, 0775), NAMES, NONE, ME)
                .contains("writable by other users"));
        String owned = SocketPlacement.problem("/home/eve/x", dir(1001, 0755), NAMES, NONE, ME);
        assertTrue(owned.contains("belongs to uid 1001"), owned);
    }

    @Test
    void shouldAcceptAStickyDirectoryWhileEveryNameItUsesIsAbsentOrItsOwn() {
        SocketPlacement.Entry tmpDir = dir(0, 01777);
        assertNull(SocketPlacement.problem("/tmp", tmpDir, NAMES, NONE, ME));
        SocketPlacement.Entry mine = new SocketPlacement.Entry(true, ME, ME, 0140755);
        assertNull(SocketPlacement.problem(
                "/tmp", tmpDir, NAMES, List.of(mine, SocketPlacement.Entry.ABSENT, SocketPlacement.Entry.ABSENT), ME));
        SocketPlacement.Entry planted = new SocketPlacement.Entry(true, 1001, 1001, 0040755);
        String why = SocketPlacement.problem(
                "/tmp",
                tmpDir,
                NAMES,
                List.of(SocketPlacement.Entry.ABSENT, SocketPlacement.Entry.ABSENT, planted),
                ME);
        assertTrue(why.contains("fsp.sock.d in the shared directory /tmp already exists and belongs to uid 1001"), why);
    }

    @Test
    void shouldRefuseAWorldWritableSocketDirectoryWithExitCode2() throws Exception {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = new CommandLine(new Fspd(
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8)))
                .execute(
                        "--driver",
                        "ram",
                        "--socket",
                        shared.resolve("fsp.sock").toString());
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(Fspd.EXIT_BAD_INPUT, code, text + out);
        assertTrue(text.contains("socket directory " + shared + " is writable by other users"), text);
        assertTrue(!Files.exists(SocketPlacement.privateDirectoryFor(shared.resolve("fsp.sock"))));
    }

    @Test
    void shouldSeeTheRealStickyBitAndOwnersOnDisk() throws Exception {
        int me = (int) FspPaths.uid();
        Path sticky = Files.createDirectory(tmp.resolve("sticky"));
        Files.setAttribute(sticky, "unix:mode", 01777);
        Path socket = sticky.resolve("fsp.sock");
        assertNull(SocketPlacement.check(socket, me));
        Assumptions.assumeTrue(me == 0, "SKIPPED (the rest): needs root to plant a file owned by another user");
        Path planted = Files.createFile(sticky.resolve("fsp.sock.admin"));
        Files.setAttribute(planted, "unix:uid", 65534);
        String why = SocketPlacement.check(socket, me);
        assertTrue(why != null && why.contains("belongs to uid 65534"), why);
    }

    @Test
    void shouldMakeThePrivateDirectoryMode0700AndRefuseOneThatIsNotOurs() throws Exception {
        int me = (int) FspPaths.uid();
        Path socket = tmp.resolve("fsp.sock");
        Path dir = SocketPlacement.privateDirectory(socket, me);
        assertEquals(tmp.resolve("fsp.sock.d"), dir);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        SocketPlacement.privateDirectory(socket, me);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));

        Path other = tmp.resolve("other.sock");
        Files.createSymbolicLink(SocketPlacement.privateDirectoryFor(other), tmp);
        IOException link = assertThrows(IOException.class, () -> SocketPlacement.privateDirectory(other, me));
        assertTrue(link.getMessage().contains("not a directory (a symlink is not accepted)"), link.getMessage());

        Assumptions.assumeTrue(me == 0, "SKIPPED (the rest): needs root to make a directory owned by another user");
        Path third = tmp.resolve("third.sock");
        Path theirs = Files.createDirectory(SocketPlacement.privateDirectoryFor(third));
        Files.setAttribute(theirs, "unix:uid", 65534);
        IOException e = assertThrows(IOException.class, () -> SocketPlacement.privateDirectory(third, me));
        assertTrue(e.getMessage().contains("belongs to uid 65534"), e.getMessage());
    }

    @Test
    void shouldCreateAnImageReadableByItsOwnerOnly() throws Exception {
        Path image = tmp.resolve("data/default.img");
        DeviceCheck.prepare(
                image, 16L << 20, true, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(image)));
        assertEquals(16L << 20, Files.size(image));
    }
}
