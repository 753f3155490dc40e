package org.fsp.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.sched.IdleStrategyKind;
import org.fsp.api.sched.ThreadModel;
import org.fsp.api.status.StatusContributor;
import org.fsp.client.FspClient;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.CoreOptions;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Swaps the thread model under client load in the booted distribution and checks that clients never noticed: client
 * JVMs ({@link SwapLoadClient}) and client threads in the framework (FS Lib installed as a bundle) write and read back
 * files through their shared-memory channels while the test changes the idle strategy and the worker count
 * {@value #SWAPS} times (some through the {@code fsp:sched} shell command) and updates and refreshes the sched-polling
 * bundle twice; then every byte written is read back and no request may have failed.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LiveSwapIT {

    private static final int SWAPS = 120;
    private static final int CLIENTS = 2;
    private static final int CLIENT_JVMS = 2;
    private static final int THREADS_PER_JVM = 2;
    private static final long WAIT_MILLIS = 20_000;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return OptionUtils.combine(
                FspBundleSet.options(FspBundleSet.workDirectory("live-swap"), "io_uring"),
                CoreOptions.bundle(
                        Path.of(System.getProperty("fsp.client.bundle")).toUri().toString()));
    }

    /** What one client thread wrote: the file, and the seed and length that regenerate its content. */
    private record Written(String path, long seed, int length) {}

    @Test
    public void clientsShouldNeverSeeAFailureWhileTheThreadModelIsSwapped() throws Exception {
        await(FileSystemService.class);
        awaitLaneWorkersOn(await(ThreadModel.class));
        Path socket = Path.of(context.getProperty("fsp.socket.path"));
        try (FspClient setup = FspClient.connect(socket)) {
            setup.mkdir("/live", 0755);
        }

        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Written> written = new ConcurrentLinkedQueue<>();
        AtomicLong requests = new AtomicLong();
        CountDownLatch connected = new CountDownLatch(CLIENTS);
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < CLIENTS; t++) {
            int id = t;
            clients.add(Thread.ofPlatform()
                    .name("live-swap-client-" + t)
                    .start(() -> runClient(socket, id, stop, connected, written, requests, failures)));
        }
        assertTrue("clients connected", connected.await(WAIT_MILLIS, TimeUnit.MILLISECONDS));
        List<LoadClientJvm> jvms = new ArrayList<>();
        for (int j = 0; j < CLIENT_JVMS; j++) {
            jvms.add(LoadClientJvm.start(
                    SwapLoadClient.class,
                    "client-jvm-" + j,
                    socket.toString(),
                    Integer.toString(j),
                    Integer.toString(THREADS_PER_JVM)));
        }
        for (LoadClientJvm jvm : jvms) {
            jvm.awaitLine("connected", 60_000);
        }

        CommandSession shell = shell();
        Random random = new Random(11);
        List<Long> pausesNanos = new ArrayList<>();
        for (int i = 0; i < SWAPS; i++) {
            ThreadModel model = await(ThreadModel.class);
            if (i == SWAPS / 3 || i == 2 * SWAPS / 3) {
                updateAndRefresh("org.fsp.sched-polling");
                awaitLaneWorkersOn(await(ThreadModel.class));
                continue;
            }
            IdleStrategyKind kind = IdleStrategyKind.values()[i % 3];
            int workers = 1 + random.nextInt(3);
            if (i % 10 == 0) {
                String reply = String.valueOf(shell.execute("fsp:sched idle " + kind.configName()));
                assertTrue(reply, reply.startsWith("idle " + kind.configName() + ": workers paused"));
                reply = String.valueOf(shell.execute("fsp:sched workers " + workers));
                assertTrue(reply, reply.startsWith("workers " + workers + ": workers paused"));
            } else if (i % 2 == 0) {
                pausesNanos.add(model.idleStrategy(kind).pauseNanos());
            } else {
                pausesNanos.add(model.workers(workers).pauseNanos());
            }
            Thread.sleep(5);
        }
        Thread.sleep(100);
        stop.set(true);
        for (Thread c : clients) {
            c.join(WAIT_MILLIS);
        }
        List<String> jvmResults = new ArrayList<>();
        for (LoadClientJvm jvm : jvms) {
            jvmResults.add(jvm.finish(60_000));
        }
        assertTrue("requests failed during the swaps: " + failures, failures.isEmpty());
        assertTrue("clients made progress", requests.get() > CLIENTS);

        try (FspClient check = FspClient.connect(socket)) {
            for (Written w : written) {
                assertArrayEquals(w.path(), content(w.seed(), w.length()), check.readAll(w.path()));
            }
        }

        String sched = String.valueOf(shell.execute("fsp:sched"));
        assertTrue(sched, sched.contains("shm-worker-0") && sched.contains("recent swaps"));
        Map<String, Object> threads = section("threads");
        assertNotNull("threads section of fsp:status", threads);
        Map<String, Object> clientsSection = section("clients");
        // ipc-shm requires a thread model: a bundle update of sched-polling (no second thread model meanwhile) makes it
        // hand its channels to its next activation, which adopts them and runs its lane workers on the new model.
        assertNotNull(
                "the bundle updates handed the channels over: " + clientsSection,
                clientsSection.get("adoptedFromPreviousVersion"));
        pausesNanos.sort(null);
        System.out.printf(
                "live swap: %d requests by %d client threads in the framework, %d files verified; client"
                        + " JVMs: %s; pause of %d swaps: median %d us, max %d us; adoption after a bundle update: %s%n",
                requests.get(),
                CLIENTS,
                written.size(),
                jvmResults,
                pausesNanos.size(),
                pausesNanos.get(pausesNanos.size() / 2) / 1_000,
                pausesNanos.getLast() / 1_000,
                clientsSection.get("adoptedFromPreviousVersion"));
    }

    private static void runClient(
            Path socket,
            int id,
            AtomicBoolean stop,
            CountDownLatch connected,
            ConcurrentLinkedQueue<Written> written,
            AtomicLong requests,
            ConcurrentLinkedQueue<Throwable> failures) {
        try (FspClient fs = FspClient.connect(socket)) {
            connected.countDown();
            Random random = new Random(id);
            fs.mkdir("/live/c" + id, 0755);
            for (int n = 0; !stop.get(); n++) {
                String path = "/live/c" + id + "/f" + (n % 20);
                long seed = random.nextLong();
                int length = 1 + random.nextInt(SwapLoadClient.MAX_FILE_BYTES);
                byte[] data = content(seed, length);
                // A write that fails leaves the file's content undefined: it is not checked at the end.
                written.removeIf(w -> w.path().equals(path));
                fs.writeAll(path, data);
                byte[] back = fs.readAll(path);
                if (!java.util.Arrays.equals(data, back)) {
                    throw new AssertionError(path + " read back differs");
                }
                requests.addAndGet(2);
                written.add(new Written(path, seed, length));
            }
        } catch (Throwable e) {
            failures.add(e);
            connected.countDown();
        }
    }

    private static byte[] content(long seed, int length) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        return data;
    }

    /** Waits until ipc-shm's lane workers run on {@code model} (ipc-shm binds it dynamically). */
    private static void awaitLaneWorkersOn(ThreadModel model) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        while (model.workers().stream().noneMatch(w -> w.agents().contains("shm-worker-0"))) {
            assertTrue(
                    "lane workers not on the thread model: " + model.workers(), System.currentTimeMillis() < deadline);
            Thread.sleep(10);
        }
    }

    /** Felix's {@code update} then {@code refresh} of one bundle, from its own location, as an operator does. */
    private void updateAndRefresh(String symbolicName) throws Exception {
        Bundle bundle = null;
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                bundle = b;
            }
        }
        assertNotNull(symbolicName, bundle);
        bundle.update();
        CountDownLatch refreshed = new CountDownLatch(1);
        context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(bundle), event -> {
            if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                refreshed.countDown();
            }
        });
        assertTrue("refresh of " + symbolicName, refreshed.await(WAIT_MILLIS, TimeUnit.MILLISECONDS));
    }

    private CommandSession shell() throws InterruptedException {
        CommandProcessor processor = await(CommandProcessor.class);
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        return processor.createSession(System.in, out, out);
    }

    private Map<String, Object> section(String name) throws Exception {
        for (ServiceReference<StatusContributor> ref : context.getServiceReferences(StatusContributor.class, null)) {
            StatusContributor c = context.getService(ref);
            if (c.section().equals(name)) {
                return c.status();
            }
        }
        return null;
    }

    private <T> T await(Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        try {
            T service = tracker.waitForService(WAIT_MILLIS);
            assertNotNull(type.getSimpleName() + " not registered within " + WAIT_MILLIS + " ms", service);
            return service;
        } finally {
            tracker.close();
        }
    }
}
