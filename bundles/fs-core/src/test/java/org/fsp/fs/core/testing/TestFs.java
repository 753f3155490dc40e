package org.fsp.fs.core.testing;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.fsp.fs.core.tools.Formatter;

/** Helpers shared by the tests: format and mount on a device, write and read whole files. */
public final class TestFs {

    public static final Credentials ROOT = Credentials.ROOT;

    private TestFs() {}

    /** Small caches and no flusher thread, so tests are deterministic and exercise eviction. */
    public static FsCore.Options options() {
        return new FsCore.Options(1L << 20, 8, 0);
    }

    public static void format(BlockDevice d) throws IOException {
        Formatter.format(new BlockIo(new DirectBlockScheduler(d)), d.blockCount() * d.blockSize() / 4096, 0);
    }

    public static FsCore mount(BlockDevice d) throws IOException {
        return FsCore.mount(new DirectBlockScheduler(d), options());
    }

    public static FsCore formatAndMount(BlockDevice d) throws IOException {
        format(d);
        return mount(d);
    }

    public static void writeFile(FsCore fs, Credentials who, String path, byte[] data) throws IOException {
        long h = fs.open(who, path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
        try {
            if (data.length > 0) {
                fs.write(who, h, MemorySegment.ofArray(data));
            }
        } finally {
            fs.close(who, h);
        }
    }

    public static byte[] readFile(FsCore fs, Credentials who, String path) throws IOException {
        long h = fs.open(who, path, OpenFlags.O_RDONLY, 0);
        try {
            long size = fs.fstat(who, h).size();
            byte[] out = new byte[(int) size];
            int n = fs.pread(who, h, 0, MemorySegment.ofArray(out));
            if (n != size) {
                throw new IOException("short read " + n + " of " + size);
            }
            return out;
        } finally {
            fs.close(who, h);
        }
    }

    /** Runs the checker on the device and returns its problems (empty when clean). */
    public static java.util.List<String> fsck(BlockDevice d) throws IOException {
        return org.fsp.fs.core.tools.Checker.check(new BlockIo(new DirectBlockScheduler(d)))
                .problems();
    }

    public static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
