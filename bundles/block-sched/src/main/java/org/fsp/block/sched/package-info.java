/**
 * Block I/O schedulers (private to this bundle) between fs-core and a {@link org.fsp.api.block.BlockDevice}, with the
 * issue and poll phases of the FSP paper: {@link org.fsp.block.sched.FifoBlockScheduler} (arrival order) and
 * {@link org.fsp.block.sched.BatchingBlockScheduler} (priority classes, adjacent merging, one device submit per
 * batch), published by {@link org.fsp.block.sched.BlockSchedulerComponent} as the
 * {@link org.fsp.api.block.BlockScheduler} service.
 */
package org.fsp.block.sched;
