package org.fsp.fs.core;

import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.fs.core.inode.ExtentMap;
import org.fsp.fs.core.layout.Layout;

/**
 * SEEK_DATA and SEEK_HOLE over a file's extent map, as ext4 answers them: data is every mapped block, a hole every
 * unmapped one, and the end of the file counts as a hole. A block written into the cache is mapped already (fs-core
 * allocates at write time), so the answer includes data not yet on the device. The caller holds the inode's lock.
 */
final class Holes {

    private Holes() {}

    /** The first offset at or after {@code offset} (below {@code size}) inside a mapped block; ENXIO if none. */
    static long nextData(ExtentMap extents, long offset, long size) throws FsException {
        for (int k = 0; k < extents.count(); k++) {
            long end = (extents.logical(k) + extents.length(k)) * Layout.BLOCK_SIZE;
            if (end <= offset) {
                continue;
            }
            long start = Math.max(extents.logical(k) * Layout.BLOCK_SIZE, offset);
            if (start >= size) {
                break;
            }
            return start;
        }
        throw new FsException(Errno.ENXIO, "no data at or after offset " + offset);
    }

    /** The first offset at or after {@code offset} inside an unmapped block, or {@code size}. */
    static long nextHole(ExtentMap extents, long offset, long size) {
        long pos = offset;
        for (int k = 0; k < extents.count(); k++) {
            long start = extents.logical(k) * Layout.BLOCK_SIZE;
            long end = (extents.logical(k) + extents.length(k)) * Layout.BLOCK_SIZE;
            if (end <= pos) {
                continue;
            }
            if (start > pos) {
                break;
            }
            pos = end;
        }
        return Math.min(pos, size);
    }
}
