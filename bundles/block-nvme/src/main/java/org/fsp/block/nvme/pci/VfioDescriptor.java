package org.fsp.block.nvme.pci;

/**
 * The VFIO ioctls and structures the driver uses, from {@code linux/vfio.h}: request numbers are
 * {@code _IO(VFIO_TYPE, VFIO_BASE + n)} with {@code VFIO_TYPE = ';'} and {@code VFIO_BASE = 100}; arguments are
 * structures that begin with {@code argsz}, the caller's idea of their size.
 *
 * <pre>
 *  struct vfio_group_status         { u32 argsz; u32 flags; }                                   8 bytes
 *  struct vfio_region_info          { u32 argsz; u32 flags; u32 index; u32 cap_offset;
 *                                     u64 size; u64 offset; }                                  32 bytes
 *  struct vfio_iommu_type1_dma_map  { u32 argsz; u32 flags; u64 vaddr; u64 iova; u64 size; }   32 bytes
 *  struct vfio_iommu_type1_dma_unmap{ u32 argsz; u32 flags; u64 iova; u64 size; }              24 bytes
 * </pre>
 */
public final class VfioDescriptor {

    private static final int VFIO_TYPE = ';';
    private static final int VFIO_BASE = 100;

    /** Container: returns {@link #API_VERSION}. */
    public static final long GET_API_VERSION = io(0);
    /** Container: whether an IOMMU type (argument) is supported. */
    public static final long CHECK_EXTENSION = io(1);
    /** Container: selects the IOMMU type (argument) once a group is attached. */
    public static final long SET_IOMMU = io(2);
    /** Group: fills a {@code vfio_group_status}. */
    public static final long GROUP_GET_STATUS = io(3);
    /** Group: attaches the group to the container whose fd the argument points to. */
    public static final long GROUP_SET_CONTAINER = io(4);
    /** Group: returns a device fd for the device named by the argument string (the PCI address). */
    public static final long GROUP_GET_DEVICE_FD = io(6);
    /** Device: fills a {@code vfio_region_info} for its {@code index}. */
    public static final long DEVICE_GET_REGION_INFO = io(8);
    /** Device: function level reset. */
    public static final long DEVICE_RESET = io(11);
    /** Container: maps process memory at an IOVA ({@code vfio_iommu_type1_dma_map}). */
    public static final long IOMMU_MAP_DMA = io(13);
    /** Container: removes a mapping ({@code vfio_iommu_type1_dma_unmap}). */
    public static final long IOMMU_UNMAP_DMA = io(14);

    /** The only VFIO API version there is. */
    public static final int API_VERSION = 0;
    /** IOMMU type: type 1. */
    public static final int TYPE1_IOMMU = 1;
    /** IOMMU type: type 1 version 2 (preferred). */
    public static final int TYPE1V2_IOMMU = 3;
    /** IOMMU type: no IOMMU (unsafe mode; DMA addresses are physical addresses). */
    public static final int NOIOMMU_IOMMU = 8;

    /** vfio_group_status.flags: every device of the group is bound to VFIO (or none at all). */
    public static final int GROUP_FLAGS_VIABLE = 1;

    /** vfio_region_info.flags: region may be mmapped. */
    public static final int REGION_INFO_FLAG_MMAP = 1 << 2;
    /** Region index of BAR0 for a vfio-pci device. */
    public static final int PCI_BAR0_REGION_INDEX = 0;
    /** Region index of PCI configuration space for a vfio-pci device. */
    public static final int PCI_CONFIG_REGION_INDEX = 7;

    /** vfio_iommu_type1_dma_map.flags: device may read / write. */
    public static final int DMA_MAP_FLAG_READ_WRITE = 1 | 2;

    /** Size of vfio_group_status, bytes. */
    public static final int GROUP_STATUS_LENGTH = 8;
    /** vfio_group_status.flags, u32. */
    public static final int GROUP_STATUS_FLAGS_OFFSET = 4;

    /** Size of vfio_region_info, bytes. */
    public static final int REGION_INFO_LENGTH = 32;
    /** vfio_region_info.flags, u32. */
    public static final int REGION_INFO_FLAGS_OFFSET = 4;
    /** vfio_region_info.index, u32. */
    public static final int REGION_INFO_INDEX_OFFSET = 8;
    /** vfio_region_info.size, u64, bytes. */
    public static final int REGION_INFO_SIZE_OFFSET = 16;
    /** vfio_region_info.offset, u64: where the region starts in the device fd. */
    public static final int REGION_INFO_OFFSET_OFFSET = 24;

    /** Size of vfio_iommu_type1_dma_map, bytes. */
    public static final int DMA_MAP_LENGTH = 32;
    /** vfio_iommu_type1_dma_map.flags, u32. */
    public static final int DMA_MAP_FLAGS_OFFSET = 4;
    /** vfio_iommu_type1_dma_map.vaddr, u64. */
    public static final int DMA_MAP_VADDR_OFFSET = 8;
    /** vfio_iommu_type1_dma_map.iova, u64. */
    public static final int DMA_MAP_IOVA_OFFSET = 16;
    /** vfio_iommu_type1_dma_map.size, u64, bytes. */
    public static final int DMA_MAP_SIZE_OFFSET = 24;

    /** Size of vfio_iommu_type1_dma_unmap, bytes. */
    public static final int DMA_UNMAP_LENGTH = 24;
    /** vfio_iommu_type1_dma_unmap.iova, u64. */
    public static final int DMA_UNMAP_IOVA_OFFSET = 8;
    /** vfio_iommu_type1_dma_unmap.size, u64, bytes. */
    public static final int DMA_UNMAP_SIZE_OFFSET = 16;

    /** PCI configuration space: the Command register (u16). */
    public static final int PCI_COMMAND_OFFSET = 0x04;
    /** Command register: Memory Space Enable. */
    public static final int PCI_COMMAND_MEMORY = 1 << 1;
    /** Command register: Bus Master Enable, without which the function cannot DMA. */
    public static final int PCI_COMMAND_MASTER = 1 << 2;

    private VfioDescriptor() {}

    /** {@code _IO(type, nr)}: no direction, no size, as VFIO defines all of its requests. */
    private static long io(int n) {
        return ((long) VFIO_TYPE << 8) | (VFIO_BASE + n);
    }
}
