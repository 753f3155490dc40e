package org.fsp.fs.core.inode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A file's logical-to-physical block map as sorted, non-overlapping extents (logical start, length, physical
 * start). Adjacent extents that continue each other both logically and physically are merged. Not thread-safe: the
 * owning inode's lock guards it.
 */
public final class ExtentMap {

    private long[] logical = new long[4];
    private long[] length = new long[4];
    private long[] physical = new long[4];
    private int count;

    public int count() {
        return count;
    }

    public long logical(int i) {
        return logical[i];
    }

    public long length(int i) {
        return length[i];
    }

    public long physical(int i) {
        return physical[i];
    }

    /** Appends an extent known to sort after every other (used when loading from disk). */
    public void addLoaded(long lblk, long len, long pblk) {
        grow();
        logical[count] = lblk;
        length[count] = len;
        physical[count] = pblk;
        count++;
    }

    /** Index of the extent containing or preceding {@code lblk}, or -1. */
    private int floor(long lblk) {
        int lo = 0;
        int hi = count - 1;
        int ans = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (logical[mid] <= lblk) {
                ans = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return ans;
    }

    /** Physical block of {@code lblk}, or 0 for a hole. */
    public long map(long lblk) {
        int i = floor(lblk);
        if (i >= 0 && lblk < logical[i] + length[i]) {
            return physical[i] + (lblk - logical[i]);
        }
        return 0;
    }

    /** Blocks mapped contiguously from {@code lblk} (0 for a hole). */
    public long runLength(long lblk) {
        int i = floor(lblk);
        if (i >= 0 && lblk < logical[i] + length[i]) {
            return logical[i] + length[i] - lblk;
        }
        return 0;
    }

    /** Logical blocks of hole from {@code lblk} up to the next mapped block (Long.MAX_VALUE if none follows). */
    public long holeLength(long lblk) {
        int i = floor(lblk);
        int next = i + 1;
        return next < count ? logical[next] - lblk : Long.MAX_VALUE;
    }

    /** The physical block just after the mapping nearest before {@code lblk}: where to try allocating next. */
    public long goalFor(long lblk) {
        int i = floor(lblk);
        if (i >= 0) {
            return physical[i] + length[i] + (lblk - logical[i] - length[i]);
        }
        return count > 0 ? physical[0] : 0;
    }

    /** Maps the hole [lblk, lblk+len) to [pblk, pblk+len), merging with neighbours. */
    public void insert(long lblk, long len, long pblk) {
        int i = floor(lblk);
        if (i >= 0 && logical[i] + length[i] == lblk && physical[i] + length[i] == pblk) {
            length[i] += len;
            mergeNext(i);
            return;
        }
        int at = i + 1;
        if (at < count && logical[at] == lblk + len && physical[at] == pblk + len) {
            logical[at] = lblk;
            physical[at] = pblk;
            length[at] += len;
            return;
        }
        grow();
        System.arraycopy(logical, at, logical, at + 1, count - at);
        System.arraycopy(length, at, length, at + 1, count - at);
        System.arraycopy(physical, at, physical, at + 1, count - at);
        logical[at] = lblk;
        length[at] = len;
        physical[at] = pblk;
        count++;
    }

    private void mergeNext(int i) {
        int j = i + 1;
        if (j < count && logical[i] + length[i] == logical[j] && physical[i] + length[i] == physical[j]) {
            length[i] += length[j];
            System.arraycopy(logical, j + 1, logical, j, count - j - 1);
            System.arraycopy(length, j + 1, length, j, count - j - 1);
            System.arraycopy(physical, j + 1, physical, j, count - j - 1);
            count--;
        }
    }

    /**
     * Unmaps every block at or after {@code lblk}.
     *
     * @return the freed physical runs as {start, length} pairs
     */
    public List<long[]> truncate(long lblk) {
        List<long[]> freed = new ArrayList<>();
        int keep = 0;
        for (int i = 0; i < count; i++) {
            long s = logical[i];
            long e = s + length[i];
            if (e <= lblk) {
                keep = i + 1;
            } else if (s < lblk) {
                long cut = lblk - s;
                freed.add(new long[] {physical[i] + cut, length[i] - cut});
                length[i] = cut;
                keep = i + 1;
            } else {
                freed.add(new long[] {physical[i], length[i]});
            }
        }
        count = keep;
        return freed;
    }

    /** Blocks mapped in total. */
    public long mappedBlocks() {
        long n = 0;
        for (int i = 0; i < count; i++) {
            n += length[i];
        }
        return n;
    }

    private void grow() {
        if (count == logical.length) {
            int n = count * 2;
            logical = Arrays.copyOf(logical, n);
            length = Arrays.copyOf(length, n);
            physical = Arrays.copyOf(physical, n);
        }
    }
}
