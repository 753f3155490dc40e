package org.fsp.block.nvme.pci;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeCall;
import org.fsp.linux.NativeException;

/**
 * A PCI function bound to {@code vfio-pci}, opened through the VFIO container/group interface: its BAR0 mapped into
 * this process, bus mastering enabled, and DMA memory mapped for it ({@link #mapDma}).
 *
 * <p>A typical sequence is: {@link #open} (sysfs checks, container, group, IOMMU type, device fd, BAR0 mmap),
 * {@link #registers()}, {@link #mapDma}, and {@link #close()}. With an IOMMU (type 1) DMA memory is mapped at an IOVA
 * of the driver's choosing; in VFIO's no-IOMMU mode ({@code /dev/vfio/noiommu-N}) the device uses physical
 * addresses, read from {@code /proc/self/pagemap} for memory that is locked in place (hugepages if reserved, else
 * mlocked pages).
 */
public final class VfioPciDevice implements AutoCloseable {

    private static final Pattern PCI_ADDRESS = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
    private static final int EACCES = 13;
    private static final int EPERM = 1;
    private static final int ENOENT = 2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_HUGETLB = 0x40000;
    private static final long HUGE_PAGE_BYTES = 2L << 20;
    /** IOVAs the driver hands out start here (below it lies nothing of ours; 0 is avoided to catch null DMA). */
    private static final long IOVA_BASE = 1L << 32;

    private static final MethodHandle IOCTL_PTR =
            NativeCall.bindVariadic("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);
    private static final MethodHandle IOCTL_LONG =
            NativeCall.bindVariadic("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);
    private static final MethodHandle PREAD =
            NativeCall.bind("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE =
            NativeCall.bind("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MLOCK =
            NativeCall.bind("mlock", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));

    private final String pciAddress;
    private final boolean noIommu;
    private final int containerFd;
    private final int groupFd;
    private final int deviceFd;
    private final MemorySegment bar0;
    private final MmioRegisters registers;
    private long nextIova = IOVA_BASE;
    private boolean closed;

    private VfioPciDevice(
            String pciAddress, boolean noIommu, int containerFd, int groupFd, int deviceFd, MemorySegment bar0) {
        this.pciAddress = pciAddress;
        this.noIommu = noIommu;
        this.containerFd = containerFd;
        this.groupFd = groupFd;
        this.deviceFd = deviceFd;
        this.bar0 = bar0;
        this.registers = new MmioRegisters(bar0);
    }

    /**
     * Opens {@code pciAddress} (e.g. {@code 0000:00:04.0}) through VFIO.
     *
     * @throws NvmeSetupException with the reason an operator must fix: no such device, not bound to vfio-pci, no
     *     VFIO or IOMMU, no permission
     */
    public static VfioPciDevice open(String pciAddress) {
        String address = pciAddress.toLowerCase(java.util.Locale.ROOT);
        if (!PCI_ADDRESS.matcher(address).matches()) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NO_DEVICE,
                    "'" + pciAddress + "' is not a PCI address of the form 0000:00:04.0");
        }
        Path sysfs = Path.of("/sys/bus/pci/devices", address);
        if (!Files.exists(sysfs)) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NO_DEVICE,
                    "no PCI device " + address + " (" + sysfs + " does not exist; lspci -D lists the devices)");
        }
        String driver = linkName(sysfs.resolve("driver"));
        if (!"vfio-pci".equals(driver)) {
            String id = vendorDevice(sysfs);
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NOT_BOUND_TO_VFIO,
                    "PCI device " + address + (driver == null ? " is bound to no driver" : " is bound to " + driver)
                            + ", not vfio-pci: modprobe vfio-pci; echo " + address + " > " + sysfs
                            + "/driver/unbind; echo vfio-pci > " + sysfs + "/driver_override; echo " + address
                            + " > /sys/bus/pci/drivers_probe" + (id == null ? "" : " (device id " + id + ")"));
        }
        if (!Files.exists(Path.of("/dev/vfio/vfio"))) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NO_VFIO,
                    "/dev/vfio/vfio does not exist: this kernel has no VFIO (modprobe vfio-pci)");
        }
        String group = linkName(sysfs.resolve("iommu_group"));
        if (group == null) {
            throw new NvmeSetupException(
                    NvmeSetupException.Reason.NO_VFIO,
                    "PCI device " + address + " has no IOMMU group: enable the IOMMU (intel_iommu=on / amd_iommu=on)"
                            + " or, without one, VFIO's unsafe no-IOMMU mode (modprobe vfio"
                            + " enable_unsafe_noiommu_mode=1)");
        }
        Path groupPath = Path.of("/dev/vfio", group);
        boolean noIommu = false;
        if (!Files.exists(groupPath) && Files.exists(Path.of("/dev/vfio", "noiommu-" + group))) {
            groupPath = Path.of("/dev/vfio", "noiommu-" + group);
            noIommu = true;
        }
        int container = openOrExplain(Path.of("/dev/vfio/vfio"));
        int groupFd = -1;
        int deviceFd = -1;
        try (Arena arena = Arena.ofConfined()) {
            int version = ioctl(container, VfioDescriptor.GET_API_VERSION, 0L, "VFIO_GET_API_VERSION");
            if (version != VfioDescriptor.API_VERSION) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NO_VFIO,
                        "VFIO API version " + version + " is not the version 0 this driver speaks");
            }
            groupFd = openOrExplain(groupPath);
            MemorySegment status = arena.allocate(VfioDescriptor.GROUP_STATUS_LENGTH, 8);
            status.set(JAVA_INT, 0, VfioDescriptor.GROUP_STATUS_LENGTH);
            ioctl(groupFd, VfioDescriptor.GROUP_GET_STATUS, status, "VFIO_GROUP_GET_STATUS");
            if ((status.get(JAVA_INT, VfioDescriptor.GROUP_STATUS_FLAGS_OFFSET) & VfioDescriptor.GROUP_FLAGS_VIABLE)
                    == 0) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NOT_BOUND_TO_VFIO,
                        "IOMMU group " + group + " is not viable: bind every device in /sys/kernel/iommu_groups/"
                                + group + "/devices to vfio-pci");
            }
            MemorySegment fdArg = arena.allocate(JAVA_INT);
            fdArg.set(JAVA_INT, 0, container);
            ioctl(groupFd, VfioDescriptor.GROUP_SET_CONTAINER, fdArg, "VFIO_GROUP_SET_CONTAINER");
            int type;
            if (noIommu) {
                type = VfioDescriptor.NOIOMMU_IOMMU;
            } else if (ioctl(container, VfioDescriptor.CHECK_EXTENSION, VfioDescriptor.TYPE1V2_IOMMU, "check") > 0) {
                type = VfioDescriptor.TYPE1V2_IOMMU;
            } else if (ioctl(container, VfioDescriptor.CHECK_EXTENSION, VfioDescriptor.TYPE1_IOMMU, "check") > 0) {
                type = VfioDescriptor.TYPE1_IOMMU;
            } else {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NO_VFIO,
                        "the VFIO container supports no type 1 IOMMU (is vfio_iommu_type1 loaded?)");
            }
            ioctl(container, VfioDescriptor.SET_IOMMU, type, "VFIO_SET_IOMMU");
            deviceFd = ioctl(
                    groupFd,
                    VfioDescriptor.GROUP_GET_DEVICE_FD,
                    arena.allocateFrom(address),
                    "VFIO_GROUP_GET_DEVICE_FD");

            MemorySegment bar = regionInfo(arena, deviceFd, VfioDescriptor.PCI_BAR0_REGION_INDEX);
            long barSize = bar.get(JAVA_LONG, VfioDescriptor.REGION_INFO_SIZE_OFFSET);
            long barOffset = bar.get(JAVA_LONG, VfioDescriptor.REGION_INFO_OFFSET_OFFSET);
            if ((bar.get(JAVA_INT, VfioDescriptor.REGION_INFO_FLAGS_OFFSET) & VfioDescriptor.REGION_INFO_FLAG_MMAP) == 0
                    || barSize < 0x2000) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.CONTROLLER,
                        "BAR0 of " + address + " (" + barSize + " bytes) cannot be mapped: not an NVMe controller?");
            }
            MemorySegment bar0 =
                    Libc.mmap(barSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, deviceFd, barOffset);
            VfioPciDevice device = new VfioPciDevice(address, noIommu, container, groupFd, deviceFd, bar0);
            device.enableBusMaster(arena);
            return device;
        } catch (RuntimeException e) {
            closeQuietly(deviceFd);
            closeQuietly(groupFd);
            closeQuietly(container);
            if (e instanceof NativeException ne && (ne.errno() == EACCES || ne.errno() == EPERM)) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NO_PERMISSION,
                        "no permission for VFIO on " + address + ": " + ne.getMessage()
                                + " (run as root, or chown the user /dev/vfio/" + group + " and raise its"
                                + " locked-memory limit, ulimit -l)",
                        e);
            }
            throw e;
        }
    }

    private static MemorySegment regionInfo(Arena arena, int deviceFd, int index) {
        MemorySegment info = arena.allocate(VfioDescriptor.REGION_INFO_LENGTH, 8);
        info.set(JAVA_INT, 0, VfioDescriptor.REGION_INFO_LENGTH);
        info.set(JAVA_INT, VfioDescriptor.REGION_INFO_INDEX_OFFSET, index);
        ioctl(deviceFd, VfioDescriptor.DEVICE_GET_REGION_INFO, info, "VFIO_DEVICE_GET_REGION_INFO");
        return info;
    }

    /** Sets Memory Space and Bus Master Enable in the Command register: vfio-pci leaves DMA off. */
    private void enableBusMaster(Arena arena) {
        long config = regionInfo(arena, deviceFd, VfioDescriptor.PCI_CONFIG_REGION_INDEX)
                .get(JAVA_LONG, VfioDescriptor.REGION_INFO_OFFSET_OFFSET);
        MemorySegment word = arena.allocate(ValueLayout.JAVA_SHORT);
        transfer(PREAD, word, config + VfioDescriptor.PCI_COMMAND_OFFSET, "pread(PCI command)");
        short command = word.get(ValueLayout.JAVA_SHORT, 0);
        word.set(ValueLayout.JAVA_SHORT, 0, (short)
                (command | VfioDescriptor.PCI_COMMAND_MASTER | VfioDescriptor.PCI_COMMAND_MEMORY));
        transfer(PWRITE, word, config + VfioDescriptor.PCI_COMMAND_OFFSET, "pwrite(PCI command)");
    }

    private void transfer(MethodHandle call, MemorySegment buffer, long offset, String what) {
        try {
            long n = (long) call.invokeExact(NativeCall.errnoSegment(), deviceFd, buffer, buffer.byteSize(), offset);
            if (n != buffer.byteSize()) {
                throw new NativeException(what, n < 0 ? NativeCall.lastErrno() : 5);
            }
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The PCI address this device was opened with. */
    public String pciAddress() {
        return pciAddress;
    }

    /** True in VFIO's no-IOMMU mode (DMA by physical address). */
    public boolean noIommu() {
        return noIommu;
    }

    /** BAR0's registers. */
    public ControllerRegisters registers() {
        return registers;
    }

    /**
     * Allocates {@code bytes} (rounded up to 2 MiB) of pinned memory and makes it addressable by the device.
     *
     * @throws NvmeSetupException if the memory cannot be locked or mapped (e.g. RLIMIT_MEMLOCK)
     */
    public DmaMapping mapDma(long bytes) {
        long size = (bytes + HUGE_PAGE_BYTES - 1) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
        return noIommu ? new PhysicalMapping(size) : new IommuMapping(size);
    }

    private final class IommuMapping implements DmaMapping {
        private final MemorySegment region;
        private final long iova;

        IommuMapping(long size) {
            region = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            iova = nextIova;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment map = arena.allocate(VfioDescriptor.DMA_MAP_LENGTH, 8);
                map.set(JAVA_INT, 0, VfioDescriptor.DMA_MAP_LENGTH);
                map.set(JAVA_INT, VfioDescriptor.DMA_MAP_FLAGS_OFFSET, VfioDescriptor.DMA_MAP_FLAG_READ_WRITE);
                map.set(JAVA_LONG, VfioDescriptor.DMA_MAP_VADDR_OFFSET, region.address());
                map.set(JAVA_LONG, VfioDescriptor.DMA_MAP_IOVA_OFFSET, iova);
                map.set(JAVA_LONG, VfioDescriptor.DMA_MAP_SIZE_OFFSET, size);
                // The kernel pins the pages for as long as the mapping lasts.
                ioctl(containerFd, VfioDescriptor.IOMMU_MAP_DMA, map, "VFIO_IOMMU_MAP_DMA");
            } catch (NativeException e) {
                Libc.munmap(region);
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NO_PERMISSION,
                        "cannot map " + size + " bytes of DMA memory for " + pciAddress + ": " + e.getMessage()
                                + " (raise the locked-memory limit, ulimit -l)",
                        e);
            }
            nextIova += size;
        }

        @Override
        public MemorySegment region() {
            return region;
        }

        @Override
        public long ioAddress(long offsetBytes) {
            return iova + offsetBytes;
        }

        @Override
        public boolean contiguous() {
            return true;
        }

        @Override
        public void close() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment unmap = arena.allocate(VfioDescriptor.DMA_UNMAP_LENGTH, 8);
                unmap.set(JAVA_INT, 0, VfioDescriptor.DMA_UNMAP_LENGTH);
                unmap.set(JAVA_LONG, VfioDescriptor.DMA_UNMAP_IOVA_OFFSET, iova);
                unmap.set(JAVA_LONG, VfioDescriptor.DMA_UNMAP_SIZE_OFFSET, region.byteSize());
                ioctl(containerFd, VfioDescriptor.IOMMU_UNMAP_DMA, unmap, "VFIO_IOMMU_UNMAP_DMA");
            } finally {
                Libc.munmap(region);
            }
        }
    }

    /** No-IOMMU mode: memory that cannot move, addressed by its physical pages. */
    private static final class PhysicalMapping implements DmaMapping {
        private final MemorySegment region;
        private final long[] physicalPages;

        PhysicalMapping(long size) {
            MemorySegment r;
            try {
                // Hugepages are never migrated or swapped; their frames stay put while mapped.
                r = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
            } catch (NativeException e) {
                r = Libc.mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            }
            region = r;
            try {
                int rc = (int) MLOCK.invokeExact(NativeCall.errnoSegment(), region, size);
                NativeCall.check(rc, "mlock(" + size + " bytes)");
            } catch (NativeException e) {
                Libc.munmap(region);
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NO_PERMISSION,
                        "cannot lock " + size + " bytes of DMA memory: " + e.getMessage() + " (ulimit -l)",
                        e);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            int pages = (int) (size / DmaAllocator.PAGE_BYTES);
            physicalPages = new long[pages];
            region.fill((byte) 0); // fault every page in before asking where it is
            try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
                ByteBuffer entries = ByteBuffer.allocate(pages * Long.BYTES).order(ByteOrder.nativeOrder());
                long first = region.address() / DmaAllocator.PAGE_BYTES * Long.BYTES;
                while (entries.hasRemaining()) {
                    if (pagemap.read(entries, first + entries.position()) < 0) {
                        throw new IOException("short read");
                    }
                }
                entries.flip();
                for (int i = 0; i < pages; i++) {
                    long entry = entries.getLong();
                    long pfn = entry & ((1L << 55) - 1);
                    if ((entry >>> 63) == 0 || pfn == 0) {
                        throw new NvmeSetupException(
                                NvmeSetupException.Reason.NO_PERMISSION,
                                "/proc/self/pagemap hides physical addresses (no-IOMMU mode needs CAP_SYS_ADMIN)");
                    }
                    physicalPages[i] = pfn * DmaAllocator.PAGE_BYTES;
                }
            } catch (IOException e) {
                Libc.munmap(region);
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NO_PERMISSION,
                        "cannot read /proc/self/pagemap: " + e.getMessage(),
                        e);
            }
        }

        @Override
        public MemorySegment region() {
            return region;
        }

        @Override
        public long ioAddress(long offsetBytes) {
            return physicalPages[(int) (offsetBytes / DmaAllocator.PAGE_BYTES)] + offsetBytes % DmaAllocator.PAGE_BYTES;
        }

        @Override
        public boolean contiguous() {
            return false;
        }

        @Override
        public void close() {
            Libc.munmap(region);
        }
    }

    /** Unmaps BAR0 and closes the device, group and container; the kernel drops the DMA mappings with them. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Libc.munmap(bar0);
        closeQuietly(deviceFd);
        closeQuietly(groupFd);
        closeQuietly(containerFd);
    }

    private static int openOrExplain(Path path) {
        try {
            return Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        } catch (NativeException e) {
            if (e.errno() == EACCES || e.errno() == EPERM) {
                throw new NvmeSetupException(
                        NvmeSetupException.Reason.NO_PERMISSION,
                        "no permission to open " + path + " (run as root or chown it to this user)",
                        e);
            }
            if (e.errno() == ENOENT) {
                throw new NvmeSetupException(NvmeSetupException.Reason.NO_VFIO, path + " does not exist", e);
            }
            throw e;
        }
    }

    private static int ioctl(int fd, long request, MemorySegment arg, String what) {
        try {
            return NativeCall.check((int) IOCTL_PTR.invokeExact(NativeCall.errnoSegment(), fd, request, arg), what);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static int ioctl(int fd, long request, long arg, String what) {
        try {
            return NativeCall.check((int) IOCTL_LONG.invokeExact(NativeCall.errnoSegment(), fd, request, arg), what);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static String linkName(Path link) {
        try {
            return Files.readSymbolicLink(link).getFileName().toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static String vendorDevice(Path sysfs) {
        try {
            return Files.readString(sysfs.resolve("vendor")).trim().replace("0x", "") + ":"
                    + Files.readString(sysfs.resolve("device")).trim().replace("0x", "");
        } catch (IOException e) {
            return null;
        }
    }

    private static void closeQuietly(int fd) {
        if (fd >= 0) {
            try {
                Libc.close(fd);
            } catch (NativeException ignored) {
                // closing on an error path: the first failure is the one to report
            }
        }
    }
}
