package org.fsp.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.fsp.linux.UnixSockets;
import sun.misc.Signal;

/**
 * {@code bin/fspd --supervise}: keeps an fspd serving the socket. It owns the listening client socket (bound once,
 * handed to each fspd over a private control socket with SCM_RIGHTS, so clients that connect while one fspd replaces
 * another wait in the backlog instead of being refused) and keeps a warm standby: a second fspd whose Felix has booted
 * to the runtime level with FSP's bundles resolved and their classes loaded, blocked on the device lock. When the
 * serving fspd dies, the kernel drops its lock, the standby asks to take over, the supervisor says go (after the
 * crash-loop back-off, if any), and the standby raises its start level: the layers start, fs-core mounts (replaying
 * the journal) and ipc-shm accepts on the same socket. Then a new standby is started behind it.
 *
 * <p>The control protocol, lines of text: fspd {@code hello PID}; supervisor {@code socket hold|free} with the
 * descriptor; fspd {@code standby MILLIS CLASSES} once warm. A free standby takes over as soon as the device lock is
 * its own (the kernel hands it over the instant the serving fspd dies, so nobody is asked on that path) and says
 * {@code taking-over LOCKED_NANOS}; a held one (the supervisor sends {@code hold} while it stops or while a crash now
 * would be backed off, {@code free} when that passes, and a driver without a lock file always holds) says
 * {@code locked LOCKED_NANOS} and waits for {@code go} or {@code stop}. The new primary is told {@code restart N}
 * and, once the exit status is in, {@code cause …}; it says {@code serving TAKEOVER_MILLIS RECOVERY_MILLIS PHASES}
 * (the phases of {@link TakeOverTrace}, which the restart line shows). At an orderly stop fspd says {@code stopping} and waits for {@code ack} (sent after {@code hold}) before it lets go of the
 * lock, so no standby takes over from a daemon that was stopped on purpose.
 *
 * <p>All decisions are made on one thread, from a queue of events (a child's line, a child's exit, a signal, a
 * timer).
 *
 * <p>Its length (about 850 lines): one event loop and the state it alone touches (children, the held FUSE
 * descriptors, restarts, the crash loop), kept together so that no decision needs a lock.
 */
final class Supervisor {

    /** Exit code when crash-loop back-off has reached its limit (also in the README). */
    static final int EXIT_GAVE_UP = 4;

    /** Clients that may wait for an fspd to accept them; the kernel caps it at net.core.somaxconn. */
    static final int BACKLOG = 4096;

    /** How long after an fspd starts serving its standby is started. */
    static final Duration STANDBY_DELAY = Duration.ofSeconds(1);

    /** How long a primary that was sent SIGTERM may take to stop before it is killed. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    /**
     * Crash-loop policy: {@code limit} crashes within {@code window} start a back-off (1 s, 2 s, 4 s, … before each
     * restart); a crash while backing off whose fspd served less than {@code window} doubles it; past {@code maxBackoff}
     * the supervisor gives up. {@code limit} 0 disables back-off.
     */
    record CrashPolicy(int limit, Duration window, Duration maxBackoff) {}

    /** Counts crashes and decides how long to wait before the next restart, or to give up (-1). */
    static final class CrashLoop {
        private final CrashPolicy policy;
        private final Deque<Long> crashes = new ArrayDeque<>();
        private int step;

        CrashLoop(CrashPolicy policy) {
            this.policy = policy;
        }

        /**
         * A crash at {@code nowNanos} of an fspd that had served for {@code servedNanos}: returns the delay before the
         * next restart in nanoseconds, or -1 to give up.
         */
        long onCrash(long nowNanos, long servedNanos) {
            long window = policy.window().toNanos();
            if (servedNanos >= window) {
                step = 0; // it served a while: what came before was no loop
            }
            crashes.addLast(nowNanos);
            while (!crashes.isEmpty() && crashes.peekFirst() < nowNanos - window) {
                crashes.removeFirst();
            }
            if (policy.limit() <= 0 || (crashes.size() < policy.limit() && step == 0)) {
                return 0;
            }
            step++;
            long delay = TimeUnit.SECONDS.toNanos(1) << Math.min(step - 1, 30);
            return delay > policy.maxBackoff().toNanos() ? -1 : delay;
        }

        int crashesInWindow() {
            return crashes.size();
        }

        /**
         * Whether a crash now of an fspd that has served {@code servedNanos} would be met with a back-off (or giving
         * up), so that the standby must ask before it takes over.
         */
        boolean wouldBackOff(long nowNanos, long servedNanos) {
            if (policy.limit() <= 0) {
                return false;
            }
            long window = policy.window().toNanos();
            if (step > 0 && servedNanos < window) {
                return true;
            }
            long recent = crashes.stream().filter(t -> t >= nowNanos - window).count();
            return recent + 1 >= policy.limit();
        }
    }

    /** One fspd this supervisor started. Fields are touched on the event thread only. */
    private static final class Child {
        final Process process;
        final long startedNanos = System.nanoTime();
        ControlChannel channel;
        boolean locked;
        long lockedNanos;
        /** What it was last told: hold (ask before taking over) or free. */
        boolean held;

        boolean orderly;
        long servingSinceNanos;
        boolean gone;

        Child(Process process) {
            this.process = process;
        }

        long pid() {
            return process.pid();
        }
    }

    /** One replacement of a dead primary, filled in as its parts become known. Event thread only. */
    private static final class Restart {
        final int number;
        final long pid;
        long deathNanos;
        final long servedNanos;
        long delayNanos;
        String cause;
        Child successor;
        long takeoverMillis;
        /** The successor's take-over phases, as {@link TakeOverTrace#encoded()} gives them. */
        String phases = "-";

        boolean logged;

        Restart(int number, long pid, long deathNanos, long servedNanos) {
            this.number = number;
            this.pid = pid;
            this.deathNanos = deathNanos;
            this.servedNanos = servedNanos;
        }
    }

    /**
     * A FUSE mount's {@code /dev/fuse} descriptors, kept here so that the kernel's connection (and the requests the
     * serving fspd had read) outlives that fspd, and what INIT settled. Event thread only.
     */
    private static final class HeldMount {
        final String mountPoint;
        final int expected;
        final long rootIno;
        final List<Integer> fds = new ArrayList<>();
        int minor = -1;
        int kernelMinor = -1;
        int flags;
        /** The file-handle epoch of the fspd serving it now. */
        int epoch;

        HeldMount(String mountPoint, int expected, long rootIno, int epoch) {
            this.mountPoint = mountPoint;
            this.expected = expected;
            this.rootIno = rootIno;
            this.epoch = epoch;
        }

        void close() {
            for (int fd : fds) {
                Libc.close(fd);
            }
            fds.clear();
        }
    }

    private sealed interface Event {}

    private record Disconnected(Child child) implements Event {}

    private record Attached(Child child, ControlChannel channel) implements Event {}

    /** A line from a child, with the descriptor that came with it or -1. */
    private record Message(Child child, String line, int fd) implements Event {}

    private record Exited(Child child, int exitValue) implements Event {}

    private record Stop(String signal) implements Event {}

    private record Tick() implements Event {}

    private final Path fspdBin;
    private final List<String> childArgs;
    private final Path socketPath;
    private final Path privateDir;
    private final Path logFile;
    private final CrashLoop crashLoop;
    private final PrintStream out;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final Map<Long, Child> children = new ConcurrentHashMap<>();
    /** The FUSE mounts whose descriptors are kept here, by mount point. Event thread only. */
    private final Map<String, HeldMount> fuseMounts = new java.util.LinkedHashMap<>();

    private int listenFd = -1;
    private int controlFd = -1;
    private Path controlPath;
    private Child primary;
    private Child standby;
    private boolean stopping;
    private int exitCode = Fspd.EXIT_OK;
    private int restarts;
    /** The latest restart, or null before the first. */
    private Restart lastRestart;

    private long goNotBeforeNanos;
    private long killPrimaryAtNanos = Long.MAX_VALUE;
    private long spawnStandbyAtNanos = Long.MAX_VALUE;

    Supervisor(
            Path fspdBin,
            List<String> childArgs,
            Path socketPath,
            Path privateDir,
            CrashPolicy policy,
            PrintStream out) {
        this.fspdBin = fspdBin;
        this.childArgs = List.copyOf(childArgs);
        this.socketPath = socketPath;
        this.privateDir = privateDir;
        this.logFile = privateDir.resolve("fspd.log");
        this.crashLoop = new CrashLoop(policy);
        this.out = out;
    }

    /** Serves until SIGTERM, an orderly shutdown of fspd, or a crash loop it gives up on; returns the exit code. */
    int run() throws IOException, InterruptedException {
        removeStaleCaches();
        try {
            listenFd = UnixSockets.listen(socketPath.toString(), BACKLOG);
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-rw-rw-"));
            controlPath = privateDir.resolve("supervisor.ctl");
            Files.deleteIfExists(controlPath);
            controlFd = UnixSockets.listen(controlPath.toString(), 16);
        } catch (NativeException e) {
            out.println("fspd: cannot listen on " + socketPath + ": " + e.getMessage());
            closeSockets();
            return Fspd.EXIT_FAILED;
        }
        for (String signal : List.of("TERM", "INT")) {
            Signal.handle(new Signal(signal), s -> events.add(new Stop("SIG" + s.getName())));
        }
        Thread.ofPlatform().daemon().name("fspd-supervise-control").start(this::acceptLoop);
        log("supervising fspd on " + socketPath + " (supervisor pid "
                + ProcessHandle.current().pid() + "; SIGTERM stops)");
        spawnStandby();
        try {
            while (!(stopping && children.isEmpty())) {
                Event e = events.poll(nextTimerMillis(), TimeUnit.MILLISECONDS);
                if (e != null) {
                    handle(e);
                }
                handle(new Tick()); // the timers, whether or not anything else happened
            }
        } finally {
            closeSockets();
        }
        return exitCode;
    }

    private long nextTimerMillis() {
        long now = System.nanoTime();
        long next = Math.min(
                Math.min(killPrimaryAtNanos, spawnStandbyAtNanos),
                goNotBeforeNanos > now ? goNotBeforeNanos : Long.MAX_VALUE);
        return next == Long.MAX_VALUE ? 1_000 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(next - now) + 1);
    }

    private void handle(Event event) {
        switch (event) {
            case Attached a -> {
                Child c = a.child();
                c.channel = a.channel();
                if (!children.containsKey(c.pid())) {
                    a.channel().close(); // it exited meanwhile
                    return;
                }
                c.held = holdNeeded();
                try {
                    c.channel.send("socket " + (c.held ? "hold" : "free"), listenFd);
                } catch (NativeException e) {
                    // it died: its exit event follows
                }
            }
            case Message m -> onMessage(m.child(), m.line(), m.fd());
            case Disconnected d -> onDisconnect(d.child());
            case Exited x -> onExit(x.child(), x.exitValue());
            case Stop s -> stop(s.signal());
            case Tick t -> {
                if (System.nanoTime() >= killPrimaryAtNanos && primary != null) {
                    log("fspd pid " + primary.pid() + " did not stop within " + STOP_TIMEOUT.toSeconds()
                            + " s of SIGTERM; killing it");
                    primary.process.destroyForcibly();
                    killPrimaryAtNanos = Long.MAX_VALUE;
                }
                if (System.nanoTime() >= spawnStandbyAtNanos) {
                    spawnStandbyAtNanos = Long.MAX_VALUE;
                    if (standby == null && !stopping) {
                        spawnStandby();
                    }
                }
                updateHold();
                tryGo();
            }
        }
    }

    /** Whether the standby must ask before it takes over: we are stopping, or a crash now would be backed off. */
    private boolean holdNeeded() {
        long now = System.nanoTime();
        return stopping
                || crashLoop.wouldBackOff(
                        now, primary == null || primary.servingSinceNanos == 0 ? 0 : now - primary.servingSinceNanos);
    }

    /** Tells the standby when its hold changes; a hold is sent before the device lock can come to it. */
    private void updateHold() {
        Child c = standby;
        if (c == null || c.channel == null) {
            return;
        }
        boolean hold = holdNeeded();
        if (hold != c.held) {
            c.held = hold;
            tell(c, hold ? "hold" : "free");
        }
    }

    private void onMessage(Child c, String line, int fd) {
        String[] words = line.split(" ");
        switch (words[0]) {
            case "fuse-fd", "fuse-init", "fuse-umount" -> onFuse(c, line, fd);
            case "standby" ->
                logFileOnly("standby fspd pid " + c.pid() + " warm after " + words[1] + " ms"
                        + (words.length > 3 && !words[3].equals("-")
                                ? " (rehearsals: " + TakeOverTrace.readable(words[3]) + ")"
                                : ""));
            case "locked" -> {
                c.locked = true;
                c.lockedNanos = Long.parseLong(words[1]);
                tryGo();
            }
            case "taking-over" -> onTakingOver(c, Long.parseLong(words[1]));
            case "serving" -> onServing(c, Long.parseLong(words[1]), words.length > 3 ? words[3] : "-");
            case "stopping" -> {
                // fspd was stopped on purpose (fsp:shutdown or our SIGTERM): nothing to restart, so end too.
                c.orderly = true;
                if (!stopping) {
                    log("fspd pid " + c.pid() + " is stopping in order; the supervisor ends with it");
                }
                stopping = true;
                updateHold(); // before the ack: the lock goes when fspd has it
                killStandby();
                tell(c, "ack");
            }
            default -> log("unexpected line from fspd pid " + c.pid() + ": " + line);
        }
    }

    /**
     * A serving fspd's FUSE mount: {@code fuse-fd I N ROOT_INO DIR} with descriptor I of N (0 starts the mount anew),
     * {@code fuse-init MINOR KERNEL_MINOR FLAGS DIR}, {@code fuse-umount DIR} (unmounted on purpose: let go).
     */
    private void onFuse(Child c, String line, int fd) {
        String[] w = line.split(" ", line.startsWith("fuse-umount") ? 2 : 5);
        if (c != primary) {
            if (fd >= 0) {
                Libc.close(fd);
            }
            return;
        }
        switch (w[0]) {
            case "fuse-fd" -> {
                if (fd < 0) {
                    log("fspd pid " + c.pid() + " sent no descriptor with '" + line + "'");
                    return;
                }
                int i = Integer.parseInt(w[1]);
                HeldMount m = fuseMounts.get(w[4]);
                if (i == 0) {
                    if (m != null) {
                        m.close();
                    }
                    m = new HeldMount(w[4], Integer.parseInt(w[2]), Long.parseLong(w[3]), 0);
                    fuseMounts.put(w[4], m);
                } else if (m == null) {
                    Libc.close(fd);
                    return;
                }
                m.fds.add(fd);
                if (m.fds.size() == m.expected) {
                    logFileOnly("keeping the /dev/fuse descriptors of the FUSE mount at " + w[4] + " (" + m.expected
                            + ") for the next fspd");
                }
            }
            case "fuse-init" -> {
                HeldMount m = fuseMounts.get(w[4]);
                if (m != null) {
                    m.minor = Integer.parseInt(w[1]);
                    m.kernelMinor = Integer.parseInt(w[2]);
                    m.flags = Integer.parseInt(w[3]);
                }
            }
            default -> {
                HeldMount m = fuseMounts.remove(w[1]);
                if (m != null) {
                    m.close();
                }
            }
        }
    }

    /**
     * Hands the new primary what the dead one left, before its layers start: the FUSE mounts (each descriptor with a
     * line of its own, then the mount's line, in the next file-handle epoch), then {@code handover-end}.
     */
    private void handOver(Child c) {
        for (HeldMount m : fuseMounts.values()) {
            if (m.fds.size() != m.expected) {
                continue;
            }
            m.epoch = (m.epoch + 1) % 128;
            try {
                for (int fd : m.fds) {
                    c.channel.send("fuse-fd " + m.mountPoint, fd);
                }
            } catch (NativeException e) {
                return; // it died: its exit event follows
            }
            tell(
                    c,
                    "fuse-mount " + m.epoch + " " + m.minor + " " + m.kernelMinor + " " + m.flags + " " + m.rootIno
                            + " " + m.fds.size() + " " + m.mountPoint);
            logFileOnly("handed the FUSE mount at " + m.mountPoint + " to fspd pid " + c.pid() + " (epoch " + m.epoch
                    + ")");
        }
        tell(c, "handover-end");
    }

    /** Lets the locked standby take over when no primary is alive, the back-off allows it, and we are not stopping. */
    private void tryGo() {
        Child c = standby;
        if (c == null || !c.locked || c.channel == null) {
            return;
        }
        if (stopping) {
            tell(c, "stop");
            return;
        }
        if (primary != null || System.nanoTime() < goNotBeforeNanos) {
            return; // its death, or the timer, calls again
        }
        tell(c, "go");
        promote(c, c.lockedNanos);
    }

    /**
     * A standby that was free to take over has: the device lock came to it, so the primary is dead even if its
     * disconnect has not reached us yet.
     */
    private void onTakingOver(Child c, long lockedNanos) {
        if (c != standby) {
            log("fspd pid " + c.pid() + " took over but was not the standby");
            return;
        }
        if (primary != null) {
            onDisconnect(primary);
        }
        promote(c, lockedNanos);
        if (stopping) {
            c.process.destroy(); // a stop came meanwhile: it stops in order like any primary
        }
    }

    /** {@code c} serves now; it replaces the primary that died last, if that one has no successor yet. */
    private void promote(Child c, long lockedNanos) {
        primary = c;
        standby = null;
        handOver(c);
        Restart r = lastRestart;
        if (r != null && r.successor == null) {
            r.successor = c;
            r.deathNanos = Math.min(r.deathNanos, lockedNanos);
            tell(c, "restart " + r.number);
            if (r.cause != null) {
                tell(c, "cause " + r.cause);
            }
        }
    }

    private void onServing(Child c, long takeoverMillis, String phases) {
        c.servingSinceNanos = System.nanoTime();
        Restart r = lastRestart;
        if (r == null || r.successor != c) {
            log("fspd pid " + c.pid() + " serving (cold start "
                    + TimeUnit.NANOSECONDS.toMillis(c.servingSinceNanos - c.startedNanos) + " ms)");
        } else {
            r.takeoverMillis = takeoverMillis;
            r.phases = phases;
            logRestartWhenComplete(r);
        }
        if (standby == null && !stopping) {
            // Not at once: a JVM booting beside the first requests would slow them down.
            spawnStandbyAtNanos = c.servingSinceNanos + STANDBY_DELAY.toNanos();
        }
    }

    /** The restart's line, once both its cause (the exit status) and its successor's serving are known. */
    private void logRestartWhenComplete(Restart r) {
        if (r.logged || r.cause == null || r.successor == null || r.successor.servingSinceNanos == 0) {
            return;
        }
        r.logged = true;
        log(String.format(
                Locale.ROOT,
                "restart %d: fspd pid %d %s after %s; standby pid %d serving %d ms after the death"
                        + " (take-over %d ms%s)",
                r.number,
                r.pid,
                r.cause,
                human(r.servedNanos),
                r.successor.pid(),
                TimeUnit.NANOSECONDS.toMillis(r.successor.servingSinceNanos - r.deathNanos),
                r.takeoverMillis,
                r.phases.equals("-") ? "" : ": " + TakeOverTrace.readable(r.phases)));
    }

    /**
     * The primary's control connection closed: the kernel closes a dead process's descriptors at once, sooner than its
     * exit status reaches us, so this is when the death is noticed and the standby let go (the device lock was freed
     * in the same instant).
     */
    private void onDisconnect(Child c) {
        if (c != primary || c.gone) {
            return;
        }
        c.gone = true;
        primary = null;
        killPrimaryAtNanos = Long.MAX_VALUE;
        if (c.orderly || stopping) {
            killStandby();
            return;
        }
        long now = System.nanoTime();
        Restart r = new Restart(++restarts, c.pid(), now, c.servingSinceNanos == 0 ? 0 : now - c.servingSinceNanos);
        lastRestart = r;
        r.delayNanos = crashLoop.onCrash(now, r.servedNanos);
        if (r.delayNanos < 0) {
            exitCode = EXIT_GAVE_UP; // the message waits for the exit status
            stopping = true;
            killStandby();
            return;
        }
        goNotBeforeNanos = now + r.delayNanos;
        updateHold();
        if (standby == null) {
            spawnStandby(); // it died before its standby was up: this one starts cold
        }
        tryGo();
    }

    private void onExit(Child c, int exitValue) {
        onDisconnect(c);
        children.remove(c.pid());
        if (c.channel != null) {
            c.channel.close();
        }
        deleteCache(c.pid());
        Restart r = lastRestart;
        if (r != null && r.pid == c.pid()) {
            r.cause = cause(exitValue);
            if (r.delayNanos < 0) {
                giveUp("fspd pid " + c.pid() + " " + r.cause);
                return;
            }
            if (r.delayNanos > 0) {
                log(String.format(
                        Locale.ROOT,
                        "fspd pid %d %s: %d crashes within %d s, next restart in %d s",
                        c.pid(),
                        r.cause,
                        crashLoop.crashesInWindow(),
                        crashLoop.policy.window().toSeconds(),
                        TimeUnit.NANOSECONDS.toSeconds(r.delayNanos)));
            }
            if (r.successor != null && !r.successor.gone) {
                tell(r.successor, "cause " + r.cause);
            }
            logRestartWhenComplete(r);
        } else if (c.gone || c.orderly) {
            logFileOnly("fspd pid " + c.pid() + " stopped (" + cause(exitValue) + ")");
        } else if (c == standby) {
            standby = null;
            if (stopping) {
                return;
            }
            long now = System.nanoTime();
            log("standby fspd pid " + c.pid() + " " + cause(exitValue) + " before taking over; see " + logFile);
            long delay = crashLoop.onCrash(now, 0);
            if (delay < 0) {
                giveUp("the standby fspd " + cause(exitValue));
                return;
            }
            goNotBeforeNanos = Math.max(goNotBeforeNanos, now + delay);
            spawnStandby();
        }
    }

    /** Sends a line to a child; one that has just died cannot hear it, and its exit event follows. */
    private static void tell(Child c, String line) {
        try {
            if (c.channel != null) {
                c.channel.send(line);
            }
        } catch (NativeException e) {
            // EPIPE or ECONNRESET: its Disconnected and Exited events are on their way
        }
    }

    private void giveUp(String what) {
        CrashPolicy p = crashLoop.policy;
        log("giving up: " + what + "; fspd kept crashing (" + p.limit() + " crashes within "
                + p.window().toSeconds()
                + " s, then back-off up to " + p.maxBackoff().toSeconds() + " s); see " + logFile + " (exit "
                + EXIT_GAVE_UP + ")");
        exitCode = EXIT_GAVE_UP;
        stopping = true;
        killStandby();
    }

    private void stop(String signal) {
        if (stopping && primary == null && standby == null) {
            return;
        }
        log("stopping on " + signal);
        stopping = true;
        updateHold();
        killStandby();
        if (primary != null) {
            primary.process.destroy(); // SIGTERM: fspd stops its layers in order, says "stopping", then exits
            killPrimaryAtNanos = System.nanoTime() + STOP_TIMEOUT.toNanos();
        }
    }

    private void killStandby() {
        if (standby != null) {
            // It holds nothing yet (no device, no client): SIGKILL loses nothing, and its cache is deleted at exit.
            standby.process.destroyForcibly();
        }
    }

    private void spawnStandby() {
        List<String> cmd = new ArrayList<>();
        cmd.add(fspdBin.toString());
        cmd.addAll(childArgs);
        cmd.add("--supervised-by");
        cmd.add(controlPath.toString());
        Process p;
        try {
            p = new ProcessBuilder(cmd)
                    .redirectInput(
                            ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
        } catch (IOException e) {
            log("cannot start " + fspdBin + ": " + e.getMessage());
            exitCode = Fspd.EXIT_FAILED;
            stopping = true;
            return;
        }
        Child c = new Child(p);
        children.put(c.pid(), c);
        standby = c;
        p.onExit().thenAccept(done -> events.add(new Exited(c, done.exitValue())));
    }

    /** The control socket's acceptor: matches each connection to a child by its pid, hands it the client socket. */
    private void acceptLoop() {
        while (true) {
            int fd;
            try {
                fd = UnixSockets.accept(controlFd);
            } catch (NativeException e) {
                return; // closed at the end of run()
            }
            ControlChannel ch = new ControlChannel(fd);
            Child c;
            try {
                UnixSockets.PeerCredentials peer = UnixSockets.peerCredentials(fd);
                c = children.get((long) peer.pid());
                String hello = ch.receive();
                if (c == null || hello == null || !hello.equals("hello " + peer.pid())) {
                    ch.close(); // not one of ours (the directory is private, so this is a leftover)
                    continue;
                }
            } catch (NativeException e) {
                ch.close();
                continue;
            }
            // Queued before any of its lines, so the event thread knows the channel when the first one comes.
            events.add(new Attached(c, ch));
            Thread.ofPlatform().daemon().name("fspd-supervise-" + c.pid()).start(() -> {
                String line;
                while ((line = ch.receive()) != null) {
                    // A descriptor comes with its own line: taken here, where the channel is read.
                    events.add(new Message(c, line, line.startsWith("fuse-fd ") ? ch.takeDescriptor() : -1));
                }
            });
        }
    }

    private void closeSockets() {
        for (HeldMount m : fuseMounts.values()) {
            m.close(); // the kernel's connection ends with the last descriptor: the mount then answers ENOTCONN
        }
        fuseMounts.clear();
        if (controlFd >= 0) {
            Libc.close(controlFd);
            controlFd = -1;
        }
        if (listenFd >= 0) {
            Libc.close(listenFd);
            listenFd = -1;
        }
        try {
            Files.deleteIfExists(socketPath);
            if (controlPath != null) {
                Files.deleteIfExists(controlPath);
            }
        } catch (IOException e) {
            out.println("fspd-supervise: cannot remove " + socketPath + ": " + e.getMessage());
        }
        if (exitCode == Fspd.EXIT_OK) {
            log("stopped");
        }
    }

    /** Bundle caches of the children of a supervisor that was itself killed: nobody uses them any more. */
    private void removeStaleCaches() throws IOException {
        try (Stream<Path> s = Files.list(privateDir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(Fspd.SUPERVISED_CACHE_PREFIX))
                    .toList()) {
                deleteTree(p);
            }
        }
    }

    private void deleteCache(long pid) {
        try {
            deleteTree(privateDir.resolve(Fspd.SUPERVISED_CACHE_PREFIX + pid));
        } catch (IOException e) {
            logFileOnly("cannot remove the bundle cache of fspd pid " + pid + ": " + e.getMessage());
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** How a child ended, from {@link Process#exitValue()} (128 + N for a death by signal N). */
    static String cause(int exitValue) {
        if (exitValue > 128 && exitValue < 128 + 65) {
            int signal = exitValue - 128;
            String name =
                    switch (signal) {
                        case 1 -> "HUP";
                        case 2 -> "INT";
                        case 3 -> "QUIT";
                        case 4 -> "ILL";
                        case 6 -> "ABRT";
                        case 7 -> "BUS";
                        case 9 -> "KILL";
                        case 11 -> "SEGV";
                        case 15 -> "TERM";
                        default -> null;
                    };
            return "was killed by signal " + signal + (name == null ? "" : " (" + name + ")");
        }
        return "exited with code " + exitValue;
    }

    private static String human(long nanos) {
        double s = nanos / 1e9;
        return s < 60 ? String.format(Locale.ROOT, "%.1f s", s) : String.format(Locale.ROOT, "%.1f min", s / 60);
    }

    private void log(String message) {
        out.println("fspd-supervise: " + message);
        logFileOnly(message);
    }

    private void logFileOnly(String message) {
        String line = LocalDateTime.now()
                        .format(DateTimeFormatter.ISO_LOCAL_DATE_TIME)
                        .replace('T', ' ') + " INFO  [supervisor] fspd-supervise - " + message + "\n";
        try {
            Files.writeString(
                    logFile, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            out.println("fspd-supervise: cannot write " + logFile + ": " + e.getMessage());
        }
    }
}
