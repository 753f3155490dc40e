package org.fsp.fs.core.provenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The bundle bnd wrote (into target/classes, before the tests run) is an fs-core update: fs-core's symbolic name, a
 * higher version, fs-core's packages inside, exactly one DS component and it has fs-core's PID, nothing exported.
 */
class BundleManifestTest {

    private static final Path CLASSES = Path.of("target/classes");

    private static Attributes manifest() throws IOException {
        try (InputStream in = Files.newInputStream(CLASSES.resolve("META-INF/MANIFEST.MF"))) {
            return new Manifest(in).getMainAttributes();
        }
    }

    @Test
    void shouldBeANewerVersionOfFsCore() throws IOException {
        Attributes m = manifest();
        assertEquals("org.fsp.fs-core", m.getValue("Bundle-SymbolicName"));
        assertTrue(m.getValue("Bundle-Version").startsWith("0.2.0."), m.getValue("Bundle-Version"));
        assertTrue(m.getValue("Private-Package").contains("org.fsp.fs.core.journal"), m.getValue("Private-Package"));
        assertTrue(Files.isRegularFile(CLASSES.resolve("org/fsp/fs/core/FsCore.class")), "fs-core's classes inside");
        assertEquals(null, m.getValue("Export-Package"), "an implementation bundle exports nothing");
        String imports = m.getValue("Import-Package");
        assertFalse(imports.contains("org.fsp.fs.core"), "fs-core is inside, not imported: " + imports);
        assertTrue(imports.contains("org.fsp.api.fs"), imports);
    }

    @Test
    void shouldDeclareExactlyOneComponentWithFsCoresPid() throws IOException {
        String header = manifest().getValue("Service-Component");
        assertEquals("OSGI-INF/org.fsp.fs.core.provenance.ProvenanceFsCoreComponent.xml", header);
        List<Path> descriptors;
        try (Stream<Path> files = Files.list(CLASSES.resolve("OSGI-INF"))) {
            descriptors = files.filter(p -> p.toString().endsWith(".xml")).toList();
        }
        assertEquals(1, descriptors.size(), descriptors.toString());
        String xml = Files.readString(descriptors.getFirst());
        assertTrue(xml.contains("configuration-pid=\"org.fsp.fs.core\""), xml);
    }
}
