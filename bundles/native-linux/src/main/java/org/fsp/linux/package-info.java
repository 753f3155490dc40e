/**
 * Linux system calls through {@code java.lang.foreign}: the one place that binds libc and the io_uring system calls
 * (sockets with SCM_RIGHTS and SO_PEERCRED, memfd, mmap, futex, io_uring_setup/enter/register, /dev/fuse and mount(2)), used by ipc-shm,
 * block-nvme and FS Lib alike.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.2.0")
package org.fsp.linux;
