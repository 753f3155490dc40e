package org.fsp.itests;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.frameworkStartLevel;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemPackage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.ops4j.pax.exam.Option;

/**
 * The bundle set under test, read from the built distribution's {@code bundle/<start level>/} directories: the same
 * list {@code bin/fspd} installs, so the suites and the product cannot drift apart.
 */
final class FspBundleSet {

    /** Symbolic names of FSP's own bundles that the distribution must ship. */
    static final List<String> FSP_BUNDLES = List.of(
            "org.fsp.fs-api",
            "org.fsp.native-linux",
            "org.fsp.block-nvme",
            "org.fsp.block-sched",
            "org.fsp.fs-core",
            "org.fsp.sched-polling",
            "org.fsp.ipc-shm",
            "org.fsp.ipc-fuse",
            "org.fsp.admin",
            "org.fsp.upgrade");

    private FspBundleSet() {}

    /** The built distribution directory ({@code distribution/target/fsp}). */
    static Path distribution() {
        Path dist = Path.of(System.getProperty("fsp.dist", "../distribution/target/fsp"))
                .toAbsolutePath()
                .normalize();
        if (!Files.isDirectory(dist.resolve("bundle"))) {
            throw new IllegalStateException("no built distribution at " + dist + "; run the build from the root");
        }
        return dist;
    }

    /** A fresh directory for one suite's device image and sockets. */
    static Path workDirectory(String suite) {
        try {
            Path base = Path.of(System.getProperty("fsp.itests.work", "target/it-work"));
            Files.createDirectories(base);
            return Files.createTempDirectory(base.toAbsolutePath(), suite + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The jar the distribution ships whose file name starts with {@code prefix} (e.g. "fs-core-"), at any level. */
    static Path shippedJar(String prefix) throws IOException {
        try (Stream<Path> jars = Files.walk(distribution().resolve("bundle"), 2)) {
            return jars.filter(p -> p.getFileName().toString().startsWith(prefix)
                            && p.getFileName().toString().endsWith(".jar"))
                    .findFirst()
                    .orElseThrow(
                            () -> new AssertionError("no " + prefix + "*.jar under " + distribution() + "/bundle"));
        }
    }

    /**
     * Pax Exam options: every distribution bundle at its start level, plus device and socket locations, and
     * fsp-test-support's {@code org.fsp.support} for the test code.
     */
    static Option[] options(Path work, String driver) {
        List<Option> options = new ArrayList<>();
        int top = 1;
        try (Stream<Path> levels = Files.list(distribution().resolve("bundle"))) {
            for (Path levelDir : levels.sorted().toList()) {
                int level = Integer.parseInt(levelDir.getFileName().toString());
                top = Math.max(top, level);
                try (Stream<Path> jars = Files.list(levelDir)) {
                    for (Path jar : jars.filter(p -> p.toString().endsWith(".jar"))
                            .sorted()
                            .toList()) {
                        options.add(
                                bundle(jar.toUri().toString()).startLevel(level).start());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Pax Exam climbs to its test-bundle level (5) unless told otherwise; the FSP layers go up to bundle/7.
        options.add(frameworkStartLevel(Math.max(top, 5)));
        options.add(frameworkProperty("fsp.device.path")
                .value(work.resolve("device.img").toString()));
        options.add(frameworkProperty("fsp.device.size").value(Long.toString(64L << 20)));
        options.add(frameworkProperty("fsp.device.driver").value(driver));
        options.add(frameworkProperty("fsp.socket.path")
                .value(work.resolve("fsp.sock").toString()));
        options.add(frameworkProperty("fsp.admin.socket.path")
                .value(work.resolve("fsp.sock.admin").toString()));
        // Not org.osgi.framework.system.packages.extra: the native container sets it for its own packages, and
        // replacing it leaves the probe without a ProbeInvoker. Felix exports jdk.* packages by default.
        // The probe bundle holds only this module's test classes. fsp-test-support (LayerJars and the rest), a plain
        // jar on this JVM's class path, reaches them as a package of the system bundle: a system package option joins
        // the container's own list instead of replacing it.
        options.add(systemPackage("org.fsp.support"));
        options.add(frameworkProperty("gosh.args").value("--nointeractive --noshutdown"));
        options.add(frameworkProperty("felix.fileinstall.dir")
                .value(work.resolve("conf").toString()));
        options.add(junitBundles());
        return options.toArray(Option[]::new);
    }
}
