package org.fsp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fspd's NVMe checks against a sysfs and /dev laid out in a temporary directory. */
class NvmePreflightTest {

    private static final String PCI = "0000:00:04.0";

    @TempDir
    Path dir;

    private Path sys;
    private Path dev;
    private Path function;

    @BeforeEach
    void layOut() throws Exception {
        sys = dir.resolve("sys");
        dev = dir.resolve("dev");
        function = Files.createDirectories(sys.resolve("bus/pci/devices").resolve(PCI));
        Files.createDirectories(sys.resolve("bus/pci/drivers/vfio-pci"));
        Files.createDirectories(sys.resolve("bus/pci/drivers/nvme"));
        Files.createDirectories(sys.resolve("kernel/iommu_groups/7"));
        Files.createDirectories(dev.resolve("vfio"));
    }

    private String message() {
        return assertThrows(NvmePreflight.NotReadyException.class, () -> NvmePreflight.check(PCI, sys, dev))
                .getMessage();
    }

    @Test
    void shouldNameTheDriverTheFunctionIsBoundTo() throws Exception {
        Files.createSymbolicLink(function.resolve("driver"), sys.resolve("bus/pci/drivers/nvme"));
        String m = message();
        assertTrue(m.contains("bound to nvme, not vfio-pci"), m);
    }

    @Test
    void shouldSayWhenThereIsNoVfioOrNoIommu() throws Exception {
        Files.createSymbolicLink(function.resolve("driver"), sys.resolve("bus/pci/drivers/vfio-pci"));
        assertTrue(message().contains("no VFIO"), message());
        Files.createFile(dev.resolve("vfio/vfio"));
        assertTrue(message().contains("no IOMMU"), message());
    }

    @Test
    void shouldAcceptABoundFunctionWithItsGroupAndRejectBadAddresses() throws Exception {
        Files.createSymbolicLink(function.resolve("driver"), sys.resolve("bus/pci/drivers/vfio-pci"));
        Files.createSymbolicLink(function.resolve("iommu_group"), sys.resolve("kernel/iommu_groups/7"));
        Files.createFile(dev.resolve("vfio/vfio"));
        Files.createFile(dev.resolve("vfio/noiommu-7"));
        assertEquals(PCI, NvmePreflight.check("0000:00:04.0", sys, dev));
        assertThrows(NvmePreflight.NotReadyException.class, () -> NvmePreflight.check("00:04.0", sys, dev));
        assertThrows(NvmePreflight.NotReadyException.class, () -> NvmePreflight.check("0000:00:09.0", sys, dev));
        assertTrue(assertThrows(NvmePreflight.NotReadyException.class, () -> NvmePreflight.check(null, sys, dev))
                .getMessage()
                .contains("--pci"));
    }

    @Test
    void shouldSayWhereTheDriverIsMissingWhenTheNamespaceCannotBeChecked() throws Exception {
        Files.createDirectories(dir.resolve("home/lib/tools"));
        String noJars = assertThrows(
                        NvmePreflight.NotReadyException.class,
                        () -> NvmePreflight.checkNamespace(PCI, dir.resolve("home")))
                .getMessage();
        assertTrue(noJars.contains("no NVMe driver in"), noJars);
        String noTools = assertThrows(
                        NvmePreflight.NotReadyException.class,
                        () -> NvmePreflight.checkNamespace(PCI, dir.resolve("x")))
                .getMessage();
        assertTrue(noTools.contains("cannot read the NVMe driver from"), noTools);
    }
}
