/** block device drivers: io_uring, RAM, NVMe */
package org.fsp.block.nvme;
