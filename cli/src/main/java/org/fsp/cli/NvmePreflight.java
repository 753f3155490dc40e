package org.fsp.cli;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What {@code fspd --driver nvme} checks before it starts the framework, so that the mistakes an operator makes
 * when handing a controller to the user-space driver end with a message and exit status 2 rather than a failed
 * bundle: the PCI function exists, is bound to vfio-pci, VFIO and an IOMMU group (or no-IOMMU mode) are there, and
 * this user may open them; then {@link #checkNamespace} lets the driver read Identify once, for the namespace's LBA
 * format.
 */
final class NvmePreflight {

    private static final Pattern PCI_ADDRESS = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");

    private NvmePreflight() {}

    /** A check that failed: the message says what to do. */
    static final class NotReadyException extends Exception {
        NotReadyException(String message) {
            super(message);
        }
    }

    /**
     * @param sysfs {@code /sys} (a parameter for tests)
     * @param dev {@code /dev} (a parameter for tests)
     * @return the normalized PCI address
     */
    static String check(String pciAddress, Path sysfs, Path dev) throws NotReadyException {
        if (pciAddress == null || pciAddress.isBlank()) {
            throw new NotReadyException("--driver nvme needs --pci ADDRESS (e.g. 0000:00:04.0; lspci -D lists them)");
        }
        String address = pciAddress.trim().toLowerCase(Locale.ROOT);
        if (!PCI_ADDRESS.matcher(address).matches()) {
            throw new NotReadyException("--pci '" + pciAddress + "' is not a PCI address of the form 0000:00:04.0");
        }
        Path device = sysfs.resolve("bus/pci/devices").resolve(address);
        if (!Files.exists(device)) {
            throw new NotReadyException("no PCI device " + address + " (lspci -D lists the devices)");
        }
        String driver = linkName(device.resolve("driver"));
        if (!"vfio-pci".equals(driver)) {
            throw new NotReadyException("PCI device " + address
                    + (driver == null ? " is bound to no driver" : " is bound to " + driver)
                    + ", not vfio-pci; bind it (see the README's NVMe driver section): modprobe vfio-pci; echo vfio-pci > "
                    + device + "/driver_override; echo " + address + " > " + device
                    + "/driver/unbind; echo " + address + " > /sys/bus/pci/drivers_probe");
        }
        Path container = dev.resolve("vfio/vfio");
        if (!Files.exists(container)) {
            throw new NotReadyException("no VFIO: " + container + " does not exist (modprobe vfio-pci)");
        }
        String group = linkName(device.resolve("iommu_group"));
        Path groupFile = group == null ? null : dev.resolve("vfio").resolve(group);
        if (groupFile != null && !Files.exists(groupFile)) {
            groupFile = dev.resolve("vfio").resolve("noiommu-" + group);
        }
        if (groupFile == null || !Files.exists(groupFile)) {
            throw new NotReadyException("no IOMMU for " + address + ": boot with intel_iommu=on (or amd_iommu=on), or"
                    + " without an IOMMU load vfio with enable_unsafe_noiommu_mode=1");
        }
        for (Path p : new Path[] {container, groupFile}) {
            if (!Files.isReadable(p) || !Files.isWritable(p)) {
                throw new NotReadyException("no permission to open " + p + ": run fspd as root, or chown " + p
                        + " to this user and raise its locked-memory limit (ulimit -l)");
            }
        }
        return address;
    }

    /**
     * Brings the controller up with the driver of {@code home/lib/tools} (block-nvme, not on the launcher's class
     * path), identifies the namespace and shuts the controller down: a namespace formatted with an LBA size other
     * than 512 or 4096 bytes, or with metadata, or a controller VFIO will not hand over, fails here with the driver's
     * message.
     *
     * @return the device's one-line description
     */
    static String checkNamespace(String address, Path home) throws NotReadyException {
        Path tools = home.resolve("lib/tools");
        URL[] jars;
        try (var list = Files.list(tools)) {
            jars = list.filter(p -> p.toString().endsWith(".jar"))
                    .map(NvmePreflight::url)
                    .toArray(URL[]::new);
        } catch (IOException | IllegalArgumentException e) {
            throw new NotReadyException("cannot read the NVMe driver from " + tools + ": " + e.getMessage());
        }
        try (URLClassLoader loader = new URLClassLoader(jars, ClassLoader.getPlatformClassLoader())) {
            Class<?> driver = Class.forName("org.fsp.block.nvme.NvmeBlockDevice", true, loader);
            return (String) driver.getMethod("probe", String.class).invoke(null, address);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new NotReadyException("cannot use NVMe controller " + address + ": " + cause.getMessage());
        } catch (ReflectiveOperationException | IOException e) {
            throw new NotReadyException(
                    "no NVMe driver in " + tools + " (" + e + "); is fsp.home a built distribution?");
        }
    }

    private static URL url(Path jar) {
        try {
            return jar.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** For {@code --driver nvme-passthru}: the device is an NVMe generic character device this user may open. */
    static void checkGenericDevice(Path device) throws NotReadyException {
        if (device == null) {
            throw new NotReadyException("--driver nvme-passthru needs --device /dev/ngXnY (ls /dev/ng*)");
        }
        if (!device.getFileName().toString().matches("ng\\d+n\\d+")) {
            throw new NotReadyException(device + " is not an NVMe generic device (/dev/ngXnY, Linux 5.19+)");
        }
        if (!Files.exists(device)) {
            throw new NotReadyException("no such device " + device + " (is the controller bound to the nvme driver?)");
        }
        if (!Files.isReadable(device) || !Files.isWritable(device)) {
            throw new NotReadyException("no permission to open " + device + ": run fspd as root or chown it");
        }
    }

    private static String linkName(Path link) {
        try {
            return Files.readSymbolicLink(link).getFileName().toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
