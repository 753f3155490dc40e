package org.fsp.block.nvme;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fsp.linux.IoUring;
import org.fsp.linux.IoUringRing;
import org.fsp.linux.Libc;
import org.fsp.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up the ring of an {@link IoUringBlockDevice}: the modes asked for (SQPOLL, IOPOLL), dropping IOPOLL and then
 * SQPOLL until the kernel and the target accept one (IOPOLL is accepted at setup on any target but fails per request
 * on one without poll queues, so it is proved with one polled read), then the file and the buffers registered where
 * the kernel allows. Each fall-back is logged and kept in words for {@code fsp:status}.
 */
final class IoUringSetup {

    private static final Logger LOG = LoggerFactory.getLogger(IoUringSetup.class);

    /** errno of a polled read on a target without poll queues. */
    private static final int EOPNOTSUPP = 95;

    private IoUringSetup() {}

    /** Tries the requested modes, dropping IOPOLL, then SQPOLL, until the kernel and the target accept one. */
    static IoUringRing ring(IoUringBlockDevice.Options options, int fd, Arena arena, StringBuilder note) {
        int entries = Integer.highestOneBit(Math.max(1, options.queueDepth() - 1)) << 1;
        int wanted = (options.sqPoll() ? IoUring.IORING_SETUP_SQPOLL : 0)
                | (options.ioPoll() ? IoUring.IORING_SETUP_IOPOLL : 0);
        List<Integer> candidates = new ArrayList<>();
        candidates.add(wanted);
        if ((wanted & IoUring.IORING_SETUP_IOPOLL) != 0) {
            candidates.add(wanted & ~IoUring.IORING_SETUP_IOPOLL);
        }
        if (!candidates.contains(0)) {
            candidates.add(0);
        }
        NativeException last = null;
        for (int flags : candidates) {
            IoUringRing ring;
            try {
                ring = IoUringRing.setup(entries, flags, Math.max(1, options.sqThreadIdleMillis()));
            } catch (NativeException e) {
                last = e;
                appendFallback(note, flags, "io_uring_setup refused: " + e.getMessage());
                continue;
            }
            if ((flags & IoUring.IORING_SETUP_IOPOLL) == 0) {
                return ring;
            }
            String refusal = probePolledRead(ring, fd, arena);
            if (refusal == null) {
                return ring;
            }
            ring.close();
            appendFallback(note, flags, refusal);
        }
        throw last;
    }

    private static void appendFallback(StringBuilder note, int flags, String why) {
        String msg = "mode " + modeName(flags) + " unavailable (" + why + ")";
        LOG.warn("io_uring: {}; falling back", msg);
        if (!note.isEmpty()) {
            note.append("; ");
        }
        note.append(msg);
    }

    private static String modeName(int flags) {
        List<String> parts = new ArrayList<>();
        if ((flags & IoUring.IORING_SETUP_SQPOLL) != 0) {
            parts.add("SQPOLL");
        }
        if ((flags & IoUring.IORING_SETUP_IOPOLL) != 0) {
            parts.add("IOPOLL");
        }
        return parts.isEmpty() ? "plain" : String.join("+", parts);
    }

    /** IOPOLL is accepted at setup but fails per request on targets without poll queues: try one read of block 0. */
    private static String probePolledRead(IoUringRing ring, int fd, Arena arena) {
        MemorySegment buffer = arena.allocate(IoUringBlockDevice.BLOCK_SIZE, IoUringBlockDevice.BLOCK_SIZE);
        ring.prepareReadWrite(
                IoUring.IORING_OP_READ, fd, (byte) 0, buffer.address(), IoUringBlockDevice.BLOCK_SIZE, 0, 0, 0);
        int submitted = ring.submit();
        if (submitted != 1) {
            return "probe read not accepted (" + submitted + ")";
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (ring.completionsReady() == 0) {
            if (System.nanoTime() > deadline) {
                return "probe read did not complete within 5 s";
            }
            ring.getEvents(1);
        }
        int res = ring.completionResult(0);
        ring.advanceCompletions(1);
        if (res == IoUringBlockDevice.BLOCK_SIZE) {
            return null;
        }
        return res < 0
                ? "polled read failed: " + Libc.strerror(-res)
                        + (-res == EOPNOTSUPP ? ", target has no poll queues" : "")
                : "polled read returned " + res + " bytes";
    }

    /** Registers the file with the ring (SQEs then name it by index); false if the kernel refuses. */
    static boolean registerFile(IoUringRing ring, int fd) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment fds = tmp.allocateFrom(ValueLayout.JAVA_INT, fd);
            IoUring.register(ring.fd(), IoUring.IORING_REGISTER_FILES, fds, 1);
            return true;
        } catch (NativeException e) {
            LOG.warn("io_uring: cannot register the file, using its plain descriptor: {}", e.getMessage());
            return false;
        }
    }

    /** Registers {@code bytes} of buffers for fixed transfers; NULL for none or if the kernel refuses. */
    static MemorySegment registerBuffers(IoUringRing ring, Arena arena, long bytes) {
        if (bytes == 0) {
            return MemorySegment.NULL;
        }
        MemorySegment region = arena.allocate(bytes, IoUringBlockDevice.BLOCK_SIZE);
        try (Arena tmp = Arena.ofConfined()) {
            // struct iovec { void *iov_base; size_t iov_len; }
            MemorySegment iovec = tmp.allocate(2 * Long.BYTES, Long.BYTES);
            iovec.set(ValueLayout.JAVA_LONG, 0, region.address());
            iovec.set(ValueLayout.JAVA_LONG, Long.BYTES, bytes);
            IoUring.register(ring.fd(), IoUring.IORING_REGISTER_BUFFERS, iovec, 1);
            return region;
        } catch (NativeException e) {
            LOG.warn(
                    "io_uring: cannot register {} bytes of buffers, transfers use plain READ/WRITE: {}",
                    bytes,
                    e.getMessage());
            return MemorySegment.NULL;
        }
    }
}
