package org.fsp.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoUringRingTest {

    @TempDir
    Path dir;

    @Test
    void shouldMatchTheKernelsStructSizes() {
        assertEquals(120, IoUringParamsDescriptor.LENGTH);
        assertEquals(64, SubmissionQueueEntryDescriptor.LENGTH);
        assertEquals(16, CompletionQueueEntryDescriptor.LENGTH);
        assertEquals(32, SubmissionQueueEntryDescriptor.USER_DATA_OFFSET);
        assertEquals(80, IoUringParamsDescriptor.CQ_OFF_OFFSET);
    }

    @Test
    void shouldCompleteABatchOfNopsWithOneEnter() {
        try (IoUringRing ring = IoUringRing.setup(8, 0, 0)) {
            assertEquals(8, ring.sqEntries());
            assertEquals(16, ring.cqEntries());
            for (int i = 0; i < 8; i++) {
                ring.prepareNop(1000 + i);
            }
            assertEquals(0, ring.sqSpace());
            assertEquals(8, ring.submit());
            assertEquals(1, ring.enterCalls());
            while (ring.completionsReady() < 8) {
                ring.getEvents(8 - ring.completionsReady());
            }
            long sum = 0;
            for (int i = 0; i < 8; i++) {
                assertEquals(0, ring.completionResult(i));
                sum += ring.completionUserData(i);
            }
            assertEquals(8 * 1000 + 28, sum);
            ring.advanceCompletions(8);
            assertEquals(0, ring.completionsReady());
            assertEquals(8, ring.sqSpace());
        }
    }

    @Test
    void shouldStrideBigEntriesWithSqe128AndCqe32() {
        // Big SQEs and CQEs: every user_data must come back from its own 128-byte SQE in its own 32-byte CQE.
        try (IoUringRing ring = IoUringRing.setup(4, IoUring.IORING_SETUP_SQE128 | IoUring.IORING_SETUP_CQE32, 0)) {
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 4; i++) {
                    ring.prepareNop(round * 10 + i);
                }
                assertEquals(4, ring.submit());
                while (ring.completionsReady() < 4) {
                    ring.getEvents(4 - ring.completionsReady());
                }
                for (int i = 0; i < 4; i++) {
                    assertEquals(round * 10 + i, ring.completionUserData(i));
                }
                ring.advanceCompletions(4);
            }
            try (Arena arena = Arena.ofConfined()) {
                assertThrows(
                        IllegalArgumentException.class,
                        () -> ring.prepareUringCmd(0, 0, arena.allocate(81), 0),
                        "more than the 80 payload bytes of a 128-byte SQE");
            }
        }
    }

    @Test
    void shouldWriteAndFsyncAFileThroughTheRing() throws Exception {
        Path file = dir.resolve("data");
        int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_DIRECT | Libc.O_CLOEXEC, 0600);
        try (IoUringRing ring = IoUringRing.setup(4, 0, 0);
                Arena arena = Arena.ofConfined()) {
            Libc.ftruncate(fd, 8192);
            MemorySegment buffer = arena.allocate(4096, 4096);
            buffer.set(ValueLayout.JAVA_LONG, 0, 0x0102030405060708L);
            ring.prepareReadWrite(IoUring.IORING_OP_WRITE, fd, (byte) 0, buffer.address(), 4096, 4096, 0, 1);
            ring.prepareFsync(fd, IoUring.IOSQE_IO_DRAIN, IoUring.IORING_FSYNC_DATASYNC, 2);
            assertEquals(2, ring.submit());
            while (ring.completionsReady() < 2) {
                ring.getEvents(1);
            }
            for (int i = 0; i < 2; i++) {
                long userData = ring.completionUserData(i);
                assertEquals(userData == 1 ? 4096 : 0, ring.completionResult(i), "request " + userData);
            }
            ring.advanceCompletions(2);
        } finally {
            Libc.close(fd);
        }
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(0x08, bytes[4096]);
    }

    @Test
    void shouldKeepCompletionsThatOverflowTheCqAndHandThemOverOnGetEvents() {
        try (IoUringRing ring = IoUringRing.setup(8, 0, 0)) {
            assertTrue((ring.features() & IoUring.IORING_FEAT_NODROP) != 0, "kernel without NODROP");
            for (int batch = 0; batch < 3; batch++) {
                for (int i = 0; i < 8; i++) {
                    ring.prepareNop(batch * 8 + i);
                }
                assertEquals(8, ring.submit());
            }
            // 24 completions for a CQ of 16: the kernel keeps the rest and says so.
            assertEquals(16, ring.completionsReady());
            assertTrue(ring.cqOverflowPending());
            long sum = 0;
            for (int i = 0; i < 16; i++) {
                sum += ring.completionUserData(i);
            }
            ring.advanceCompletions(16);
            ring.getEvents(0);
            assertEquals(8, ring.completionsReady());
            for (int i = 0; i < 8; i++) {
                sum += ring.completionUserData(i);
            }
            ring.advanceCompletions(8);
            assertEquals(23 * 24 / 2, sum, "every completion delivered exactly once");
            assertEquals(0, ring.cqOverflowCount(), "none dropped");
        }
    }

    @Test
    void shouldRefuseAnImpossibleRingWithTheErrno() {
        NativeException e = assertThrows(NativeException.class, () -> IoUringRing.setup(0, 0, 0));
        assertEquals(22, e.errno());
        assertTrue(e.getMessage().contains("io_uring_setup"), e.getMessage());
    }
}
