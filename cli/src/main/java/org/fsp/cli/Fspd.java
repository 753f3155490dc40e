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
        for (Path s : List.of(socketPath, adminPath)) {
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
                deviceLock = lockDevice(devicePath);
            } catch (DeviceCheck.BadDeviceException e) {
                err.println("fspd: " + e.getMessage());
                return e.alreadyInUse ? EXIT_ALREADY_RUNNING : EXIT_BAD_INPUT;
            }
        }

        boolean interactive = !headless && System.console() != null;
        Map<String, String> props = frameworkProperties(home, privateDir);
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
        // The framework climbs to this level when it starts, starting bundle/1, then bundle/2, ...
        props.put(
                Constants.FRAMEWORK_BEGINNING_STARTLEVEL,
                levels.getLast().getFileName().toString());

        Framework framework = ServiceLoader.load(FrameworkFactory.class)
                .findFirst()
                .orElseThrow()
                .newFramework(props);
        framework.init();
        // SIGTERM and SIGINT stop the framework and let main return, so an orderly stop exits 0 (a bare shutdown
        // hook would leave the JVM's 143). The hook still covers other ways the JVM may exit.
        for (String signal : List.of("TERM", "INT")) {
            Signal.handle(
                    new Signal(signal),
                    s -> Thread.ofPlatform().name("fspd-" + s.getName()).start(() -> stopQuietly(framework)));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopQuietly(framework), "fspd-shutdown"));
        int problems = installBundles(framework, levels);
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
        out.println("fspd: pid " + ProcessHandle.current().pid()
                + (interactive ? ", shell follows; 'shutdown' stops" : ", headless; SIGTERM stops"));
        framework.start();
        if (problems > 0) {
            err.println("fspd: " + problems + " bundle(s) failed to install or start; see the log and 'lb'");
        }
        framework.waitForStop(0);
        if (deviceLock != null) {
            deviceLock.channel().close();
        }
        out.println("fspd: stopped");
        return problems > 0 ? EXIT_FAILED : EXIT_OK;
    }

    private static void stopQuietly(Framework framework) {
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
        Path lockFile = Files.isRegularFile(devicePath)
                // The name fsp fsck --repair locks too (Fsck.lockFileFor; fs-core is not on fspd's class path).
                ? devicePath.resolveSibling(devicePath.getFileName() + ".lock")
                : Path.of(
                        System.getProperty("java.io.tmpdir"),
                        "fsp-" + devicePath.toString().replace('/', '_') + ".lock");
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
