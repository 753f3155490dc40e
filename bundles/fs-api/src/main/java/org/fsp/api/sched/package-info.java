/**
 * The thread-model contract, after Agrona: work is done by {@link org.fsp.api.sched.Agent}s whose
 * {@code doWork()} returns how much they did, and an {@link org.fsp.api.sched.IdleStrategy} decides what a thread does
 * when an agent found nothing (spin, yield, sleep). Layers (the IPC front end, the block scheduler) provide agents;
 * the thread model drives them. A {@link org.fsp.api.sched.ThreadModel} service (bundle sched-polling) owns the
 * worker threads, and a layer with agents should require one rather than run threads of its own for them, so that one
 * ownership rule (a thread that ran an agent ends when the agent is detached) covers its agents; ipc-shm does. Code that blocks a worker thread on a device wait
 * announces it through {@link org.fsp.api.sched.ManagedBlocking}, so that the worker's other agents keep being driven.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.5.0")
package org.fsp.api.sched;
