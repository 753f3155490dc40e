package org.fsp.block.sched;

/** Thrown by {@code enqueue} on a scheduler that a device swap has retired; the caller retries on the new one. */
final class SchedulerRetiredException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    SchedulerRetiredException(String message) {
        super(message);
    }
}
