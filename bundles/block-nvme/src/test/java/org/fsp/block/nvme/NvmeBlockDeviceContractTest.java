package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.fs.Errno;
import org.fsp.block.nvme.pci.IdentityDmaMappingTestDouble;
import org.fsp.block.nvme.pci.NvmeControllerTestDouble;
import org.fsp.block.nvme.pci.NvmeSetupException;
import org.fsp.testing.AbstractBlockDeviceContractTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The device contract on the NVMe driver over {@link NvmeControllerTestDouble} (MDTS of 16 KiB, so that larger
 * transfers are split and PRP lists are used) and two I/O queue pairs, plus the driver's own behaviour: a queue pair
 * per submitting thread, Write Zeroes, deallocate, and reset after a hung command.
 */
class NvmeBlockDeviceContractTest extends AbstractBlockDeviceContractTest {

    private NvmeControllerTestDouble controller;

    @Override
    protected BlockDevice createDevice(int queueDepth) {
        if (controller == null) {
            controller = new NvmeControllerTestDouble(DEVICE_BYTES, 12);
        }
        controller.restart();
        return open(queueDepth, TimeUnit.SECONDS.toNanos(30));
    }

    private NvmeBlockDevice open(int queueDepth, long timeoutNanos) {
        return new NvmeBlockDevice(
                "nvme test-double",
                "test-double",
                controller,
                new IdentityDmaMappingTestDouble(8L << 20),
                () -> {},
                new NvmeBlockDevice.Options("test-double", queueDepth, 0, 8L << 20, timeoutNanos, 2));
    }

    @Override
    protected BlockDevice reopenDevice() {
        return createDevice(32);
    }

    @AfterEach
    void freeStorage() {
        device.close();
        controller.close();
    }

    private NvmeBlockDevice nvme() {
        return (NvmeBlockDevice) device;
    }

    @Test
    void shouldZeroAndDeallocateBlocksWhereTheControllerHasTheCommands() {
        MemorySegment data = buffer(8);
        data.fill((byte) 0x5a);
        int[] results = new int[4];
        assertTrue(device.submitWrite(10, data, 0));
        drain(device, 1, results);
        assertTrue(nvme().submitWriteZeroes(10, 4, 1));
        assertTrue(nvme().submitDeallocate(14, 2, 2));
        drain(device, 2, results);
        assertEquals(0, results[1]);
        assertEquals(0, results[2]);
        MemorySegment back = buffer(8);
        assertTrue(device.submitRead(10, back, 3));
        drain(device, 1, results);
        byte[] expected = new byte[8 * 4096];
        java.util.Arrays.fill(expected, 6 * 4096, 8 * 4096, (byte) 0x5a);
        assertArrayEquals(expected, back.toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void shouldRefuseWriteZeroesWhenTheControllerLacksIt() {
        device.close();
        controller.restart();
        controller.oncs = 0;
        device = open(8, TimeUnit.SECONDS.toNanos(30));
        assertThrows(UnsupportedOperationException.class, () -> nvme().submitWriteZeroes(0, 1, 0));
        assertThrows(UnsupportedOperationException.class, () -> nvme().submitDeallocate(0, 1, 0));
    }

    @Test
    void shouldResetTheControllerAndFailHungCommandsWithEio() {
        device.close();
        controller.restart();
        device = open(8, TimeUnit.MILLISECONDS.toNanos(50));
        controller.hangIo = true;
        int[] results = new int[2];
        assertTrue(device.submitWrite(0, buffer(1), 0));
        drain(device, 1, results);
        assertEquals(-Errno.EIO.code(), results[0], "the hung write fails");
        assertEquals(1, nvme().resets());
        controller.hangIo = false;
        MemorySegment data = buffer(1);
        data.fill((byte) 7);
        assertTrue(device.submitWrite(3, data, 1));
        drain(device, 1, results);
        assertEquals(4096, results[1], "the reset controller serves new requests");
    }

    @Test
    void shouldRejectANamespaceWithAnUnsupportedBlockSize() {
        device.close();
        controller.close();
        controller = new NvmeControllerTestDouble(DEVICE_BYTES, 11);
        NvmeSetupException e = assertThrows(NvmeSetupException.class, () -> open(8, 1_000_000_000L));
        assertEquals(NvmeSetupException.Reason.UNSUPPORTED_LBA_SIZE, e.reason());
        assertTrue(e.getMessage().contains("2048-byte blocks"), e.getMessage());
        device = new RamBlockDevice(4096, 1); // for the shared tear-down
    }

    @Test
    void shouldGiveEachSubmittingThreadItsOwnQueuePair() throws Exception {
        assertEquals(2, nvme().ioQueues());
        controller.writes.clear();
        int threads = 2;
        int perThread = 200;
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
        java.util.List<Thread> workers = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(Thread.ofPlatform().start(() -> {
                try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                    MemorySegment b = arena.allocate(4096, 4096);
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        b.fill((byte) (id * 16 + i % 16));
                        long block = id * 1000L + i;
                        int[] result = new int[1];
                        while (!device.submitWrite(block, b, i)) {
                            device.poll((tag, r) -> {}, 1);
                        }
                        device.submit();
                        boolean[] got = {false};
                        while (!got[0]) {
                            device.poll(
                                    (tag, r) -> {
                                        got[0] = true;
                                        result[0] = r;
                                    },
                                    1);
                        }
                        if (result[0] != 4096) {
                            failures.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    failures.incrementAndGet();
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        assertEquals(0, failures.get());
        java.util.Set<String> doorbells = new java.util.HashSet<>();
        synchronized (controller) {
            for (String w : controller.writes) {
                if (w.startsWith("SQ1=") || w.startsWith("SQ2=")) {
                    doorbells.add(w.substring(0, 3));
                }
            }
        }
        assertEquals(java.util.Set.of("SQ1", "SQ2"), doorbells, "both I/O submission queues carried requests");
        for (int t = 0; t < threads; t++) {
            MemorySegment back = buffer(1);
            int[] results = new int[1];
            assertTrue(device.submitRead(t * 1000L + perThread - 1, back, 0));
            drain(device, 1, results);
            assertEquals((byte) (t * 16 + (perThread - 1) % 16), back.get(ValueLayout.JAVA_BYTE, 0));
        }
    }
}
