package org.fsp.bench.eval;

import java.io.IOException;
import java.nio.file.Path;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;

/** {@link FileApi} through FS Lib: one {@link FspClient} connection to a running fspd, shared by every thread. */
final class FspFileApi implements FileApi {

    private final FspClient fs;
    private final String name;

    private FspFileApi(FspClient fs, String name) {
        this.fs = fs;
        this.name = name;
    }

    /** Connects to the fspd serving {@code socket} with {@code lanes} lanes (about as many as calling threads). */
    static FspFileApi connect(Path socket, int lanes, String name) throws IOException {
        return new FspFileApi(FspClient.connect(socket, lanes), name);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long open(String path, Mode mode) throws IOException {
        int flags =
                switch (mode) {
                    case READ -> OpenFlags.O_RDONLY;
                    case WRITE -> OpenFlags.O_RDWR;
                    case CREATE -> OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC;
                    case CREATE_NEW -> OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL;
                    case APPEND -> OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_APPEND;
                };
        return fs.open(path, flags, 0644);
    }

    @Override
    public int pread(long handle, long position, byte[] buf, int off, int len) throws IOException {
        return fs.pread(handle, position, buf, off, len);
    }

    @Override
    public void pwrite(long handle, long position, byte[] buf, int off, int len) throws IOException {
        for (int done = 0; done < len; ) { // a short write is legal; write the rest, as FileChannel callers do
            int n = fs.pwrite(handle, position + done, buf, off + done, len - done);
            if (n <= 0) {
                throw new IOException("write made no progress at " + (position + done));
            }
            done += n;
        }
    }

    @Override
    public void append(long handle, byte[] buf, int off, int len) throws IOException {
        for (int done = 0; done < len; ) {
            int n = fs.write(handle, buf, off + done, len - done);
            if (n <= 0) {
                throw new IOException("append made no progress");
            }
            done += n;
        }
    }

    @Override
    public void fsync(long handle) throws IOException {
        fs.fsync(handle);
    }

    @Override
    public void close(long handle) throws IOException {
        fs.close(handle);
    }

    @Override
    public long stat(String path) throws IOException {
        return fs.stat(path).size();
    }

    @Override
    public void mkdir(String path) throws IOException {
        fs.mkdir(path, 0755);
    }

    @Override
    public void unlink(String path) throws IOException {
        fs.unlink(path);
    }

    @Override
    public int list(String path) throws IOException {
        return fs.readdir(path).size();
    }

    @Override
    public void close() {
        fs.close();
    }
}
