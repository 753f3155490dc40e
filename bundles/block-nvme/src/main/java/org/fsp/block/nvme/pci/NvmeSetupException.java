package org.fsp.block.nvme.pci;

/**
 * The NVMe driver could not take the device; {@link #reason()} says which of the failures an operator must fix,
 * and the message says how.
 */
public final class NvmeSetupException extends RuntimeException {

    /** What went wrong, for callers that map it to an exit status or a health report. */
    public enum Reason {
        /** The PCI function does not exist. */
        NO_DEVICE,
        /** The kernel has no VFIO, or no IOMMU (and no-IOMMU mode is off). */
        NO_VFIO,
        /** The function is bound to a driver other than vfio-pci, or to none. */
        NOT_BOUND_TO_VFIO,
        /** The VFIO container, group or device may not be opened by this user. */
        NO_PERMISSION,
        /** The namespace is formatted with a logical block size the driver does not support. */
        UNSUPPORTED_LBA_SIZE,
        /** The controller did not come up, or failed an admin command during bring-up. */
        CONTROLLER
    }

    private final Reason reason;

    public NvmeSetupException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public NvmeSetupException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
