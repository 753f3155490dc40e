package org.fsp.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.fsp.api.launch.FrameworkProperties;
import org.fsp.linux.NativeException;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.startlevel.BundleStartLevel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code bin/fspd}: the file-system process. Checks the device and the socket, then boots Apache Felix with the
 * bundles of the distribution's {@code bundle/<start level>/} directories and serves until SIGTERM or
 * {@code shutdown}.
 *
 * <p>Choices made here reach the bundles as framework properties ({@link FrameworkProperties#DEVICE_PATH}, {@link FrameworkProperties#SOCKET_PATH}, …),
 * which the layers' components read when their own configuration leaves a value unset.
 *
 * <p>Its length (about 600 lines): about 100 are the picocli options, and {@link #call} is one start sequence in
 * which each check's failure is an exit code and each choice (driver, device, socket, supervision) becomes a framework
 * property, easier to follow top to bottom in one method than across classes. The checks that could leave have left:
 * the device's is {@link DeviceCheck}'s, the NVMe controller's {@link NvmePreflight}'s, the socket's place
 * {@link SocketPlacement}'s; supervising is {@link Supervisor}'s, a supervised standby's wait {@link Standby}'s.
 */
@Command(
        name = "fspd",
        mixinStandardHelpOptions = true,
        version = "fspd 0.1.0",
        description = "Starts the FSP file-system process on a device (by default an image it creates and formats).")
public final class Fspd implements Callable<Integer> {

    /** Exit codes, also listed in the README. */
    static final int EXIT_OK = 0;

    static final int EXIT_FAILED = 1;
    static final int EXIT_BAD_INPUT = 2;
    static final int EXIT_ALREADY_RUNNING = 3;

    /** A supervised fspd's bundle cache, {@code felix-cache-PID} in the private directory, one per process. */
    static final String SUPERVISED_CACHE_PREFIX = "felix-cache-";

    @Option(
            names = "--device",
            paramLabel = "PATH",
            description = "Image file or block device (default: ${DEFAULT-VALUE} under the data directory).")
    Path device;

    @Option(
            names = "--size",
            paramLabel = "SIZE",
            defaultValue = "1G",
            description = "Size of an image created on first start, e.g. 512M, 4G (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(
            names = "--socket",
            paramLabel = "PATH",
            description = "UNIX socket clients connect to (default: fsp.sock under the runtime directory).")
    Path socket;

    @Option(
            names = "--mount",
            paramLabel = "DIR",
            description = "Also mount FSP at this directory through FUSE, for programs that are not Java (needs root"
                    + " and /dev/fuse; a stale FSP mount left there by a killed daemon is cleaned up).")
    Path mount;

    @Option(
            names = "--driver",
            paramLabel = "KIND",
            defaultValue = "io_uring",
            description = "Block driver: io_uring, ram, nvme (user-space NVMe over VFIO, needs --pci) or"
                    + " nvme-passthru (io_uring NVMe passthrough, needs --device /dev/ngXnY)"
                    + " (default: ${DEFAULT-VALUE}).")
    String driver;

    @Option(
            names = "--pci",
            paramLabel = "ADDRESS",
            description =
                    "PCI address of the NVMe controller for --driver nvme, bound to vfio-pci (e.g. 0000:00:04.0).")
    String pci;

    @Option(
            names = "--headless",
            description = "No interactive shell even in a terminal (the default when stdin is not a terminal).")
    boolean headless;

    @Option(
            names = "--supervise",
            description = "Run fspd as a child and restart it when it dies, with a warm standby and the client socket"
                    + " kept open across restarts (headless; SIGTERM stops both).")
    boolean supervise;

    @Option(
            names = "--crash-limit",
            paramLabel = "N",
            defaultValue = "5",
            description = "With --supervise: this many crashes within --crash-window start a back-off (1 s, 2 s, 4 s,"
                    + " ... before each restart); 0: never back off (default: ${DEFAULT-VALUE}).")
    int crashLimit;

    @Option(
            names = "--crash-window",
            paramLabel = "SECONDS",
            defaultValue = "10",
            description = "With --supervise: the window of --crash-limit, and how long an fspd must serve to end a"
                    + " back-off (default: ${DEFAULT-VALUE}).")
    int crashWindowSeconds;

    @Option(
            names = "--max-backoff",
            paramLabel = "SECONDS",
            defaultValue = "8",
            description = "With --supervise: the longest wait before a restart; a crash loop that would need a longer"
                    + " one makes the supervisor give up with exit code 4 (default: ${DEFAULT-VALUE}).")
    int maxBackoffSeconds;

    /** Set by the supervisor on the fspd it starts: its control socket. */
    @Option(names = "--supervised-by", paramLabel = "PATH", hidden = true)
    Path supervisedBy;

    private final PrintStream out;
    private final PrintStream err;

    Fspd(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new Fspd(System.out, System.err));
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        FspPaths paths = FspPaths.fromEnvironment();
        Path home = Path.of(System.getProperty(FrameworkProperties.HOME, "."))
                .toAbsolutePath()
                .normalize();
        Path socketPath = (socket != null ? socket : paths.defaultClientSocket()).toAbsolutePath();
        Path adminPath = FspPaths.adminSocketFor(socketPath);
        if (!List.of("io_uring", "ram", "nvme", "nvme-passthru").contains(driver)) {
            err.println("fspd: unknown driver '" + driver + "': use io_uring, ram, nvme or nvme-passthru");
            return EXIT_BAD_INPUT;
        }
        if (mount != null && !Files.exists(Path.of("/dev/fuse"))) {
            err.println("fspd: --mount needs /dev/fuse, which this machine lacks (modprobe fuse)");
            return EXIT_BAD_INPUT;
        }
        String pciAddress = null;
        if (driver.equals("nvme")) {
            try {
                pciAddress = NvmePreflight.check(pci, Path.of("/sys"), Path.of("/dev"));
                NvmePreflight.checkNamespace(pciAddress, home);
            } catch (NvmePreflight.NotReadyException e) {
                err.println("fspd: " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
        } else if (pci != null) {
            err.println("fspd: --pci applies to --driver nvme only");
            return EXIT_BAD_INPUT;
        }
        if (driver.equals("nvme-passthru")) {
            try {
                NvmePreflight.checkGenericDevice(device);
            } catch (NvmePreflight.NotReadyException e) {
                err.println("fspd: " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
        }
        long sizeBytes;
        try {
            sizeBytes = Sizes.parse(size);
        } catch (IllegalArgumentException e) {
            err.println("fspd: --size: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }

        try {
            Files.createDirectories(socketPath.getParent());
            if (socket == null) {
                Files.setPosixFilePermissions(socketPath.getParent(), PosixFilePermissions.fromString("rwx------"));
            }
        } catch (IOException e) {
            err.println("fspd: cannot create socket directory " + socketPath.getParent() + ": " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        int uid = (int) FspPaths.uid();
        String misplaced = SocketPlacement.check(socketPath, uid);
        if (misplaced != null) {
            err.println("fspd: " + misplaced);
            return EXIT_BAD_INPUT;
        }
        boolean supervised = supervisedBy != null;
        if (supervise && supervised) {
            err.println("fspd: --supervise and --supervised-by do not go together");
            return EXIT_BAD_INPUT;
        }
        if (crashLimit < 0 || crashWindowSeconds < 1 || maxBackoffSeconds < 1) {
            err.println("fspd: --crash-limit must be 0 or more, --crash-window and --max-backoff 1 or more");
            return EXIT_BAD_INPUT;
        }
        // A supervised fspd meets the supervisor's live socket and, as a standby, its predecessor's admin socket:
        // the supervisor checked both, and the device lock keeps two from serving.
        for (Path s : supervised ? List.<Path>of() : List.of(socketPath, adminPath)) {
            switch (probeSocket(s)) {
                case LIVE -> {
                    err.println("fspd: a daemon is already serving " + s + "; stop it first (bin/fsp shell -c shutdown)"
                            + " or choose another --socket");
                    return EXIT_ALREADY_RUNNING;
                }
                case STALE -> {
                    Files.deleteIfExists(s);
                    out.println("fspd: removed stale socket " + s + " left by a daemon that did not stop cleanly");
                }
                case ABSENT -> {}
            }
        }

        Path privateDir;
        try {
            privateDir = SocketPlacement.privateDirectory(socketPath, uid);
        } catch (IOException e) {
            err.println("fspd: cannot use the private directory for the log and bundle cache: " + e.getMessage()
                    + "; choose another --socket");
            return EXIT_BAD_INPUT;
        }

        Path devicePath = null;
        FileLock deviceLock = null;
        if (driver.equals("io_uring")) {
            devicePath = (device != null ? device : paths.defaultDevice())
                    .toAbsolutePath()
                    .normalize();
            try {
                DeviceCheck.prepare(devicePath, sizeBytes, device == null, out);
                if (!supervised) {
                    deviceLock = lockDevice(devicePath);
                }
            } catch (DeviceCheck.BadDeviceException e) {
                err.println("fspd: " + e.getMessage());
                return e.alreadyInUse ? EXIT_ALREADY_RUNNING : EXIT_BAD_INPUT;
            }
        }
        if (supervise) {
            if (deviceLock != null) {
                deviceLock.channel().close(); // checked free; each fspd the supervisor starts takes it in turn
            }
            printWhereThingsAre(
                    pciAddress,
                    driver.equals("nvme-passthru") ? device.toAbsolutePath() : devicePath,
                    sizeBytes,
                    socketPath,
                    adminPath,
                    privateDir.resolve("fspd.log"));
            return new Supervisor(
                            home.resolve("bin/fspd"),
                            childArguments(socketPath, devicePath),
                            socketPath,
                            privateDir,
                            new Supervisor.CrashPolicy(
                                    crashLimit,
                                    Duration.ofSeconds(crashWindowSeconds),
                                    Duration.ofSeconds(maxBackoffSeconds)),
                            out)
                    .run();
        }
        ControlChannel control = null;
        int listenFd = -1;
        boolean holdAtStart = false;
        if (supervised) {
            String reply;
            try {
                control = ControlChannel.connect(supervisedBy.toString());
                control.send("hello " + ProcessHandle.current().pid());
                reply = control.receive();
            } catch (NativeException e) {
                err.println("fspd: cannot reach the supervisor at " + supervisedBy + ": " + e.getMessage());
                return EXIT_FAILED;
            }
            listenFd = control.takeDescriptor();
            if (reply == null || !reply.startsWith("socket ") || listenFd < 0) {
                err.println("fspd: the supervisor at " + supervisedBy + " did not hand over the client socket");
                return EXIT_FAILED;
            }
            holdAtStart = reply.equals("socket hold");
        }

        boolean interactive = !headless && !supervised && System.console() != null;
        Map<String, String> props = frameworkProperties(home, privateDir);
        if (supervised) {
            props.put(
                    Constants.FRAMEWORK_STORAGE,
                    privateDir
                            .resolve(SUPERVISED_CACHE_PREFIX
                                    + ProcessHandle.current().pid())
                            .toString());
            props.put(FrameworkProperties.SOCKET_LISTEN_FD, Integer.toString(listenFd));
        }
        props.put(FrameworkProperties.HOME, home.toString());
        props.putIfAbsent("felix.fileinstall.dir", home.resolve("conf").toString()); // conf/<pid>.cfg -> ConfigAdmin
        props.put(FrameworkProperties.DEVICE_DRIVER, driver);
        props.put(FrameworkProperties.DEVICE_SIZE, Long.toString(sizeBytes));
        props.put(FrameworkProperties.SOCKET_PATH, socketPath.toString());
        props.put(FrameworkProperties.ADMIN_SOCKET_PATH, adminPath.toString());
        if (devicePath != null) {
            props.put(FrameworkProperties.DEVICE_PATH, devicePath.toString());
        }
        if (mount != null) {
            props.put(
                    FrameworkProperties.FUSE_MOUNT,
                    mount.toAbsolutePath().normalize().toString());
        }
        if (pciAddress != null) {
            props.put(FrameworkProperties.DEVICE_PCI, pciAddress);
        }
        if (driver.equals("nvme-passthru")) {
            devicePath = device.toAbsolutePath();
            props.put(FrameworkProperties.DEVICE_PATH, devicePath.toString());
        }
        // Headless: no console session, and its end must not stop the framework (Gogo stops it by default).
        props.put("gosh.args", interactive ? "" : "--nointeractive --noshutdown");
        Path logFile = privateDir.resolve("fspd.log");
        System.setProperty("fsp.log.file", logFile.toString()); // read by conf/logback.xml

        Path bundleDir = home.resolve("bundle");
        List<Path> levels = startLevelDirectories(bundleDir);
        if (levels.isEmpty()) {
            err.println("fspd: no bundles under " + bundleDir + "; is fsp.home (" + home + ") a built distribution?");
            return EXIT_FAILED;
        }
        // The framework climbs to this level when it starts, starting bundle/1, then bundle/2, ...; a standby stops
        // below FSP's layers and climbs the rest when it takes over.
        int topLevel = Integer.parseInt(levels.getLast().getFileName().toString());
        props.put(Constants.FRAMEWORK_BEGINNING_STARTLEVEL, Integer.toString(supervised ? Standby.LEVEL : topLevel));

        Framework framework = ServiceLoader.load(FrameworkFactory.class)
                .findFirst()
                .orElseThrow()
                .newFramework(props);
        framework.init();
        // SIGTERM and SIGINT stop the framework and let main return, so an orderly stop exits 0 (a bare shutdown
        // hook would leave the JVM's 143). The hook still covers other ways the JVM may exit.
        Standby standby = supervised ? new Standby(framework, control, topLevel, holdAtStart) : null;
        for (String signal : List.of("TERM", "INT")) {
            Signal.handle(
                    new Signal(signal),
                    s -> Thread.ofPlatform().name("fspd-" + s.getName()).start(() -> {
                        if (standby != null && !standby.tookOver()) {
                            System.exit(EXIT_OK); // blocked on the device lock or the supervisor's word
                        }
                        stopQuietly(framework);
                    }));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopQuietly(framework), "fspd-shutdown"));
        int problems = installBundles(framework, levels);
        if (standby != null) {
            framework.start();
            deviceLock = standby.awaitTurn(devicePath);
            if (deviceLock == null && !standby.tookOver()) {
                stopQuietly(framework);
                return EXIT_OK; // the supervisor stops
            }
        }
        if (!supervised) { // the supervisor said where things are, once; each restart is one line of its own
            printWhereThingsAre(pciAddress, devicePath, sizeBytes, socketPath, adminPath, logFile);
            out.println("fspd: pid " + ProcessHandle.current().pid()
                    + (interactive ? ", shell follows; 'shutdown' stops" : ", headless; SIGTERM stops"));
        }
        if (standby != null) {
            standby.takeOver();
        } else {
            framework.start();
        }
        if (problems > 0) {
            err.println("fspd: " + problems + " bundle(s) failed to install or start; see the log and 'lb'");
        }
        framework.waitForStop(0);
        if (standby != null) {
            standby.stopped(); // before the lock goes, so that the supervisor lets no standby take over
        }
        if (deviceLock != null) {
            deviceLock.channel().close();
        }
        out.println("fspd: stopped");
        return problems > 0 ? EXIT_FAILED : EXIT_OK;
    }

    private void printWhereThingsAre(
            String pciAddress, Path devicePath, long sizeBytes, Path socketPath, Path adminPath, Path logFile) {
        out.println("fspd: device "
                + (pciAddress != null
                        ? "NVMe controller " + pciAddress + " (user-space driver over VFIO)"
                        : devicePath == null ? "RAM (" + Sizes.human(sizeBytes) + ", lost at exit)" : devicePath));
        out.println("fspd: client socket " + socketPath);
        out.println("fspd: admin shell   " + adminPath + "  (bin/fsp shell)");
        if (mount != null) {
            out.println("fspd: FUSE mount    " + mount.toAbsolutePath().normalize() + "  (fsp:mount shows it)");
        }
        out.println("fspd: log           " + logFile);
    }

    /** The options of the fspd the supervisor starts: this one's, with the defaults resolved. */
    private List<String> childArguments(Path socketPath, Path devicePath) {
        List<String> args = new ArrayList<>(
                List.of("--headless", "--socket", socketPath.toString(), "--driver", driver, "--size", size));
        if (devicePath != null || device != null) {
            args.addAll(List.of("--device", (devicePath != null ? devicePath : device.toAbsolutePath()).toString()));
        }
        if (pci != null) {
            args.addAll(List.of("--pci", pci));
        }
        if (mount != null) {
            args.addAll(List.of("--mount", mount.toAbsolutePath().normalize().toString()));
        }
        return args;
    }

    static void stopQuietly(Framework framework) {
        try {
            if ((framework.getState() & (Bundle.ACTIVE | Bundle.STARTING)) != 0) {
                framework.stop();
                framework.waitForStop(60_000);
            }
        } catch (Exception e) {
            System.err.println("fspd: error while stopping: " + e);
        }
    }

    enum SocketState {
        ABSENT,
        LIVE,
        STALE
    }

    /** A socket file that accepts a connection belongs to a live daemon; one that refuses was left by a dead one. */
    static SocketState probeSocket(Path socketPath) {
        if (!Files.exists(socketPath)) {
            return SocketState.ABSENT;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socketPath));
            return SocketState.LIVE;
        } catch (IOException e) {
            return SocketState.STALE;
        }
    }

    /**
     * Takes an exclusive lock that lives as long as this process, so a second daemon on the same device refuses to
     * start. The lock is on a side file: a POSIX lock on the device itself would be dropped when the driver closes its
     * own descriptor for it.
     */
    static FileLock lockDevice(Path devicePath) throws IOException, DeviceCheck.BadDeviceException {
        Path lockFile = lockFileFor(devicePath);
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            FileLock lock = ch.tryLock();
            if (lock == null) {
                ch.close();
                throw new DeviceCheck.BadDeviceException(
                        "device " + devicePath + " is in use by another fspd (lock " + lockFile + ")", true);
            }
            return lock;
        } catch (OverlappingFileLockException e) {
            ch.close();
            throw new DeviceCheck.BadDeviceException("device " + devicePath + " is already open in this process", true);
        }
    }

    /**
     * The lock of {@link #lockDevice}, waited for: a standby blocks here until the fspd serving the device dies (the
     * kernel drops a dead process's locks at once) or stops.
     */
    static FileLock awaitDeviceLock(Path devicePath) throws IOException {
        FileChannel ch = FileChannel.open(lockFileFor(devicePath), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            return ch.lock();
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The device lock if nobody holds it, else null (without waiting). */
    static FileLock tryDeviceLock(Path devicePath) throws IOException {
        FileChannel ch = FileChannel.open(lockFileFor(devicePath), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            FileLock lock = ch.tryLock();
            if (lock == null) {
                ch.close();
            }
            return lock;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static Path lockFileFor(Path devicePath) {
        return Files.isRegularFile(devicePath)
                // The name fsp fsck --repair locks too (Fsck.lockFileFor; fs-core is not on fspd's class path).
                ? devicePath.resolveSibling(devicePath.getFileName() + ".lock")
                : Path.of(
                        System.getProperty("java.io.tmpdir"),
                        "fsp-" + devicePath.toString().replace('/', '_') + ".lock");
    }

    private static Map<String, String> frameworkProperties(Path home, Path privateDir) throws IOException {
        Map<String, String> props = new HashMap<>();
        Path conf = home.resolve("conf/config.properties");
        if (Files.exists(conf)) {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(conf)) {
                p.load(in);
            }
            p.stringPropertyNames().forEach(k -> props.put(k, p.getProperty(k)));
        }
        // One bundle cache per socket, in its private directory, wiped at each start: the bundle/ directory is the
        // source of truth.
        props.putIfAbsent(
                Constants.FRAMEWORK_STORAGE, privateDir.resolve("felix-cache").toString());
        props.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        return props;
    }

    /** The {@code bundle/N} directories, in ascending N. */
    static List<Path> startLevelDirectories(Path bundleDir) throws IOException {
        if (!Files.isDirectory(bundleDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(bundleDir)) {
            return s.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .sorted(Comparator.comparingInt(
                            p -> Integer.parseInt(p.getFileName().toString())))
                    .toList();
        }
    }

    /**
     * Installs every jar under each {@code bundle/N/} with start level N and marks it for start; the framework starts
     * them level by level when it starts. Returns how many failed.
     */
    static int installBundles(Framework framework, List<Path> levels) throws IOException {
        int problems = 0;
        List<Bundle> installed = new ArrayList<>();
        for (Path levelDir : levels) {
            int level = Integer.parseInt(levelDir.getFileName().toString());
            List<Path> jars;
            try (Stream<Path> s = Files.list(levelDir)) {
                jars = s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
            }
            for (Path jar : jars) {
                try {
                    Bundle b = framework
                            .getBundleContext()
                            .installBundle(jar.toUri().toString());
                    b.adapt(BundleStartLevel.class).setStartLevel(level);
                    installed.add(b);
                } catch (BundleException e) {
                    System.err.println("fspd: cannot install " + jar + ": " + e.getMessage());
                    problems++;
                }
            }
        }
        for (Bundle b : installed) {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                try {
                    b.start();
                } catch (BundleException e) {
                    System.err.println("fspd: cannot start " + b.getSymbolicName() + ": " + e.getMessage());
                    problems++;
                }
            }
        }
        return problems;
    }
}
