/**
 * The block layer contracts: a {@link org.fsp.api.block.BlockDevice} (driver) and the
 * {@link org.fsp.api.block.BlockScheduler} that sits between the file system and the driver.
 *
 * <p>Both are asynchronous and polled: a caller submits requests, pushes them to the device in one batch (one kernel
 * crossing at most), and later polls for completions. No callback thread and no interrupt is involved.
 *
 * <p>0.4.0: {@link org.fsp.api.block.TagSpace}, the device's completion tags held by one submitter at a time.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.4.0")
package org.fsp.api.block;
