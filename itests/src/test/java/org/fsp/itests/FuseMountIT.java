package org.fsp.itests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.fsp.testing.RandomNioOperations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Programs that are not Java on FSP through its FUSE mount: the real {@code bin/fspd --mount DIR} (RAM device), then
 * ordinary programs run in the mount as a user would (coreutils, tar, git, make and cc, sqlite3, rsync, a Python
 * program writing through an mmap), the same as an unprivileged uid with its permission errors, {@code fsp:mount}
 * naming the transport, and a mount left by a SIGKILLed daemon cleaned up at the next start, with no thread of it
 * left hanging. It runs with the classic transport ({@code /dev/fuse} read/write); {@link FuseMountUringIT} runs the
 * same with FUSE-over-io_uring forced.
 *
 * <p>Needs root and {@code /dev/fuse} (mount(2) of a FUSE file system); without them every test is skipped with a
 * message that says so. Programs that are not installed skip their own test only ({@code .ci/run} installs them).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FuseMountIT {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration PROGRAM_TIMEOUT = Duration.ofSeconds(240);
    /** The unprivileged user the permission tests run as (nobody). */
    private static final String NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups";

    /** The transport this class forces (fsp.fuse.transport); a subclass declares its own. */
    static final String TRANSPORT = "classic";

    private static String transport;
    private static Path work;
    private static Path mnt;
    private static Path socket;
    private static Path log;
    private static Process daemon;
    private static String skip;

    @BeforeAll
    static void mount(org.junit.jupiter.api.TestInfo info) throws Exception {
        Class<?> test = info.getTestClass().orElseThrow();
        transport = (String) test.getDeclaredField("TRANSPORT").get(null);
        skip = skipReason();
        if (skip != null) {
            System.err.println(test.getSimpleName() + " " + skip);
            return;
        }
        work = FspBundleSet.workDirectory("fuse-" + transport);
        mnt = Files.createDirectories(work.resolve("mnt"));
        socket = work.resolve("fsp.sock");
        log = work.resolve("fspd.out");
        startDaemon();
    }

    private static void startDaemon() throws Exception {
        daemon = FspProcesses.startDaemonWithJvmOptions(
                log,
                "-Dfsp.fuse.transport=" + transport,
                "--driver",
                "ram",
                "--size",
                "512M",
                "--socket",
                socket.toString(),
                "--mount",
                mnt.toString());
        FspProcesses.awaitReady(daemon, socket, log, START_TIMEOUT);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!mounted() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(mounted(), "fspd --mount did not mount " + mnt + ":\n" + Files.readString(log));
    }

    private static String skipReason() throws Exception {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (!Integer.valueOf(0).equals(uid)) {
            return "skipped: mounting FUSE needs root (uid is " + uid + ")";
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return "skipped: this machine has no /dev/fuse";
        }
        if (transport.equals("uring")) {
            Path enable = Path.of("/sys/module/fuse/parameters/enable_uring");
            if (!Files.exists(enable)) {
                return "skipped: this kernel has no FUSE-over-io_uring";
            }
            if (!Files.readString(enable).trim().equals("Y")) {
                // Root may switch it on; .ci/run does so too, and nothing turns it off again.
                Files.writeString(enable, "Y");
            }
        }
        return null;
    }

    private static boolean mounted() throws Exception {
        return Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + mnt + " ")
                && Files.readString(Path.of("/proc/mounts")).contains(mnt + " fuse.fsp ");
    }

    @AfterAll
    static void unmount() throws Exception {
        if (daemon == null) {
            return;
        }
        if (daemon.isAlive()) {
            assertEquals(0, FspProcesses.stop(daemon, Duration.ofSeconds(60)), "fspd exit code after SIGTERM");
        }
        assertFalse(mounted(), "SIGTERM unmounts " + mnt);
    }

    /** Runs {@code script} with bash in the mount; fails with its output unless it exits 0. */
    private static String sh(String script) throws Exception {
        FspProcesses.Result r = FspProcesses.run(List.of("bash", "-ec", "cd " + mnt + "\n" + script), PROGRAM_TIMEOUT);
        assertEquals(0, r.exitCode(), script + "\n" + r.all());
        return r.stdout();
    }

    private static void assumeMounted() {
        assumeTrue(skip == null, skip);
    }

    private static void assumeInstalled(String program) throws Exception {
        assumeMounted();
        boolean there = FspProcesses.run(List.of("sh", "-c", "command -v " + program), Duration.ofSeconds(10))
                        .exitCode()
                == 0;
        if (!there) {
            System.err.println("FuseMountIT: skipped a test: " + program + " is not installed (.ci/run installs it)");
        }
        assumeTrue(there, program + " is not installed");
    }

    @Test
    @Order(1)
    void shouldReportTheMountAndItsTransportInFspMount() throws Exception {
        assumeMounted();
        FspProcesses.Result r = FspProcesses.fsp(socket, "shell", "-c", "fsp:mount");
        assertEquals(0, r.exitCode(), r.all());
        assertTrue(r.stdout().contains(mnt + ": mounted"), r.all());
        if (transport.equals("uring")) {
            assertTrue(
                    r.stdout().contains("transport: io_uring (FUSE-over-io_uring), ")
                            && r.stdout().contains(" CPU queues, each served by "),
                    r.all());
        } else {
            assertTrue(r.stdout().contains("transport: /dev/fuse read/write, 4 channels"), r.all());
        }
        assertTrue(r.stdout().matches("(?s).*protocol:\\s+7\\.3\\d.*"), r.all());
    }

    @Test
    @Order(2)
    void shouldRunCoreutilsThroughTheMount() throws Exception {
        assumeMounted();
        String out = sh(
                """
                mkdir -p a/b/c
                echo hello > a/b/c/f
                cat a/b/c/f
                mv a/b a/moved
                cat a/moved/c/f
                ls a
                ln -s moved/c/f a/link
                cat a/link
                readlink a/link
                ln a/moved/c/f a/hard
                stat -c %h a/hard
                TZ=UTC touch -d '2001-02-03 04:05:06' a/hard
                stat -c %Y a/moved/c/f
                truncate -s 3 a/hard
                cat a/moved/c/f; echo
                echo one > a/x; echo two > a/y
                python3 -c 'import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); AT = -100
                for flags in (2, 1):
                    r = libc.renameat2(AT, b"a/x", AT, b"a/y", flags)
                    print(r if r == 0 else os.strerror(ctypes.get_errno()))'
                cat a/x a/y
                rm -r a
                test ! -e a && echo gone
                """);
        assertEquals(
                List.of(
                        "hello",
                        "hello",
                        "moved",
                        "hello",
                        "moved/c/f",
                        "2",
                        "981173106",
                        "hel",
                        "0",
                        "File exists",
                        "two",
                        "one",
                        "gone"),
                out.lines().toList());
    }

    @Test
    @Order(3)
    void shouldExtractATarThatComparesEqualToItsSource() throws Exception {
        assumeInstalled("tar");
        Path source = Path.of("..").toAbsolutePath().normalize().resolve("bundles");
        sh("tar -C " + source + " -cf " + work.resolve("src.tar") + " fs-core/src ipc-shm/src\n"
                + "mkdir untar\n"
                + "tar -C untar -xf " + work.resolve("src.tar") + "\n"
                + "diff -r " + source.resolve("fs-core/src") + " untar/fs-core/src\n"
                + "diff -r " + source.resolve("ipc-shm/src") + " untar/ipc-shm/src\n");
    }

    @Test
    @Order(4)
    void shouldCommitCloneAndFsckAGitRepository() throws Exception {
        assumeInstalled("git");
        String out = sh(
                """
                git init -q repo
                cd repo
                git config user.email it@fsp
                git config user.name FuseMountIT
                for i in $(seq 1 50); do echo "line $i" > file$i.txt; done
                git add -A
                git commit -qm first
                echo more >> file1.txt
                git commit -qam second
                git fsck --full --strict
                cd ..
                git clone -q repo clone
                cd clone
                git fsck --full --strict
                git log --format=%s
                cat file1.txt
                """);
        assertTrue(out.endsWith("second\nfirst\nline 1\nmore\n"), out);
    }

    @Test
    @Order(5)
    void shouldBuildACProgramWithMake() throws Exception {
        assumeInstalled("make");
        assumeInstalled("cc");
        String out = sh(
                """
                mkdir cproj && cd cproj
                cat > main.c <<'EOF'
                #include <stdio.h>
                int twice(int);
                int main(void) { printf("%d\\n", twice(21)); return 0; }
                EOF
                echo 'int twice(int x) { return 2 * x; }' > twice.c
                printf 'prog: main.o twice.o\\n\\tcc -o prog main.o twice.o\\n%%.o: %%.c\\n\\tcc -c $<\\n' > Makefile
                make -s
                ./prog
                make -s -q prog && echo up-to-date
                """);
        assertEquals(List.of("42", "up-to-date"), out.lines().toList());
    }

    @Test
    @Order(6)
    void shouldKeepSqliteTransactionsAndPassItsIntegrityCheck() throws Exception {
        assumeInstalled("sqlite3");
        String out = sh(
                """
                sqlite3 db.sqlite "create table t(k integer primary key, v text);"
                sqlite3 db.sqlite "begin; $(for i in $(seq 1 500); do printf "insert into t(v) values('v%s');" $i; done) commit;"
                sqlite3 db.sqlite "begin; delete from t; rollback;"
                sqlite3 db.sqlite "pragma journal_mode=wal;" >/dev/null
                sqlite3 db.sqlite "begin; update t set v = 'w' || k where k <= 100; commit;"
                sqlite3 db.sqlite "select count(*), sum(v like 'w%') from t; pragma integrity_check;"
                """);
        assertEquals(List.of("500|100", "ok"), out.lines().toList());
    }

    @Test
    @Order(7)
    void shouldRoundTripATreeWithRsync() throws Exception {
        assumeInstalled("rsync");
        Path source = Path.of("..").toAbsolutePath().normalize().resolve("bundles/fs-api");
        Path back = work.resolve("rsync-back");
        sh("rsync -a " + source + "/ rs/\n"
                + "rsync -a rs/ " + back + "/\n"
                + "diff -r " + source + " " + back + "\n"
                + "rsync -a --checksum --itemize-changes " + source + "/ rs/ | (! grep .)\n");
    }

    @Test
    @Order(8)
    void shouldSeeWritesMadeThroughAnMmap() throws Exception {
        assumeInstalled("python3");
        String out = sh(
                """
                python3 - <<'EOF'
                import mmap, os
                with open("mapped.bin", "wb") as f:
                    f.write(b"\\0" * 3 * 4096)
                with open("mapped.bin", "r+b") as f:
                    m = mmap.mmap(f.fileno(), 0)
                    m[5000:5005] = b"fsp!!"
                    m.flush()
                    m.close()
                fd = os.open("mapped.bin", os.O_RDONLY)
                print(os.pread(fd, 5, 5000).decode())
                os.close(fd)
                EOF
                cmp -n 5 -i 5000:0 mapped.bin <(printf 'fsp!!') && echo same
                """);
        assertEquals(List.of("fsp!!", "same"), out.lines().toList());
    }

    @Test
    @Order(8)
    void shouldSeeRenamesRemovalsAndNewDirectoriesOfAnFsLibClientAtOnce() throws Exception {
        assumeMounted();
        // The kernel caches these names and attributes for 30 s (entryTimeoutMillis, attrTimeoutMillis).
        sh("mkdir -p fresh/sub && echo one > fresh/a && echo two > fresh/b && echo three > fresh/sub/x\n"
                + "cat fresh/a fresh/b fresh/sub/x > /dev/null && stat -c %h fresh > /dev/null\n"
                // A miss the kernel keeps as a negative entry, until the FS Lib client's mkdir drops it.
                + "test -e fresh/new || echo new-absent\n");
        for (String[] cmd : List.of(
                new String[] {"mv", "/fresh/a", "/fresh/c"},
                new String[] {"mv", "/fresh/sub", "/fresh/moved"},
                new String[] {"rm", "/fresh/b"},
                new String[] {"mkdir", "/fresh/new"})) {
            FspProcesses.Result r = FspProcesses.fsp(socket, cmd);
            assertEquals(0, r.exitCode(), String.join(" ", cmd) + "\n" + r.all());
        }
        String out = sh("test -e fresh/a && echo a-cached || echo a-gone\n"
                + "cat fresh/c\n"
                + "test -e fresh/b && echo b-cached || echo b-gone\n"
                + "cat fresh/moved/x\n"
                + "test -e fresh/sub/x && echo sub-cached || echo sub-gone\n"
                + "stat -c %h fresh\n"
                + "test -d fresh/new && echo new-seen || echo new-still-absent\n"
                + "ls fresh | tr '\\n' ' '; echo\n");
        assertEquals(
                List.of("a-gone", "one", "b-gone", "three", "sub-gone", "4", "new-seen", "c moved new "),
                out.lines().toList());
    }

    @Test
    @Order(8)
    void shouldKeepExtendedAttributesWithLinuxsErrnos() throws Exception {
        assumeInstalled("python3");
        assumeInstalled("setpriv");
        String out = sh("echo data > xa && chmod 644 xa\n"
                + "python3 - <<'EOF'\n"
                + "import errno, os\n"
                + "os.setxattr('xa', 'user.mime', b'text/plain')\n"
                + "os.setxattr('xa', 'user.empty', b'')\n"
                + "os.setxattr('xa', 'trusted.t', b'root only')\n"
                + "print(os.getxattr('xa', 'user.mime').decode())\n"
                + "print(sorted(os.listxattr('xa')))\n"
                + "def err(f):\n"
                + "    try:\n"
                + "        f()\n"
                + "        return 'ok'\n"
                + "    except OSError as e:\n"
                + "        return errno.errorcode[e.errno]\n"
                + "print(err(lambda: os.getxattr('xa', 'user.none')))\n"
                + "print(err(lambda: os.setxattr('xa', 'user.mime', b'x', os.XATTR_CREATE)))\n"
                + "print(err(lambda: os.setxattr('xa', 'user.new', b'x', os.XATTR_REPLACE)))\n"
                + "print(err(lambda: os.setxattr('xa', 'user.big', b'x' * 5000)))\n"
                + "print(err(lambda: os.getxattr('xa', 'system.posix_acl_access')))\n"
                + "os.removexattr('xa', 'user.empty')\n"
                + "print(sorted(os.listxattr('xa')))\n"
                + "EOF\n"
                // A system python: a root-only interpreter (pyenv's shims under /root) is not one nobody can run.
                + "PY=$(command -v /usr/bin/python3 || command -v python3)\n"
                + NOBODY + " $PY -c \"import os, errno\n"
                + "def err(f):\n"
                + "    try:\n"
                + "        f()\n"
                + "        return 'ok'\n"
                + "    except OSError as e:\n"
                + "        return errno.errorcode[e.errno]\n"
                + "print(os.getxattr('xa', 'user.mime').decode(), sorted(os.listxattr('xa')))\n"
                + "print(err(lambda: os.setxattr('xa', 'user.x', b'1')), err(lambda: os.getxattr('xa', 'trusted.t')))\n"
                + "\"\n");
        assertEquals(
                List.of(
                        "text/plain",
                        "['trusted.t', 'user.empty', 'user.mime']",
                        "ENODATA",
                        "EEXIST",
                        "ENODATA",
                        "ENOSPC",
                        // Python names errno 95 ENOTSUP (EOPNOTSUPP on Linux, the same number).
                        "ENOTSUP",
                        "['trusted.t', 'user.mime']",
                        "text/plain ['user.mime']",
                        "EACCES ENODATA"),
                out.lines().toList());
    }

    @Test
    @Order(8)
    void shouldHoldPosixAndFlockLocksInFsCoreBetweenProcesses() throws Exception {
        assumeInstalled("python3");
        String out = sh(
                """
                echo data > locked
                python3 - <<'EOF'
                import fcntl, os, subprocess, sys, time
                fd = os.open("locked", os.O_RDWR)
                fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
                probe = "import fcntl, os\\nfd = os.open('locked', os.O_RDWR)\\n"
                def other(code):
                    return subprocess.run([sys.executable, "-c", probe + code], capture_output=True, text=True).stdout.strip()
                print(other("try:\\n    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)\\n    print('got it')\\nexcept OSError as e:\\n    print('busy', e.errno in (11, 13))"))
                print(other("fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 20)\\nprint('other bytes free')"))
                waiter = subprocess.Popen([sys.executable, "-c", probe + "fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)\\nprint('waited')"], stdout=subprocess.PIPE, text=True)
                time.sleep(0.5)
                print('still waiting' if waiter.poll() is None else 'did not wait')
                os.close(fd)
                print(waiter.communicate(timeout=30)[0].strip())
                f2 = os.open("locked", os.O_RDWR)
                fcntl.flock(f2, fcntl.LOCK_EX)
                print(other("try:\\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\\n    print('got it')\\nexcept OSError as e:\\n    print('flock busy', e.errno)"))
                os.close(f2)
                print(other("fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\\nprint('flock free')"))
                EOF
                """);
        assertEquals(
                List.of("busy True", "other bytes free", "still waiting", "waited", "flock busy 11", "flock free"),
                out.lines().toList());
    }

    @Test
    @Order(8)
    void shouldSeekHolesPreallocateAndCopyFileRanges() throws Exception {
        assumeInstalled("python3");
        String out = sh(
                """
                python3 - <<'EOF'
                import os
                fd = os.open("sparse", os.O_RDWR | os.O_CREAT, 0o644)
                os.pwrite(fd, b"x" * 10, 3 * 4096)
                os.ftruncate(fd, 8 * 4096)
                print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 3 * 4096, os.SEEK_HOLE))
                os.posix_fallocate(fd, 0, 10 * 4096)
                print(os.fstat(fd).st_size, os.lseek(fd, 0, os.SEEK_HOLE))
                out = os.open("copy", os.O_RDWR | os.O_CREAT, 0o644)
                print(os.copy_file_range(fd, out, 20, 3 * 4096, 0))
                print(os.pread(out, 10, 0).decode())
                os.close(out)
                os.close(fd)
                EOF
                """);
        assertEquals(
                List.of((3 * 4096) + " " + (4 * 4096), (10 * 4096) + " " + (10 * 4096), "20", "xxxxxxxxxx"),
                out.lines().toList());
    }

    @Test
    @Order(8)
    void shouldMatchTmpfsOperationByOperationThroughTheMount() throws Exception {
        assumeMounted();
        // fs-core's DifferentialTest's sequences, replayed by this JVM through the kernel on the mount and on tmpfs.
        Path tmpfs = Files.createTempDirectory(Path.of("/dev/shm"), "fsp-diff-");
        try {
            for (int round = 0; round < 3; round++) {
                long seed = 4242L + round;
                Path onTmpfs =
                        Files.createDirectories(tmpfs.resolve("round" + round).resolve("top"));
                Path onMount = Files.createDirectories(
                        mnt.resolve("diff").resolve("round" + round).resolve("top"));
                Random rnd = new Random(seed);
                for (int i = 0; i < 600; i++) {
                    RandomNioOperations.Op op = RandomNioOperations.next(rnd);
                    String expected = RandomNioOperations.outcome(() -> RandomNioOperations.apply(onTmpfs, op));
                    String got = RandomNioOperations.outcome(() -> RandomNioOperations.apply(onMount, op));
                    assertEquals(expected, got, "seed " + seed + " op " + i + ": " + op.describe());
                }
                assertEquals(
                        RandomNioOperations.tree(onTmpfs),
                        RandomNioOperations.tree(onMount),
                        "final tree, seed " + seed);
            }
        } finally {
            FspProcesses.run(List.of("rm", "-rf", tmpfs.toString()), PROGRAM_TIMEOUT);
        }
    }

    @Test
    @Order(8)
    void shouldKeepFifosSocketsDeviceNodesAndASymlinksOwnOwnerAndTimes() throws Exception {
        assumeInstalled("python3");
        assumeInstalled("setpriv");
        String out = sh(
                """
                mkdir -p special && cd special && rm -f pipe sock chr blk link
                mkfifo pipe
                (echo through-the-pipe > pipe &)
                cat pipe
                python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
                mknod chr c 1 3
                mknod blk b 8 1
                stat -c '%n %F %t:%T' pipe sock chr blk
                (cat chr 2>&1 || true)
                ln -s pipe link
                chown -h 65534:65534 link
                touch -h -d '2001-02-03 04:05:06 UTC' link
                stat -c '%n %u %g %Y' link pipe | awk '{print $1, $2, $3, ($4 == 981173106)}'
                mkdir -p -m 1777 open
                (NOBODY mknod open/dev c 1 3 2>&1 || true)
                NOBODY mkfifo open/nobodys
                stat -c '%U %F' open/nobodys
                """
                        .replace("NOBODY", NOBODY));
        List<String> lines = out.lines().toList();
        assertEquals("through-the-pipe", lines.get(0), out);
        assertEquals("pipe fifo 0:0", lines.get(1), out);
        assertEquals("sock socket 0:0", lines.get(2), out);
        assertEquals("chr character special file 1:3", lines.get(3), out);
        assertEquals("blk block special file 8:1", lines.get(4), out);
        // The mount is nodev (as every FUSE mount by default): a device node is kept, never opened.
        assertTrue(lines.get(5).contains("Permission denied"), out);
        assertEquals("link 65534 65534 1", lines.get(6), out);
        assertEquals("pipe 0 0 0", lines.get(7), out);
        assertTrue(lines.get(8).contains("Operation not permitted"), out);
        assertEquals("nobody fifo", lines.get(9), out);
        assertEquals(10, lines.size(), out);
    }

    @Test
    @Order(9)
    void shouldRefuseAnUnprivilegedUserWhatPermissionsForbid() throws Exception {
        assumeInstalled("setpriv");
        String out = sh("mkdir -p shared && chmod 1777 shared\n"
                + "echo secret > private && chmod 600 private\n"
                + "touch shared/roots\n"
                + "(" + NOBODY + " cat private 2>&1 || true)\n"
                + "(" + NOBODY + " sh -c 'echo x > created-by-nobody' 2>&1 || true)\n"
                + "(" + NOBODY + " rm -f shared/roots 2>&1 || true)\n"
                + "(" + NOBODY + " chmod 666 private 2>&1 || true)\n"
                + NOBODY + " sh -c 'echo mine > shared/nobodys && cat shared/nobodys'\n"
                + "stat -c '%U %a' shared/nobodys\n"
                + "(" + NOBODY + " test -r private && echo readable || echo not-readable)\n"
                + "ls shared | sort | tr '\\n' ' '; echo\n");
        List<String> lines = out.lines().toList();
        assertEquals(8, lines.size(), out);
        assertTrue(lines.get(0).contains("Permission denied"), out);
        assertTrue(lines.get(1).contains("Permission denied"), out);
        assertTrue(lines.get(2).contains("Operation not permitted"), out);
        assertTrue(lines.get(3).contains("Operation not permitted"), out);
        assertEquals("mine", lines.get(4));
        assertEquals("nobody 644", lines.get(5));
        assertEquals("not-readable", lines.get(6));
        assertEquals("nobodys roots ", lines.get(7));
    }

    @Test
    @Order(10)
    void shouldMountAndUnmountASecondDirectoryFromTheCommandLine() throws Exception {
        assumeMounted();
        Path second = Files.createDirectories(work.resolve("second"));
        FspProcesses.Result m = FspProcesses.fsp(socket, "mount", second.toString());
        assertEquals(0, m.exitCode(), m.all());
        assertTrue(m.stdout().contains("mounted FSP at " + second), m.all());
        sh("echo both > shared-by-mounts");
        assertEquals("both\n", Files.readString(second.resolve("shared-by-mounts")));
        FspProcesses.Result u = FspProcesses.fsp(socket, "umount", second.toString());
        assertEquals(0, u.exitCode(), u.all());
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + second + " "));
        FspProcesses.Result again = FspProcesses.fsp(socket, "umount", second.toString());
        assertEquals(1, again.exitCode(), again.all());
        assertTrue(again.all().contains("not mounted at " + second), again.all());
    }

    @Test
    @Order(11)
    void shouldKeepTheMountAcrossLiveUpgradesOfIpcFuseAndFsCore() throws Exception {
        assumeInstalled("python3");
        Path writerLog = work.resolve("writer.out");
        // A program writing and reading back through the mount the whole time; any error ends it with a non-zero code.
        Process writer = new ProcessBuilder(
                        "bash",
                        "-ec",
                        "cd " + mnt + "; mkdir -p live; i=0; while [ ! -e " + work.resolve("stop-writer") + " ]; do"
                                + " i=$((i+1)); echo \"record $i\" > live/f$((i % 50)); echo \"record $i\" >> live/log;"
                                + " grep -q \"record $i\" live/f$((i % 50)); done; echo wrote $i")
                .redirectErrorStream(true)
                .redirectOutput(writerLog.toFile())
                .start();
        // A program holds a POSIX lock and another waits for it (a SETLKW that ipc-fuse answers late) across the
        // first upgrade; the holder lets go between the two, and the waiter must get the lock from the new version.
        Path release = work.resolve("release-lock");
        String lockHead =
                "import fcntl, os, sys, time\nfd = os.open('" + mnt + "/live-lock', os.O_RDWR | os.O_CREAT)\n";
        Process holder = new ProcessBuilder(
                        "python3",
                        "-c",
                        lockHead + "fcntl.lockf(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\n"
                                + "while not os.path.exists('" + release + "'): time.sleep(0.05)\n")
                .redirectErrorStream(true)
                .start();
        assertEquals(
                "held", new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream())).readLine());
        Process waiter = new ProcessBuilder(
                        "python3", "-c", lockHead + "fcntl.lockf(fd, fcntl.LOCK_EX)\nprint('waited')\n")
                .redirectErrorStream(true)
                .start();
        Thread.sleep(500);
        assertTrue(waiter.isAlive(), "the second program waits for the lock");
        Path fuseJar = FspBundleSet.shippedJar("ipc-fuse-");
        // Twice: over io_uring the second version hands on ring entries it took over from the first.
        for (int i = 0; i < 2; i++) {
            FspProcesses.Result up = FspProcesses.fsp(socket, "shell", "-c", "fsp:upgrade ipc-fuse " + fuseJar.toUri());
            assertEquals(0, up.exitCode(), up.all());
            Thread.sleep(500);
            if (i == 0) {
                assertTrue(waiter.isAlive(), "the waiter still waits after the upgrade");
                Files.createFile(release);
                assertTrue(holder.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the holder lets go");
            }
        }
        try {
            assertTrue(waiter.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the waiter got the lock");
            assertEquals("waited", new String(waiter.getInputStream().readAllBytes()).trim());
        } finally {
            holder.destroyForcibly();
            waiter.destroyForcibly();
        }
        Path fsJar = FspBundleSet.distribution().resolve("upgrades/fs-core-provenance.jar");
        FspProcesses.Result fsUp = FspProcesses.fsp(socket, "shell", "-c", "fsp:upgrade fs-core " + fsJar.toUri());
        assertEquals(0, fsUp.exitCode(), fsUp.all());
        Thread.sleep(500);
        Files.createFile(work.resolve("stop-writer"));
        assertTrue(writer.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the writer stops");
        String wrote = Files.readString(writerLog);
        assertEquals(0, writer.exitValue(), "the program through the mount saw an error:\n" + wrote);
        assertTrue(wrote.startsWith("wrote "), wrote);
        assertTrue(mounted(), "the mount stayed");
        FspProcesses.Result m = FspProcesses.fsp(socket, "mount");
        assertTrue(m.stdout().contains(mnt + ": mounted"), m.all());
        int records = Integer.parseInt(wrote.trim().substring("wrote ".length()));
        assertEquals(records, Integer.parseInt(sh("wc -l < live/log").trim()), "every append is there once");
    }

    @Test
    @Order(12)
    void shouldCleanUpTheMountOfAKilledDaemonAtTheNextStart() throws Exception {
        assumeMounted();
        sh("echo before-kill > survivor");
        long pid = daemon.pid();
        daemon.destroyForcibly();
        assertTrue(daemon.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "a SIGKILLed fspd is reaped");
        HungTasks.assertGone(pid, Duration.ofSeconds(20));
        FspProcesses.Result dead = FspProcesses.run(List.of("ls", mnt.toString()), Duration.ofSeconds(20));
        // ENOTCONN; over io_uring the kernel may end the connection with ECONNABORTED instead.
        assertTrue(
                dead.all().contains("Transport endpoint is not connected")
                        || dead.all().contains("Software caused connection abort"),
                dead.all());
        HungTasks.assertNone(Duration.ofSeconds(10));
        startDaemon();
        assertTrue(
                Files.readString(Path.of(socket + ".d").resolve("fspd.log"))
                        .contains("removed the stale FSP mount at " + mnt),
                "the log says the stale mount was removed");
        sh("echo after-restart > fresh && cat fresh");
    }
}
