package org.fsp.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerJarsTest {

    @TempDir
    Path dir;

    @Test
    void shouldFindTheOneShippedJarOfALayerAtAnyStartLevel() throws IOException {
        Path coreJar = bundle(dir.resolve("dist/bundle/5"), "fs-core-0.1.0-SNAPSHOT.jar", "0.1.0.SNAPSHOT");
        bundle(dir.resolve("dist/bundle/3"), "fs-api-0.1.0-SNAPSHOT.jar", "0.1.0.SNAPSHOT");
        // A name that only starts like the layer's is another artifact, not a second version of it.
        bundle(dir.resolve("dist/bundle/5"), "fs-core-provenance-0.2.0.jar", "0.2.0");

        assertEquals(coreJar.toAbsolutePath(), LayerJars.shipped(dir.resolve("dist"), "fs-core"));
    }

    @Test
    void shouldRefuseALayerWithNoJarOrWithTwo() throws IOException {
        bundle(dir.resolve("dist/bundle/4"), "block-sched-0.1.0.jar", "0.1.0");
        bundle(dir.resolve("dist/bundle/6"), "block-sched-0.2.0.jar", "0.2.0");

        IOException two = assertThrows(IOException.class, () -> LayerJars.shipped(dir.resolve("dist"), "block-sched"));
        assertTrue(two.getMessage().contains("expected one block-sched jar"), two.getMessage());
        assertThrows(IOException.class, () -> LayerJars.shipped(dir.resolve("dist"), "ipc-shm"));
    }

    @Test
    void shouldCopyEveryEntryUnderABundleVersionWithTheQualifierAppended() throws IOException {
        Path jar = bundle(dir.resolve("in"), "ipc-shm-0.1.0-SNAPSHOT.jar", "0.1.0.SNAPSHOT");
        Path out = Files.createDirectories(dir.resolve("out"));

        Path copy = LayerJars.reversioned(jar, out, "upgrade0");

        assertEquals(out.resolve("ipc-shm-0.1.0-SNAPSHOT-upgrade0.jar"), copy);
        assertEquals("0.1.0.SNAPSHOT-upgrade0", LayerJars.bundleVersion(copy));
        assertEquals("0.1.0.SNAPSHOT", LayerJars.bundleVersion(jar), "the shipped jar is left as it was");
        try (JarFile in = new JarFile(copy.toFile())) {
            assertEquals("org.fsp.ipc-shm", in.getManifest().getMainAttributes().getValue("Bundle-SymbolicName"));
            List<String> names = new ArrayList<>();
            Collections.list(in.entries()).forEach(e -> names.add(e.getName()));
            assertEquals(List.of("META-INF/MANIFEST.MF", "org/fsp/ipc/shm/A.class", "OSGI-INF/a.xml"), names);
            assertArrayEquals(
                    "class bytes".getBytes(StandardCharsets.UTF_8),
                    in.getInputStream(in.getEntry("org/fsp/ipc/shm/A.class")).readAllBytes());
        }
    }

    /** A jar named {@code name} in {@code dir} with a bundle manifest and two entries. */
    private static Path bundle(Path dir, String name, String version) throws IOException {
        Files.createDirectories(dir);
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-SymbolicName", "org.fsp.ipc-shm");
        main.putValue("Bundle-Version", version);
        Path jar = dir.resolve(name);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
            out.putNextEntry(new JarEntry("org/fsp/ipc/shm/A.class"));
            out.write("class bytes".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            out.putNextEntry(new JarEntry("OSGI-INF/a.xml"));
            out.write("<component/>".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        return jar;
    }
}
