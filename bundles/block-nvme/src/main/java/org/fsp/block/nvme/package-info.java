/**
 * Block device drivers (private to this bundle): {@link org.fsp.block.nvme.IoUringBlockDevice} (io_uring over an
 * image file or a block device, O_DIRECT, optional SQPOLL / IOPOLL), {@link org.fsp.block.nvme.RamBlockDevice}
 * (memory), and {@link org.fsp.block.nvme.BlockDeviceComponent}, which opens the configured one and publishes it as
 * an {@link org.fsp.api.block.BlockDevice} service with its status section and the {@code fsp:device} command.
 */
package org.fsp.block.nvme;
