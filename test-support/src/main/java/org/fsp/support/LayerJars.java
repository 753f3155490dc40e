package org.fsp.support;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * The jars a layer is upgraded between: the one the distribution ships and "another version" of it, which is the
 * same code under another Bundle-Version. A layer without a second release can still be upgraded this way: the
 * framework installs the copy side by side with the running bundle, as it would a real new version. Nothing here
 * writes into the distribution; copies go where the caller says.
 *
 * <p>A typical sequence is: {@link #shipped} finds the layer's jar under {@code bundle/}, {@link #reversioned} makes a
 * copy with a qualifier appended, the test or benchmark upgrades the layer to the copy and back to the shipped jar,
 * and {@link #bundleVersion} tells which version it should then find running.
 */
public final class LayerJars {

    private LayerJars() {}

    /**
     * The jar of the layer called {@code shellName} (its artifact name, e.g. {@code fs-core}) under the distribution's
     * {@code bundle/<start level>/}.
     *
     * @throws IOException if there is not exactly one
     */
    public static Path shipped(Path dist, String shellName) throws IOException {
        List<Path> found;
        try (Stream<Path> files = Files.walk(dist.resolve("bundle"), 2)) {
            found = files.filter(p -> {
                        String name = p.getFileName().toString();
                        return name.endsWith(".jar")
                                && name.startsWith(shellName + "-")
                                && Character.isDigit(name.charAt(shellName.length() + 1));
                    })
                    .toList();
        }
        if (found.size() != 1) {
            throw new IOException(
                    "expected one " + shellName + " jar under " + dist.resolve("bundle") + ", found " + found);
        }
        return found.getFirst().toAbsolutePath();
    }

    /**
     * A copy of {@code jar} in {@code dir}, named {@code <jar name>-<qualifierSuffix>.jar}, whose Bundle-Version has
     * {@code -qualifierSuffix} appended; every other entry is copied unchanged.
     */
    public static Path reversioned(Path jar, Path dir, String qualifierSuffix) throws IOException {
        Path out = dir.resolve(jar.getFileName().toString().replace(".jar", "-" + qualifierSuffix + ".jar"));
        try (JarFile in = new JarFile(jar.toFile())) {
            Manifest manifest = new Manifest(in.getManifest());
            Attributes main = manifest.getMainAttributes();
            main.putValue("Bundle-Version", main.getValue("Bundle-Version") + "-" + qualifierSuffix);
            try (JarOutputStream copy = new JarOutputStream(Files.newOutputStream(out), manifest)) {
                for (Enumeration<JarEntry> entries = in.entries(); entries.hasMoreElements(); ) {
                    JarEntry e = entries.nextElement();
                    // The constructor wrote the new manifest; the old one must not follow it.
                    if (e.getName().equals(JarFile.MANIFEST_NAME)) {
                        continue;
                    }
                    copy.putNextEntry(new JarEntry(e.getName()));
                    try (InputStream data = in.getInputStream(e)) {
                        data.transferTo(copy);
                    }
                    copy.closeEntry();
                }
            }
        }
        return out;
    }

    /** The Bundle-Version header of {@code jar} as written (an OSGi framework may print it normalized). */
    public static String bundleVersion(Path jar) throws IOException {
        try (JarFile in = new JarFile(jar.toFile())) {
            return in.getManifest().getMainAttributes().getValue("Bundle-Version");
        }
    }
}
