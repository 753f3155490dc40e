package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.fsp.api.fs.Errno;
import org.fsp.linux.NativeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What is particular to the io_uring driver: modes, fallbacks, short completions, opening errors. */
class IoUringBlockDeviceTest {

    @TempDir
    Path dir;

    private Path image(long bytes) throws Exception {
        Path image = dir.resolve("image");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return image;
    }

    @Test
    void shouldRunIoPollOrSayWhyItFellBack() throws Exception {
        try (IoUringBlockDevice device =
                IoUringBlockDevice.open(new IoUringBlockDevice.Options(image(1 << 20), 8, false, true, 0, 0))) {
            assertTrue(
                    device.mode().equals("IOPOLL")
                            || (device.mode().equals("plain")
                                    && device.fallbackNote().contains("IOPOLL")),
                    device.describe());
            assertTrue(device.describe().contains("mode=" + device.mode()), device.describe());
        }
    }

    @Test
    void shouldRunSqPollWithoutSystemCallsOnceTheThreadIsAwake() throws Exception {
        try (IoUringBlockDevice device = IoUringBlockDevice.open(
                        new IoUringBlockDevice.Options(image(1 << 20), 8, true, false, 0, 1000));
                Arena arena = Arena.ofConfined()) {
            if (!device.mode().equals("SQPOLL")) {
                assertTrue(device.fallbackNote().contains("SQPOLL"), device.describe());
                return;
            }
            MemorySegment b = arena.allocate(4096, 4096);
            int[] result = {Integer.MIN_VALUE};
            long before = device.stats().systemCalls();
            for (int i = 0; i < 16; i++) {
                assertTrue(device.submitWrite(i, b, i));
                device.submit();
                result[0] = Integer.MIN_VALUE;
                while (device.poll((tag, r) -> result[0] = r, 1) == 0) {
                    Thread.onSpinWait();
                }
                assertEquals(4096, result[0]);
            }
            // The first submission wakes the thread (it starts asleep); the rest go through shared memory alone
            // unless the thread idled out, which takes 1 s without work.
            long calls = device.stats().systemCalls() - before;
            assertTrue(calls <= 2, "system calls for 16 requests: " + calls);
        }
    }

    @Test
    void shouldResubmitShortReadsAndReportEioAtAShrunkEnd() throws Exception {
        Path image = image(64 * 4096);
        try (IoUringBlockDevice device = IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(image, 8));
                Arena arena = Arena.ofConfined()) {
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(62 * 4096); // the last two blocks disappear under the driver
            }
            MemorySegment b = arena.allocate(4 * 4096, 4096);
            int[] result = {Integer.MIN_VALUE};
            assertTrue(device.submitRead(60, b, 7));
            device.submit();
            while (device.poll((tag, r) -> result[0] = r, 1) == 0) {
                Thread.onSpinWait();
            }
            assertEquals(-Errno.EIO.code(), result[0], "a read past the shrunk end");
            assertTrue(device.stats().resubmitted() >= 1, "the short first part was resubmitted");
            assertEquals(1, device.stats().errors());
        }
    }

    @Test
    void shouldFailClearlyOnMissingOrTooSmallTargets() throws Exception {
        NativeException missing = assertThrows(
                NativeException.class,
                () -> IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(dir.resolve("nope"), 8)));
        assertTrue(missing.getMessage().contains("nope"), missing.getMessage());
        Path tiny = dir.resolve("tiny");
        Files.write(tiny, new byte[100]);
        IllegalArgumentException small = assertThrows(
                IllegalArgumentException.class,
                () -> IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(tiny, 8)));
        assertTrue(small.getMessage().contains("less than one block"), small.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(tiny, 0)));
    }

    @Test
    void shouldParkInTheKernelUntilACompletionIsReady() throws Exception {
        try (IoUringBlockDevice device = IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(image(1 << 20), 8));
                Arena arena = Arena.ofConfined()) {
            assertFalse(device.awaitCompletion(1_000_000_000L), "nothing in flight: no wait");
            MemorySegment b = arena.allocate(4096, 4096);
            assertTrue(device.submitRead(3, b, 3));
            // Queued but not handed to the kernel: the wait can only time out.
            assertFalse(device.awaitCompletion(10_000_000L));
            device.submit();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!device.awaitCompletion(1_000_000_000L)) {
                assertTrue(System.nanoTime() < deadline, "no completion within 60 s");
            }
            int[] result = {Integer.MIN_VALUE};
            assertEquals(1, device.poll((tag, r) -> result[0] = r, 8));
            assertEquals(4096, result[0]);
        }
    }

    @Test
    void shouldCountSystemCallsPerBatchNotPerRequest() throws Exception {
        try (IoUringBlockDevice device = IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(image(1 << 20), 32));
                Arena arena = Arena.ofConfined()) {
            assertEquals("plain", device.mode());
            MemorySegment b = arena.allocate(32 * 4096, 4096);
            long before = device.stats().systemCalls();
            for (int i = 0; i < 32; i++) {
                assertTrue(device.submitRead(i, b.asSlice(i * 4096L, 4096), i));
            }
            assertEquals(32, device.submit());
            assertEquals(before + 1, device.stats().systemCalls(), "one io_uring_enter for a batch of 32");
            int seen = 0;
            while (seen < 32) {
                seen += device.poll((tag, r) -> assertEquals(4096, r), 32);
            }
            assertFalse(device.inFlight() > 0);
        }
    }
}
