package org.fsp.ipc.shm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.handoff.ChannelHandoff;

/**
 * One client's open files: the numbers the client holds, mapped to the file system's handles. A client only ever sees
 * its own numbers, each with a generation so that a closed and reused entry does not answer to the old number, and
 * every number it sends is looked up here; one client cannot name another's file.
 *
 * <p>A typical sequence is: {@link #add} after a successful open, {@link #lookup} per request, {@link #remove} on close,
 * {@link #closeAll} when the client is gone (after which {@link #add} refuses, so a late open cannot leak). Thread-safe:
 * the lanes of one client may be served by several workers.
 */
final class OpenFileTable {

    private final int limit;
    private long[] fsHandles = new long[8];
    private int[] generations = new int[8];
    private boolean[] used = new boolean[8];
    private int count;
    private boolean closed;

    OpenFileTable(int limit) {
        this.limit = limit;
    }

    /**
     * Records {@code fsHandle} and returns the client's number for it; -1 when the table was closed (the caller
     * closes {@code fsHandle} itself). Throws EMFILE at the limit.
     */
    synchronized long add(long fsHandle) throws FsException {
        if (closed) {
            return -1;
        }
        if (count >= limit) {
            throw new FsException(Errno.EMFILE, count + " files open");
        }
        int index = 0;
        while (index < used.length && used[index]) {
            index++;
        }
        if (index == used.length) {
            int n = Math.min(used.length * 2, Math.max(limit, 8));
            fsHandles = Arrays.copyOf(fsHandles, n);
            generations = Arrays.copyOf(generations, n);
            used = Arrays.copyOf(used, n);
        }
        used[index] = true;
        fsHandles[index] = fsHandle;
        generations[index] = (generations[index] + 1) & 0x7FFF_FFFF;
        if (generations[index] == 0) {
            generations[index] = 1;
        }
        count++;
        return ((long) generations[index] << 32) | index;
    }

    /** The file system's handle for the client's number; EBADF for a number this client does not hold. */
    synchronized long lookup(long clientHandle) throws FsException {
        return fsHandles[indexOf(clientHandle)];
    }

    /** Forgets the client's number and returns the file system's handle to close; EBADF if not held. */
    synchronized long remove(long clientHandle) throws FsException {
        int index = indexOf(clientHandle);
        used[index] = false;
        count--;
        return fsHandles[index];
    }

    /** Closes the table for good and returns every handle still held, for the caller to close. */
    synchronized long[] closeAll() {
        closed = true;
        long[] out = new long[count];
        int n = 0;
        for (int i = 0; i < used.length; i++) {
            if (used[i]) {
                out[n++] = fsHandles[i];
                used[i] = false;
            }
        }
        count = 0;
        return out;
    }

    /** The open entries, for a hand-over: index, generation and file system handle of each. */
    synchronized List<ChannelHandoff.ClientFile> entries() {
        List<ChannelHandoff.ClientFile> out = new ArrayList<>(count);
        for (int i = 0; i < used.length; i++) {
            if (used[i]) {
                out.add(new ChannelHandoff.ClientFile(i, generations[i], fsHandles[i]));
            }
        }
        return out;
    }

    /** Every entry's generation by index, open or free, for a hand-over. */
    synchronized int[] generations() {
        return generations.clone();
    }

    /**
     * Rebuilds the table a previous server handed over: the same numbers answer to the same file system handles, and
     * free entries keep their generations so that numbers closed before do not come back.
     */
    synchronized void restore(int[] handedGenerations, List<ChannelHandoff.ClientFile> files) {
        int n = Math.max(handedGenerations.length, 8);
        for (ChannelHandoff.ClientFile f : files) {
            n = Math.max(n, f.index() + 1);
        }
        fsHandles = new long[n];
        generations = Arrays.copyOf(handedGenerations, n);
        used = new boolean[n];
        count = 0;
        for (ChannelHandoff.ClientFile f : files) {
            used[f.index()] = true;
            generations[f.index()] = f.generation();
            fsHandles[f.index()] = f.fsHandle();
            count++;
        }
    }

    int limit() {
        return limit;
    }

    synchronized int size() {
        return count;
    }

    private int indexOf(long clientHandle) throws FsException {
        long index = clientHandle & 0xFFFF_FFFFL;
        int generation = (int) (clientHandle >>> 32);
        if (clientHandle < 0 || index >= used.length || !used[(int) index] || generations[(int) index] != generation) {
            throw new FsException(Errno.EBADF, "handle " + clientHandle);
        }
        return (int) index;
    }
}
