package org.fsp.block.nvme;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/** The device contract on io_uring with every test buffer carved from the driver's registered (fixed) buffers. */
class IoUringRegisteredBufferContractTest extends IoUringImageFileContractTest {

    private static final long REGISTERED_BYTES = 8L << 20;
    private long nextOffset;

    @Override
    protected IoUringBlockDevice.Options options(Path image, int queueDepth) {
        nextOffset = 0;
        return new IoUringBlockDevice.Options(image, queueDepth, false, false, REGISTERED_BYTES, 0);
    }

    @Override
    protected MemorySegment buffer(int blocks) {
        MemorySegment registered = ((IoUringBlockDevice) device).registeredBuffers();
        long bytes = (long) blocks * device.blockSize();
        if (registered.byteSize() == 0 || nextOffset + bytes > registered.byteSize()) {
            return super.buffer(blocks);
        }
        MemorySegment slice = registered.asSlice(nextOffset, bytes);
        nextOffset += bytes;
        return slice;
    }
}
