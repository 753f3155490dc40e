package org.fsp.bench.eval;

import java.io.IOException;

/**
 * The handful of file operations the evaluation's workloads need, implemented once over FS Lib ({@link FspFileApi})
 * and once over java.nio on a kernel file system ({@link NioFileApi}), so that the same workload code drives both.
 * Paths are absolute within the file system under test ({@code "/micro/f1"}); handles are this object's own.
 * Implementations are thread-safe.
 *
 * <p>A typical sequence is: {@code long h = api.open("/d/f", Mode.CREATE); api.pwrite(h, 0, buf, 0, 4096);
 * api.fsync(h); api.close(h);}
 */
interface FileApi extends AutoCloseable {

    /** How a file is opened. */
    enum Mode {
        /** Read only; the file must exist. */
        READ,
        /** Read and write; the file must exist. */
        WRITE,
        /** Read and write, created (mode 0644) if missing, truncated if present. */
        CREATE,
        /** Exclusive create (fails if present), read and write. */
        CREATE_NEW,
        /** Write only, every write at the end of the file; created if missing. */
        APPEND
    }

    /** What the table calls this file system: "FSP", "ext4", "tmpfs". */
    String name();

    long open(String path, Mode mode) throws IOException;

    /** Reads at {@code position}; returns bytes read, 0 or less at end of file. */
    int pread(long handle, long position, byte[] buf, int off, int len) throws IOException;

    /** Writes all of {@code buf[off, off+len)} at {@code position}. */
    void pwrite(long handle, long position, byte[] buf, int off, int len) throws IOException;

    /** Writes all of {@code buf[off, off+len)} at the end of a file opened with {@link Mode#APPEND}. */
    void append(long handle, byte[] buf, int off, int len) throws IOException;

    /** Makes the file's data and metadata durable (fsync(2): on the device, not only in a cache). */
    void fsync(long handle) throws IOException;

    void close(long handle) throws IOException;

    /** stat(2) of a path; returns its size in bytes. */
    long stat(String path) throws IOException;

    void mkdir(String path) throws IOException;

    void unlink(String path) throws IOException;

    /** Lists a whole directory; returns the number of entries ("." and ".." not counted). */
    int list(String path) throws IOException;

    /** Reads a whole file through {@code buf}, chunk by chunk; returns the bytes read. */
    default long readWhole(long handle, byte[] buf) throws IOException {
        long position = 0;
        while (true) {
            int n = pread(handle, position, buf, 0, buf.length);
            if (n <= 0) {
                return position;
            }
            position += n;
        }
    }

    @Override
    void close() throws IOException;
}
