package org.fsp.api.sched;

import java.lang.foreign.MemorySegment;
import org.osgi.annotation.versioning.ProviderType;

/** The futex words one thread is about to sleep on (at most 128, the limit of {@code futex_waitv}). */
@ProviderType
public interface FutexWaitSet {

    /**
     * Adds the 32-bit {@code word}: the sleep ends when it is woken, or at once if it no longer holds {@code expected}.
     * {@code processPrivate} for a word in this process's memory only (not in a segment shared with a client). Returns
     * false when the set is full.
     */
    boolean add(MemorySegment word, int expected, boolean processPrivate);
}
