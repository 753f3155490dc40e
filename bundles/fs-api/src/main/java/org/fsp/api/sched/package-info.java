/**
 * The thread-model contract, after Agrona: work is done by {@link org.fsp.api.sched.Agent}s whose
 * {@code doWork()} returns how much they did, and an {@link org.fsp.api.sched.IdleStrategy} decides what a thread does
 * when an agent found nothing (spin, yield, sleep). Layers (the IPC front end, the block scheduler) provide agents;
 * the thread model drives them.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.fsp.api.sched;
