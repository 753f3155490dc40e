package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The distribution as a user meets it: {@code bin/fspd} started headless on a fresh image, {@code bin/fsp shell}
 * attached over the admin socket, bad devices and second daemons refused with clear messages, a bundle updated live,
 * the file commands working through FS Lib, a file put before a SIGKILL still there after restart, a killed
 * daemon's socket recovered, {@code shutdown} and SIGTERM stopping cleanly with a consistent image.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DistributionIT {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final int EXIT_BAD_INPUT = 2;
    private static final int EXIT_ALREADY_RUNNING = 3;

    private static Path work;
    private static Path device;
    private static Path socket;
    private static Path log;
    private static Process daemon;

    @BeforeAll
    static void startDaemon() throws Exception {
        work = FspBundleSet.workDirectory("distribution");
        device = work.resolve("dev.img");
        socket = work.resolve("fsp.sock");
        log = work.resolve("fspd.out");
        daemon = FspProcesses.startDaemon(
                log, "--device", device.toString(), "--size", "64M", "--socket", socket.toString());
        FspProcesses.awaitReady(daemon, socket, log, START_TIMEOUT);
    }

    @AfterAll
    static void stopDaemon() throws InterruptedException {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroyForcibly().waitFor();
        }
    }

    @Test
    @Order(1)
    void shouldCreateTheImageAndSayWhereThingsAre() throws IOException {
        String out = Files.readString(log);
        assertTrue(Files.size(device) == 64L << 20, "image size");
        assertTrue(out.contains("created image " + device), out);
        assertTrue(out.contains("client socket " + socket), out);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(device)));
        Path privateDir = Path.of(socket + ".d");
        assertTrue(out.contains("log           " + privateDir.resolve("fspd.log")), out);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(privateDir)));
        assertTrue(Files.isDirectory(privateDir.resolve("felix-cache")), "the bundle cache is in " + privateDir);
    }

    @Test
    @Order(2)
    void shellShouldListEveryFspBundleAsActive() throws Exception {
        FspProcesses.Result lb = FspProcesses.fsp(socket, "shell", "-c", "lb -s");
        assertEquals(0, lb.exitCode(), lb.all());
        for (String name : FspBundleSet.FSP_BUNDLES) {
            assertTrue(
                    Pattern.compile("\\|Active\\s*\\|.*\\|" + Pattern.quote(name) + " \\(")
                            .matcher(lb.stdout())
                            .find(),
                    name + " not Active in:\n" + lb.stdout());
        }
    }

    @Test
    @Order(3)
    void statusShouldDescribeTheLiveSystem() throws Exception {
        FspProcesses.Result status = FspProcesses.fsp(socket, "shell", "-c", "fsp:status");
        assertEquals(0, status.exitCode(), status.all());
        assertTrue(status.stdout().contains(device.toString()), status.stdout());
        assertTrue(status.stdout().contains(socket.toString()), status.stdout());
        for (String name : FspBundleSet.FSP_BUNDLES) {
            assertTrue(
                    status.stdout().contains(name.substring("org.fsp.".length())),
                    name + " missing:\n" + status.stdout());
        }
    }

    @Test
    @Order(4)
    void shouldRefuseASecondDaemonOnTheSameSocket() throws Exception {
        Path otherDevice = work.resolve("other.img");
        FspProcesses.Result second = FspProcesses.fspdExpectingExit(
                "--device", otherDevice.toString(), "--size", "64M", "--socket", socket.toString());
        assertEquals(EXIT_ALREADY_RUNNING, second.exitCode(), second.all());
        assertTrue(second.stderr().contains("already serving " + socket), second.all());
    }

    @Test
    @Order(5)
    void shouldRefuseASecondDaemonOnTheSameDevice() throws Exception {
        FspProcesses.Result second = FspProcesses.fspdExpectingExit(
                "--device",
                device.toString(),
                "--socket",
                work.resolve("second.sock").toString());
        assertEquals(EXIT_ALREADY_RUNNING, second.exitCode(), second.all());
        assertTrue(second.stderr().contains("in use by another fspd"), second.all());
    }

    @Test
    @Order(5)
    void fsckShouldRefuseToRepairTheImageTheDaemonServes() throws Exception {
        FspProcesses.Result r = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", "--repair", device.toString()),
                Duration.ofSeconds(60));
        assertEquals(8, r.exitCode(), r.all());
        assertTrue(r.stdout().contains("is in use by fspd"), r.all());
    }

    @Test
    @Order(6)
    void shouldRefuseASocketDirectoryOtherUsersCanWrite() throws Exception {
        Path shared = Files.createDirectories(work.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        FspProcesses.Result r = FspProcesses.fspdExpectingExit(
                "--driver", "ram", "--socket", shared.resolve("fsp.sock").toString());
        assertEquals(EXIT_BAD_INPUT, r.exitCode(), r.all());
        assertTrue(r.stderr().contains("is writable by other users"), r.all());
    }

    @Test
    @Order(6)
    void shouldRefuseATooSmallDevice() throws Exception {
        Path small = work.resolve("small.img");
        Files.write(small, new byte[1 << 19]);
        FspProcesses.Result r = FspProcesses.fspdExpectingExit(
                "--device",
                small.toString(),
                "--socket",
                work.resolve("small.sock").toString());
        assertEquals(EXIT_BAD_INPUT, r.exitCode(), r.all());
        assertTrue(r.stderr().contains("too small"), r.all());
    }

    @Test
    @Order(7)
    void shouldRefuseAnUncreatableDevicePath() throws Exception {
        Path file = work.resolve("plain-file");
        Files.writeString(file, "not a directory");
        FspProcesses.Result r = FspProcesses.fspdExpectingExit(
                "--device",
                file.resolve("dev.img").toString(),
                "--socket",
                work.resolve("bad.sock").toString());
        assertEquals(EXIT_BAD_INPUT, r.exitCode(), r.all());
        assertTrue(r.stderr().contains("cannot create image"), r.all());
    }

    @Test
    @Order(8)
    void shouldInstallUpdateAndRefreshABundleFromTheShell() throws Exception {
        Path v1 = work.resolve("hello-1.0.0.jar");
        Path v2 = work.resolve("hello-1.0.1.jar");
        writeBundle(v1, "org.fsp.itests.hello", "1.0.0");
        writeBundle(v2, "org.fsp.itests.hello", "1.0.1");

        FspProcesses.Result installed = FspProcesses.fsp(socket, "shell", "-c", "install " + v1.toUri());
        assertEquals(0, installed.exitCode(), installed.all());
        long id = bundleId("org.fsp.itests.hello");
        assertEquals(0, FspProcesses.fsp(socket, "shell", "-c", "start " + id).exitCode());
        FspProcesses.Result updated = FspProcesses.fsp(socket, "shell", "-c", "update " + id + " " + v2.toUri());
        assertEquals(0, updated.exitCode(), updated.all());
        assertEquals(0, FspProcesses.fsp(socket, "shell", "-c", "refresh " + id).exitCode());
        String lb = FspProcesses.fsp(socket, "shell", "-c", "lb -s").stdout();
        assertTrue(
                Pattern.compile("\\|Active\\s*\\|.*\\|org\\.fsp\\.itests\\.hello \\(1\\.0\\.1\\)")
                        .matcher(lb)
                        .find(),
                lb);
    }

    @Test
    @Order(9)
    void shouldUpdateAnFspLayerBundleLive() throws Exception {
        long id = bundleId("org.fsp.sched-polling");
        Path original = FspBundleSet.shippedJar("sched-polling-");
        Path newer = work.resolve("sched-polling-next.jar");
        copyWithVersion(original, newer, "0.1.1.next");
        assertEquals(
                0,
                FspProcesses.fsp(socket, "shell", "-c", "update " + id + " " + newer.toUri())
                        .exitCode());
        assertEquals(0, FspProcesses.fsp(socket, "shell", "-c", "refresh " + id).exitCode());
        String lb = FspProcesses.fsp(socket, "shell", "-c", "lb -s").stdout();
        assertTrue(
                Pattern.compile("\\|Active\\s*\\|.*\\|org\\.fsp\\.sched-polling \\(0\\.1\\.1\\.next\\)")
                        .matcher(lb)
                        .find(),
                lb);
    }

    @Test
    @Order(10)
    void fileCommandsShouldWorkThroughFsLib() throws Exception {
        byte[] data = new byte[3 * 1024 * 1024 + 123];
        new java.util.Random(42).nextBytes(data);
        Path local = work.resolve("blob.bin");
        Path back = work.resolve("blob.back");
        Files.write(local, data);
        assertEquals(0, FspProcesses.fsp(socket, "mkdir", "-p", "/it/sub").exitCode());
        FspProcesses.Result put = FspProcesses.fsp(socket, "put", local.toString(), "/it/sub/blob");
        assertEquals(0, put.exitCode(), put.all());
        assertEquals(
                0, FspProcesses.fsp(socket, "mv", "/it/sub/blob", "/it/blob").exitCode());
        FspProcesses.Result get = FspProcesses.fsp(socket, "get", "/it/blob", back.toString());
        assertEquals(0, get.exitCode(), get.all());
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(back)), "bytes differ after put, mv, get");

        FspProcesses.Result ls = FspProcesses.fsp(socket, "ls", "-l", "/it");
        assertTrue(ls.stdout().contains(" " + data.length + " ") && ls.stdout().contains("blob"), ls.all());
        FspProcesses.Result stat = FspProcesses.fsp(socket, "stat", "/it/blob");
        assertTrue(stat.stdout().contains("Size: " + data.length), stat.all());
        assertTrue(FspProcesses.fsp(socket, "df").stdout().contains("inodes"));

        FspProcesses.Result missing = FspProcesses.fsp(socket, "cat", "/it/missing");
        assertEquals(1, missing.exitCode(), missing.all());
        assertTrue(missing.stderr().contains("ENOENT"), missing.all());
        FspProcesses.Result dir = FspProcesses.fsp(socket, "rm", "/it");
        assertEquals(1, dir.exitCode(), dir.all());
        assertEquals(0, FspProcesses.fsp(socket, "rm", "-r", "/it").exitCode());
        assertFalse(FspProcesses.fsp(socket, "ls", "/").stdout().contains("it"));
    }

    @Test
    @Order(11)
    void shouldRefuseToMountACorruptImageAndLeaveItUntouched() throws Exception {
        Path img = work.resolve("corrupt.img");
        Path sock = work.resolve("corrupt.sock");
        Path corruptLog = work.resolve("corrupt.out");
        FspProcesses.Result mkfs = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "mkfs", img.toString(), "--size", "64M"),
                Duration.ofSeconds(60));
        assertEquals(0, mkfs.exitCode(), mkfs.all());
        try (var ch = java.nio.channels.FileChannel.open(img, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef}), 100);
        }
        byte[] before = Files.readAllBytes(img);

        Process d = FspProcesses.startDaemon(corruptLog, "--device", img.toString(), "--socket", sock.toString());
        try {
            FspProcesses.awaitReady(d, sock, corruptLog, START_TIMEOUT);
            String status = FspProcesses.fsp(sock, "shell", "-c", "fsp:status").stdout();
            assertTrue(status.contains("NOT MOUNTED") && status.contains("superblock"), status);
            FspProcesses.Result ls = FspProcesses.fsp(sock, "ls", "/");
            assertEquals(1, ls.exitCode(), ls.all());
            assertEquals(0, FspProcesses.fsp(sock, "shell", "-c", "shutdown").exitCode());
            assertTrue(d.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            d.destroyForcibly().waitFor();
        }
        assertTrue(
                java.util.Arrays.equals(before, Files.readAllBytes(img)), "nothing may be written to a corrupt image");
        assertTrue(Files.readString(corruptLog).contains("refusing to mount"), Files.readString(corruptLog));
        assertFalse(
                Files.readString(corruptLog).contains("\tat org.apache.felix"),
                "no stack trace for an expected refusal");
    }

    @Test
    @Order(12)
    void shouldRecoverTheStaleSocketOfAKilledDaemon() throws Exception {
        Path sock = work.resolve("killed.sock");
        Path dev = work.resolve("killed.img");
        Path firstLog = work.resolve("killed-1.out");
        Process first = FspProcesses.startDaemon(
                firstLog, "--device", dev.toString(), "--size", "64M", "--socket", sock.toString());
        Path local = work.resolve("durable.txt");
        Files.writeString(local, "put reports success only once this is on the device\n");
        try {
            FspProcesses.awaitReady(first, sock, firstLog, START_TIMEOUT);
            FspProcesses.Result put = FspProcesses.fsp(sock, "put", local.toString(), "/durable.txt");
            assertEquals(0, put.exitCode(), put.all());
        } finally {
            first.destroyForcibly().waitFor(); // SIGKILL right after put: no clean unmount, no flush on the way out
        }
        assertTrue(Files.exists(Path.of(sock + ".admin")), "a SIGKILLed daemon leaves its socket behind");

        Path secondLog = work.resolve("killed-2.out");
        Process second = FspProcesses.startDaemon(secondLog, "--device", dev.toString(), "--socket", sock.toString());
        try {
            FspProcesses.awaitReady(second, sock, secondLog, START_TIMEOUT);
            assertTrue(Files.readString(secondLog).contains("removed stale socket"), Files.readString(secondLog));
            FspProcesses.Result cat = FspProcesses.fsp(sock, "cat", "/durable.txt");
            assertEquals(
                    Files.readString(local), cat.stdout(), "a put file survives SIGKILL of the daemon: " + cat.all());
            FspProcesses.Result bye = FspProcesses.fsp(sock, "shell", "-c", "shutdown");
            assertEquals(0, bye.exitCode(), bye.all());
            assertTrue(second.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "fspd still running after shutdown");
            assertEquals(0, second.exitValue(), Files.readString(secondLog));
        } finally {
            second.destroyForcibly().waitFor();
        }
    }

    @Test
    @Order(13)
    void shouldStopCleanlyOnSigterm() throws Exception {
        assertEquals(0, FspProcesses.stop(daemon, Duration.ofSeconds(60)), Files.readString(log));
        assertTrue(Files.readString(log).contains("fspd: stopped"), Files.readString(log));
        assertFalse(Files.exists(Path.of(socket + ".admin")), "admin socket removed on a clean stop");
        FspProcesses.Result fsck = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", device.toString()), Duration.ofSeconds(60));
        assertEquals(0, fsck.exitCode(), "the image is consistent after a clean stop:\n" + fsck.all());
        FspProcesses.Result repair = FspProcesses.run(
                List.of(FspProcesses.bin("fsp").toString(), "fsck", "--repair", device.toString()),
                Duration.ofSeconds(60));
        assertEquals(0, repair.exitCode(), "nothing to repair after a clean stop:\n" + repair.all());
    }

    private static long bundleId(String symbolicName) throws Exception {
        String lb = FspProcesses.fsp(socket, "shell", "-c", "lb -s").stdout();
        Matcher m = Pattern.compile("(?m)^\\s*(\\d+)\\|.*\\|" + Pattern.quote(symbolicName) + " \\(")
                .matcher(lb);
        assertTrue(m.find(), symbolicName + " not in:\n" + lb);
        return Long.parseLong(m.group(1));
    }

    /** A minimal bundle: a manifest and nothing else, enough to install, start, update and refresh. */
    private static void writeBundle(Path jar, String symbolicName, String version) throws IOException {
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", symbolicName);
        a.putValue("Bundle-Version", version);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
            out.putNextEntry(new JarEntry("README.txt"));
            out.write("an FSP integration-test bundle\n".getBytes());
            out.closeEntry();
        }
    }

    /** Copies a bundle jar with a new Bundle-Version, as a rebuilt bundle would have. */
    private static void copyWithVersion(Path from, Path to, String version) throws IOException {
        try (JarFile in = new JarFile(from.toFile())) {
            Manifest mf = new Manifest(in.getManifest());
            mf.getMainAttributes().putValue("Bundle-Version", version);
            try (OutputStream os = Files.newOutputStream(to);
                    JarOutputStream out = new JarOutputStream(os, mf)) {
                for (JarEntry e : java.util.Collections.list(in.entries())) {
                    if (e.getName().equals(JarFile.MANIFEST_NAME)) {
                        continue;
                    }
                    out.putNextEntry(new JarEntry(e.getName()));
                    in.getInputStream(e).transferTo(out);
                    out.closeEntry();
                }
            }
        }
    }
}
