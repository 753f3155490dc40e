package org.fsp.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.fsp.linux.IoUring;
import org.fsp.linux.IoUringRing;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;

/**
 * Makes the native calls a take-over starts with once, on {@code /dev/zero}, in a standby: open, lseek, an io_uring
 * set up, a read through it, close. The launcher's copy of native-linux is not the bundle's, but the JDK shares what
 * the first calls cost (the downcall stubs per function descriptor, the invokers per method type), so the driver's
 * first calls after a take-over find them made.
 */
final class NativeWarmUp {

    private NativeWarmUp() {}

    /** Returns false if this kernel refused a step (the take-over then pays for it, nothing else changes). */
    static boolean run() {
        int fd = -1;
        IoUringRing ring = null;
        try (Arena arena = Arena.ofConfined()) {
            fd = Libc.open("/dev/zero", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            Libc.lseek(fd, 0, Libc.SEEK_SET);
            ring = IoUringRing.setup(8, 0, 1);
            MemorySegment buf = arena.allocate(4096, 4096);
            MemorySegment scratch = arena.allocate(IoUring.GETEVENTS_ARG_BYTES, 8);
            ring.prepareReadWrite(IoUring.IORING_OP_READ, fd, (byte) 0, buf.address(), (int) buf.byteSize(), 0, 0, 1);
            ring.submit();
            ring.awaitCompletion(1_000_000_000L, scratch);
            ring.advanceCompletions(ring.completionsReady());
            return true;
        } catch (NativeException | IllegalStateException e) {
            return false;
        } finally {
            if (ring != null) {
                ring.close();
            }
            if (fd >= 0) {
                Libc.close(fd);
            }
        }
    }
}
