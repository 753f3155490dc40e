package org.fsp.api.channel;

/**
 * The header of one lane: the doorbell futex word through which a client wakes the server worker that drains the
 * lane after that worker went to sleep. It sits alone on two cache lines (adjacent-line prefetch) because the
 * worker writes it and every client thread of the lane reads it after each submission.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |             Doorbell (futex word: AWAKE=0, PARKED=1)          |  0
 *  +---------------------------------------------------------------+
 *  |                   ... padding to 128 bytes ...                |
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Protocol (a Dekker pair, both sides with a full fence between their store and their load): the worker stores
 * {@link #PARKED}, fences, re-checks its lanes and only then sleeps on the word; a client publishes its slot, fences,
 * loads the doorbell and, if it reads {@link #PARKED}, swaps it to {@link #AWAKE} and wakes the word. Either the worker
 * sees the slot or the client sees PARKED, so no submission sleeps unnoticed, and while the worker is awake clients
 * make no system call.
 */
public final class LaneDescriptor {

    public static final int DOORBELL_OFFSET = 0;
    public static final int LANE_HEADER_BYTES = 2 * ChannelLayout.CACHE_LINE_BYTES;

    public static final int AWAKE = 0;
    public static final int PARKED = 1;

    private LaneDescriptor() {}
}
