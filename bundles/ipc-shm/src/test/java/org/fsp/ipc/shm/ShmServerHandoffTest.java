package org.fsp.ipc.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.handoff.ChannelHandoff;
import org.fsp.api.sched.ThreadModel;
import org.fsp.client.FspClient;
import org.fsp.client.FspException;
import org.fsp.testing.ThreadPerAgentModelDouble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One server quiesces into a {@link ChannelHandoff} and the next adopts it, with clients in this JVM and in child JVMs
 * working all the while: no call fails, data stays right, handles stay valid, clients that connect or die during the
 * gap are served or cleaned up by the successor, and the predecessor's classes can be unloaded.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShmServerHandoffTest {

    @TempDir
    Path dir;

    HeapFileSystemDouble fs;
    Path socket;
    ShmServer server;

    @BeforeEach
    void start() throws Exception {
        fs = new HeapFileSystemDouble();
        socket = dir.resolve("fsp.sock");
        server = new ShmServer(fs, socket, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void shouldCarryClientsOverSeveralHandOversWithoutAFailedCall() throws Exception {
        byte[] kept = new byte[50_000];
        new Random(11).nextBytes(kept);
        ExecutorService pool = Executors.newCachedThreadPool();
        try (FspClient c = FspClient.connect(socket);
                ChildJvm churn = ChildJvm.start(ClientProcessMain.class, "churn", socket.toString(), "/churn", "6");
                ChildJvm victim = ChildJvm.start(ClientProcessMain.class, "loop", socket.toString(), "/victim")) {
            long written = c.open("/kept", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            assertEquals(kept.length, c.pwrite(written, 0, kept, 0, kept.length));
            long closed = c.open("/kept", OpenFlags.O_RDONLY, 0);
            c.close(closed);
            long reader = c.open("/kept", OpenFlags.O_RDONLY, 0);
            AtomicBoolean stopLoad = new AtomicBoolean();
            AtomicLong rounds = new AtomicLong();
            Future<?> load = pool.submit(() -> inProcessLoad(c, stopLoad, rounds));
            churn.awaitLine("READY", 30_000);
            victim.awaitLine("READY", 30_000);
            ShmServerTest.awaitTrue(() -> rounds.get() > 100);
            int handlesBeforeKill = fs.openHandles();

            for (int handOver = 0; handOver < 4; handOver++) {
                ChannelHandoff handoff = server.quiesce();
                assertEquals(handOver <= 1 ? 3 : 2, handoff.clients().size());
                Future<FspClient> late = null;
                if (handOver == 1) {
                    victim.kill();
                    late = pool.submit(() -> FspClient.connect(socket));
                }
                if (handOver == 1) {
                    Thread.sleep(300);
                }
                server = ShmServer.adopt(fs, handoff, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
                server.start();
                System.out.printf(
                        "hand-over %d: lanes unpolled %.3f ms%n", handOver, server.adoptionPauseNanos() / 1e6);
                if (handOver == 1) {
                    assertTrue(server.adoptionPauseNanos() >= TimeUnit.MILLISECONDS.toNanos(300));
                    try (FspClient connectedDuringGap = late.get(10, TimeUnit.SECONDS)) {
                        connectedDuringGap.writeAll("/late", "served by the successor".getBytes());
                        assertEquals("served by the successor", new String(connectedDuringGap.readAll("/late")));
                    }
                    ShmServerTest.awaitTrue(() -> server.clients().size() == 2);
                    ShmServerTest.awaitTrue(() -> server.clients().stream().noneMatch(i -> i.pid() == victim.pid()));
                    ShmServerTest.awaitTrue(() -> fs.openHandles() == handlesBeforeKill - 3);
                }
                long before = rounds.get();
                ShmServerTest.awaitTrue(() -> rounds.get() > before + 50);
            }

            assertEquals("DONE", churn.awaitLine("DONE", 60_000).substring(0, 4));
            assertEquals(0, churn.waitFor(30_000));
            stopLoad.set(true);
            load.get(30, TimeUnit.SECONDS);
            byte[] back = new byte[kept.length];
            assertEquals(kept.length, c.pread(reader, 0, back, 0, back.length));
            assertArrayEquals(kept, back);
            FileSystemException stale = assertThrows(FileSystemException.class, () -> c.fstat(closed));
            assertEquals(Errno.EBADF, ((FspException) stale).errno(), "a number closed before stays closed");
            c.close(reader);
            c.close(written);
        } finally {
            pool.shutdownNow();
        }
        ShmServerTest.awaitTrue(() -> server.clients().isEmpty() && fs.openHandles() == 0);
    }

    /** Writes and reads back its own blocks until told to stop; any failure or difference fails the test. */
    private static Void inProcessLoad(FspClient c, AtomicBoolean stop, AtomicLong rounds) throws Exception {
        long h = c.open("/in-process", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        byte[] block = new byte[4096];
        byte[] back = new byte[4096];
        Random random = new Random(5);
        while (!stop.get()) {
            random.nextBytes(block);
            long offset = (rounds.get() % 32) * block.length;
            assertEquals(block.length, c.pwrite(h, offset, block, 0, block.length));
            assertEquals(block.length, c.pread(h, offset, back, 0, back.length));
            assertArrayEquals(block, back);
            rounds.incrementAndGet();
        }
        c.close(h);
        return null;
    }

    /**
     * The servers run from classes of a class loader of their own each, as bundles' would, on a thread model: a fresh
     * one, then two that adopt in turn, then one of the usual classes. After each hand-over, nothing may hold the
     * predecessor's loader.
     */
    @Test
    void shouldLeaveNothingThatHoldsThePredecessorsClassLoader() throws Exception {
        server.close();
        ThreadPerAgentModelDouble model = new ThreadPerAgentModelDouble();
        try (FspClient c = FspClient.connect(startIsolated(null, model))) {
            long h = c.open("/f", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            c.pwrite(h, 0, "before".getBytes(), 0, 6);
            for (int generation = 0; generation < 3; generation++) {
                WeakReference<ClassLoader> previous = isolatedLoader;
                isolatedLoader = null;
                ChannelHandoff handoff = quiesceIsolated();
                if (generation < 2) {
                    startIsolated(handoff, model);
                } else {
                    server = ShmServer.adopt(fs, handoff, ShmServerConfig.DEFAULTS, model);
                    server.start();
                }
                handoff = null;
                c.pwrite(h, 6 + generation, "!".getBytes(), 0, 1);
                for (int i = 0; i < 20 && previous.get() != null; i++) {
                    System.gc();
                    Thread.sleep(100);
                }
                assertNull(previous.get(), "the class loader of server " + generation + " is still reachable");
            }
            byte[] back = new byte[9];
            c.pread(h, 0, back, 0, 9);
            assertEquals("before!!!", new String(back));
            c.close(h);
        }
        ShmServerTest.awaitTrue(() -> fs.openHandles() == 0);
    }

    private WeakReference<ClassLoader> isolatedLoader;
    private Object isolatedServer;

    /**
     * Starts a server whose org.fsp.ipc.shm classes come from a loader of their own, fresh or adopting
     * {@code handoff}, driven by {@code model}; returns its socket.
     */
    private Path startIsolated(ChannelHandoff handoff, ThreadModel model) throws Exception {
        URL classes = ShmServer.class.getProtectionDomain().getCodeSource().getLocation();
        ClassLoader own = new ChildFirstLoader(new URL[] {classes}, getClass().getClassLoader());
        Class<?> configType = own.loadClass(ShmServerConfig.class.getName());
        Class<?> serverType = own.loadClass(ShmServer.class.getName());
        assertTrue(serverType != ShmServer.class, "the isolated loader defines its own server class");
        Object config = configType.getField("DEFAULTS").get(null);
        Object s = handoff == null
                ? serverType
                        .getConstructor(FileSystemService.class, Path.class, configType, ThreadModel.class)
                        .newInstance(fs, socket, config, model)
                : serverType
                        .getMethod(
                                "adopt", FileSystemService.class, ChannelHandoff.class, configType, ThreadModel.class)
                        .invoke(null, fs, handoff, config, model);
        serverType.getMethod("start").invoke(s);
        isolatedServer = s;
        isolatedLoader = new WeakReference<>(own);
        return socket;
    }

    private ChannelHandoff quiesceIsolated() throws Exception {
        Method quiesce = isolatedServer.getClass().getMethod("quiesce");
        ChannelHandoff h = (ChannelHandoff) quiesce.invoke(isolatedServer);
        isolatedServer = null;
        return h;
    }

    /** Defines the org.fsp.ipc.shm classes itself and leaves everything else (fs-api, native-linux, JDK) to its parent. */
    private static final class ChildFirstLoader extends URLClassLoader {

        ChildFirstLoader(URL[] urls, ClassLoader parent) {
            super(urls, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                if (!name.startsWith("org.fsp.ipc.shm.")) {
                    return super.loadClass(name, resolve);
                }
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    c = findClass(name);
                }
                return c;
            }
        }

        @Override
        public InputStream getResourceAsStream(String name) {
            try {
                URL url = findResource(name);
                return url != null ? url.openStream() : super.getResourceAsStream(name);
            } catch (IOException e) {
                return null;
            }
        }
    }

    @Test
    void shouldKeepAllClientsAndTheirNumbersInTheHandOff() throws Exception {
        try (FspClient c = FspClient.connect(socket)) {
            long a = c.open("/a", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
            long b = c.open("/a", OpenFlags.O_RDONLY, 0);
            c.close(a);
            ChannelHandoff h = server.quiesce();
            assertEquals(1, h.clients().size());
            ChannelHandoff.Client client = h.clients().get(0);
            assertEquals(1, client.files().size());
            ChannelHandoff.ClientFile file = client.files().get(0);
            // FS Lib numbers handles itself (they outlive a server); the server's numbers are its table's.
            assertTrue(file.generation() > 0, "the open entry carries its generation");
            assertEquals(3, Arrays.stream(client.laneHeads()).sum(), Arrays.toString(client.laneHeads()));
            assertTrue(h.descriptors().contains(h.listenFd()));
            assertTrue(h.descriptors().contains(client.socketFd()));
            server = ShmServer.adopt(fs, h, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
            server.start();
            long again = c.open("/a", OpenFlags.O_RDONLY, 0);
            ChannelHandoff second = server.quiesce();
            ChannelHandoff.ClientFile reused = second.clients().get(0).files().stream()
                    .filter(f -> f.index() != file.index())
                    .findFirst()
                    .orElseThrow();
            assertTrue(
                    reused.generation() != client.fileGenerations()[reused.index()],
                    "the number closed before the hand-over is not given out again");
            server = ShmServer.adopt(fs, second, ShmServerConfig.DEFAULTS, new ThreadPerAgentModelDouble());
            server.start();
            assertTrue(again != a);
            assertEquals(0, c.fstat(b).size());
            assertEquals(1, server.clients().size());
            assertEquals(2, server.clients().get(0).openFiles());
        }
    }
}
