package org.fsp.cli;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URL;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParserFactory;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.linux.NativeException;
import org.fsp.linux.SocketStructs;
import org.fsp.linux.UnixSockets;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.SynchronousBundleListener;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.framework.wiring.FrameworkWiring;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * The supervised side of {@code fspd --supervise}: an fspd that boots as a warm standby and takes over when the one
 * serving dies. Its Felix runs at {@link #LEVEL} (the runtime: logging, DS, ConfigAdmin, Gogo) with FSP's bundles
 * installed, resolved and their classes loaded (FSP's own also initialised) but not started, so that nothing touches the device; taking over is
 * raising the start level, which starts the layers bottom up as a cold start would (fs-core's mount replays the
 * journal), without paying for the JVM, Felix or class loading.
 */
final class Standby {

    /** The start level a standby stays at: bundle/1 and bundle/2 hold no FSP layer. */
    static final int LEVEL = 2;

    private static final String FSP_PREFIX = "org.fsp.";

    /** The clients waiting in the backlog are served first; the admin shell can wait this long. */
    private static final long TOP_LEVEL_DELAY_MILLIS = 200;

    /** How long the layers may take to start and serve after the start level is raised. */
    private static final long TAKE_OVER_TIMEOUT_SECONDS = 120;

    /** What serving means: a mounted file system and the channel front end that accepts clients on it. */
    private static final List<String> SERVING_SERVICES =
            List.of("org.fsp.api.fs.FileSystemService", "org.fsp.ipc.shm.ShmServerComponent");

    /** System property: skip the layers' {@link StandbyRehearsals} (to measure what they save). */
    static final String NO_REHEARSAL_PROPERTY = "fsp.standby.noRehearsal";
    /** Skips the SCR rehearsal alone ({@link ScrRehearsal}), to measure what it saves. */
    static final String NO_SCR_REHEARSAL_PROPERTY = "fsp.standby.noScrRehearsal";

    /** System property: skip {@link NativeWarmUp} (to measure what it saves). */
    static final String NO_NATIVE_WARM_UP_PROPERTY = "fsp.standby.noNativeWarmUp";

    private final Framework framework;
    private final ControlChannel control;
    private final int topLevel;
    private volatile boolean tookOver;
    private final CountDownLatch acknowledged = new CountDownLatch(1);
    /** Opens when the supervisor's hand-over (the FUSE mounts) is in, or the supervisor is gone. */
    private final CountDownLatch handedOver = new CountDownLatch(1);
    /** When the device lock came: the predecessor's death, within the time the kernel takes to wake us. */
    private long lockedNanos;
    /** The phases of the take-over, from {@link #lockedNanos}. */
    private TakeOverTrace trace;

    private final boolean holdAtStart;

    Standby(Framework framework, ControlChannel control, int topLevel, boolean holdAtStart) {
        this.holdAtStart = holdAtStart;
        this.framework = framework;
        this.control = control;
        this.topLevel = topLevel;
    }

    /** True once the supervisor has said go. */
    boolean tookOver() {
        return tookOver;
    }

    /**
     * With the framework started at {@link #LEVEL}: warms the classes, tells the supervisor, waits for the device lock
     * ({@code devicePath} null: the driver has no lock file, the supervisor's word alone decides) and then for the
     * supervisor's go. Returns the lock (null when there is none or the supervisor said stop: see
     * {@link #tookOver()}).
     */
    FileLock awaitTurn(Path devicePath) throws IOException {
        long start = System.nanoTime();
        int classes = warmClasses();
        if (!Boolean.getBoolean(NO_NATIVE_WARM_UP_PROPERTY)) {
            NativeWarmUp.run();
        }
        // A free lock means nobody serves (the supervisor's first fspd): start at once instead of rehearsing.
        FileLock lock = devicePath != null ? Fspd.tryDeviceLock(devicePath) : null;
        String rehearsals = "-";
        if (lock == null && !Boolean.getBoolean(NO_REHEARSAL_PROPERTY)) {
            List<String> ran = StandbyRehearsals.run(framework.getBundleContext());
            if (!Boolean.getBoolean(NO_SCR_REHEARSAL_PROPERTY)) {
                long scrStart = System.nanoTime();
                try {
                    if (ScrRehearsal.run(framework.getBundleContext())) {
                        ran.add("scr=" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - scrStart));
                    } else {
                        System.err.println("fspd: standby rehearsal of SCR: its components were not activated");
                    }
                } catch (IOException | BundleException | RuntimeException e) {
                    System.err.println("fspd: standby rehearsal of SCR failed; the take-over pays for it: " + e);
                }
            }
            rehearsals = ran.isEmpty() ? "-" : String.join(",", ran);
        }
        control.send("standby " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " " + classes + " "
                + rehearsals);
        Thread.ofPlatform().daemon().name("fspd-standby-watch").start(this::exitWhenOrphaned);
        if (lock == null && devicePath != null) {
            lock = Fspd.awaitDeviceLock(devicePath);
        }
        lockedNanos = System.nanoTime();
        trace = new TakeOverTrace(lockedNanos, TakeOverTrace.printingRequested());
        trace.begin("supervisor-word", lockedNanos);
        // The supervisor's latest word while we waited: it says hold before any orderly stop lets the lock go, and
        // while a crash loop may call for a back-off. Without a lock file only its go proves the serving fspd gone.
        boolean hold = holdAtStart || lock == null;
        String word;
        while ((word = control.receiveNow()) != null) {
            switch (word) {
                case "hold" -> hold = true;
                case "free" -> hold = false;
                default -> {
                    return release(lock); // stop
                }
            }
        }
        if (control.peerClosed()) {
            return release(lock);
        }
        if (hold) {
            control.send("locked " + lockedNanos);
            word = control.receive();
            if (word == null || !word.equals("go")) {
                return release(lock);
            }
        } else {
            // The kernel gave us the lock: the serving fspd is dead, and the supervisor need not be asked.
            control.send("taking-over " + lockedNanos);
        }
        ProcessHandle.current()
                .parent()
                .ifPresent(p -> System.setProperty(FrameworkProperties.SUPERVISOR_PID, Long.toString(p.pid())));
        tookOver = true;
        // The hand-over is needed by the front ends only: the layers below start while it arrives.
        Thread.ofPlatform().daemon().name("fspd-supervisor-link").start(() -> {
            receiveHandover();
            // ipc-fuse sends each new mount's /dev/fuse descriptors on it (single sendmsgs, as ours are).
            System.setProperty(FrameworkProperties.SUPERVISOR_CONTROL_FD, Integer.toString(control.fd()));
            trace.event("hand-over received", System.nanoTime());
            handedOver.countDown();
            listen();
        });
        return lock;
    }

    /**
     * What the supervisor hands the new primary before its layers start: the FUSE mounts a dead fspd left (each
     * {@code /dev/fuse} descriptor as a {@code fuse-fd DIR} line with the descriptor attached, then {@code fuse-mount
     * EPOCH MINOR KERNEL_MINOR FLAGS ROOT_INO N DIR}), ending with {@code handover-end}. The mounts go to ipc-fuse in
     * {@link FrameworkProperties#FUSE_HANDOVER}.
     */
    private void receiveHandover() {
        StringBuilder mounts = new StringBuilder();
        List<Integer> pending = new java.util.ArrayList<>();
        String line;
        while ((line = control.receive()) != null && !line.equals("handover-end")) {
            if (line.startsWith("fuse-fd ")) {
                int fd = control.takeDescriptor();
                if (fd >= 0) {
                    pending.add(fd);
                }
            } else if (line.startsWith("fuse-mount ")) {
                String[] w = line.split(" ", 8);
                int n = Integer.parseInt(w[6]);
                if (pending.size() != n) {
                    System.err.println("fspd: the supervisor handed " + pending.size() + " of the " + n
                            + " descriptors of the FUSE mount at " + w[7] + "; not serving it");
                } else {
                    StringBuilder fds = new StringBuilder();
                    for (int fd : pending) {
                        fds.append(fds.isEmpty() ? "" : ",").append(fd);
                    }
                    mounts.append(String.join(" ", w[1], w[2], w[3], w[4], w[5], fds, w[7]))
                            .append('\n');
                }
                pending.clear();
            } else {
                heard(line);
            }
        }
        if (!mounts.isEmpty()) {
            System.setProperty(FrameworkProperties.FUSE_HANDOVER, mounts.toString());
        }
    }

    /**
     * While a standby: exits when the supervisor is gone (its end of the control connection closed), instead of
     * waiting for a device lock it would then take without anyone to restart it. Polls for the hang-up only, so the
     * lines waiting for the main thread stay where they are.
     */
    private void exitWhenOrphaned() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(SocketStructs.POLLFD_SIZE, 8);
            while (!tookOver) {
                UnixSockets.setPollFd(fds, 0, control.fd(), (short) 0);
                if (UnixSockets.poll(fds, 1, 500) > 0
                        && (UnixSockets.revents(fds, 0) & (UnixSockets.POLLHUP | UnixSockets.POLLERR)) != 0
                        && !tookOver) {
                    System.err.println(
                            "fspd: standby pid " + ProcessHandle.current().pid() + ": the supervisor is gone; exiting");
                    System.exit(Fspd.EXIT_OK);
                }
            }
        } catch (NativeException e) {
            // the control socket was closed here: the main thread ends the standby
        }
    }

    private static FileLock release(FileLock lock) throws IOException {
        if (lock != null) {
            lock.channel().close();
        }
        return null;
    }

    /**
     * Lines from the supervisor once serving: the predecessor's cause of death ({@code cause …}, which the supervisor
     * learns after it said go) and the {@code ack} of {@link #stopped()}.
     */
    private void listen() {
        String line;
        while ((line = control.receive()) != null) {
            heard(line);
        }
        acknowledged.countDown(); // nobody left to wait for
    }

    private void heard(String line) {
        if (line.startsWith("cause ")) {
            System.setProperty(FrameworkProperties.SUPERVISOR_LAST_CAUSE, line.substring("cause ".length()));
        } else if (line.startsWith("restart ")) {
            // BundleContext.getProperty falls back to system properties: fsp:status reads these.
            System.setProperty(FrameworkProperties.SUPERVISOR_RESTARTS, line.substring("restart ".length()));
        } else if (line.equals("ack")) {
            acknowledged.countDown();
        }
    }

    /** Raises the start level, waits until the file system is mounted and the channels accept, tells the supervisor. */
    void takeOver() throws InterruptedException {
        long start = System.nanoTime();
        trace.begin("start-level", start);
        BundleContext context = framework.getBundleContext();
        SynchronousBundleListener phases = e -> {
            String name = e.getBundle().getSymbolicName();
            if (e.getType() == BundleEvent.STARTING && name != null && name.startsWith(FSP_PREFIX)) {
                trace.begin(name, System.nanoTime());
            }
        };
        context.addBundleListener(phases);
        ServiceListener registrations = e -> {
            if (e.getType() == ServiceEvent.REGISTERED) {
                String[] classes = (String[]) e.getServiceReference().getProperty(Constants.OBJECTCLASS);
                trace.event(String.join(",", classes) + " registered", System.nanoTime());
            }
        };
        if (TakeOverTrace.printingRequested()) {
            context.addServiceListener(registrations);
        }
        // The layers first; the top level (the admin shell and live upgrade, which clients do not need) once they
        // serve, so that its start does not compete with the first requests.
        long deadline = start + TimeUnit.SECONDS.toNanos(TAKE_OVER_TIMEOUT_SECONDS);
        // The layers below the front ends (bundle/6: ipc-shm and ipc-fuse, which needs the FUSE hand-over) start at
        // once; the front ends once the hand-over is in, which it usually is by then.
        int frontEndLevel = topLevel - 1;
        if (frontEndLevel - 1 > LEVEL) {
            raiseTo(frontEndLevel - 1).await(TAKE_OVER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        if (handedOver.getCount() > 0) {
            trace.begin("hand-over-wait", System.nanoTime());
            handedOver.await(TAKE_OVER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        CountDownLatch layersUp = raiseTo(frontEndLevel);
        while (!serving() && layersUp.getCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        long now = System.nanoTime();
        trace.end(serving() ? "serving" : "layers started without serving", now);
        context.removeBundleListener(phases);
        context.removeServiceListener(registrations);
        long recoveryMillis = TimeUnit.NANOSECONDS.toMillis(now - lockedNanos);
        // Shown by fsp:status only with a restart count (the supervisor's restart line): after a cold start, it is
        // the time from the free lock to serving.
        System.setProperty(FrameworkProperties.SUPERVISOR_LAST_RECOVERY_MILLIS, Long.toString(recoveryMillis));
        String phasesWord = trace.encoded();
        System.setProperty(FrameworkProperties.SUPERVISOR_LAST_PHASES, TakeOverTrace.readable(phasesWord));
        sendQuietly("serving " + TimeUnit.NANOSECONDS.toMillis(now - start) + " " + recoveryMillis + " " + phasesWord);
        layersUp.await(TAKE_OVER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        Thread.sleep(TOP_LEVEL_DELAY_MILLIS);
        raiseTo(topLevel);
    }

    /** Asks Felix for {@code level}; the latch opens when it is reached. */
    private CountDownLatch raiseTo(int level) {
        CountDownLatch reached = new CountDownLatch(1);
        framework.adapt(FrameworkStartLevel.class).setStartLevel(level, e -> {
            if (e.getType() == FrameworkEvent.STARTLEVEL_CHANGED) {
                reached.countDown();
            }
        });
        return reached;
    }

    /**
     * After an orderly stop, before the device lock is let go: tells the supervisor, so that it ends too instead of
     * letting the next standby take over, and waits (at most 2 s) until it has heard.
     */
    void stopped() {
        if (sendQuietly("stopping")) {
            try {
                acknowledged.await(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        control.close();
    }

    private boolean serving() {
        for (String service : SERVING_SERVICES) {
            if (framework.getBundleContext().getServiceReference(service) == null) {
                return false;
            }
        }
        return true;
    }

    private boolean sendQuietly(String line) {
        try {
            control.send(line);
            return true;
        } catch (NativeException e) {
            System.err.println("fspd: the supervisor is gone (" + e.getMessage() + "); serving on without it");
            return false;
        }
    }

    /**
     * Resolves every bundle and loads every class of those not started yet (FSP's layers), so that taking over runs
     * their code at once instead of reading and defining classes first. FSP's own classes are initialised too (their
     * static initialisers open nothing). Returns how many classes were loaded.
     */
    private int warmClasses() {
        framework.adapt(FrameworkWiring.class).resolveBundles(null);
        int loaded = 0;
        for (Bundle b : framework.getBundleContext().getBundles()) {
            if (b.getState() != Bundle.RESOLVED || b.getHeaders().get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            Enumeration<URL> entries = b.findEntries("/", "*.class", true);
            while (entries != null && entries.hasMoreElements()) {
                String path = entries.nextElement().getPath();
                if (path.startsWith("/META-INF/") || path.endsWith("module-info.class")) {
                    continue;
                }
                String name =
                        path.substring(1, path.length() - ".class".length()).replace('/', '.');
                try {
                    Class<?> c = b.loadClass(name);
                    if (b.getSymbolicName().startsWith(FSP_PREFIX)) {
                        // FSP's static initialisers bind native calls, build memory layouts and loggers, no more;
                        // binding FFM downcalls is the costly part of starting the lower layers.
                        Class.forName(name, true, c.getClassLoader());
                    }
                    loaded++;
                } catch (ClassNotFoundException | LinkageError e) {
                    // a class that needs an optional package nobody exports: it would not load when serving either
                }
            }
        }
        warmComponentParsing();
        return loaded;
    }

    /**
     * Parses the layers' component descriptions (OSGI-INF/*.xml) once with the JDK's SAX parser, which SCR uses when
     * each of them starts: the parser's classes (many, and shared by the whole JVM) are then loaded and its code has
     * run. The result is thrown away; SCR parses again for itself.
     */
    private void warmComponentParsing() {
        SAXParserFactory factory = SAXParserFactory.newInstance();
        factory.setNamespaceAware(true);
        for (Bundle b : framework.getBundleContext().getBundles()) {
            if (b.getState() != Bundle.RESOLVED) {
                continue;
            }
            Enumeration<URL> xml = b.findEntries("OSGI-INF", "*.xml", false);
            while (xml != null && xml.hasMoreElements()) {
                try (InputStream in = xml.nextElement().openStream()) {
                    factory.newSAXParser().parse(in, new DefaultHandler());
                } catch (IOException | SAXException | ParserConfigurationException e) {
                    // SCR will report it when the bundle starts; the warm-up only costs nothing more
                }
            }
        }
    }
}
