package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.fsp.api.block.BlockDevice;
import org.fsp.testing.AbstractBlockDeviceContractTest;
import org.junit.jupiter.api.Test;

/** The device contract on the RAM device, and its hand-over of memory to a successor (a live driver upgrade). */
class RamBlockDeviceContractTest extends AbstractBlockDeviceContractTest {

    @Override
    protected BlockDevice createDevice(int queueDepth) {
        return new RamBlockDevice(DEVICE_BYTES, queueDepth);
    }

    @Test
    void shouldKeepItsContentsForTheNextDeviceWhenItsMemoryIsDetached() {
        MemorySegment data = buffer(2);
        for (long i = 0; i < data.byteSize(); i++) {
            data.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
        }
        int[] results = new int[2];
        assertTrue(device.submitWrite(17, data, 0));
        drain(device, 1, results);
        assertEquals(2 * device.blockSize(), results[0]);

        BlockDevice old = device;
        RamBlockDevice.Memory memory = ((RamBlockDevice) old).detachMemory();
        assertThrows(IllegalStateException.class, () -> old.submitRead(17, buffer(2), 1), "the old one is closed");
        device = new RamBlockDevice(memory, 32);

        MemorySegment back = buffer(2);
        assertTrue(device.submitRead(17, back, 1));
        drain(device, 1, results);
        assertEquals(2 * device.blockSize(), results[1]);
        assertArrayEquals(data.toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
        assertEquals(DEVICE_BYTES / device.blockSize(), device.blockCount());
    }
}
