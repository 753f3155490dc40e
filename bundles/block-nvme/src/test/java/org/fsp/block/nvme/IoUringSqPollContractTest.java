package org.fsp.block.nvme;

import java.nio.file.Path;

/** The device contract on io_uring over an image file with a kernel SQ polling thread (or its fallback). */
class IoUringSqPollContractTest extends IoUringImageFileContractTest {

    @Override
    protected IoUringBlockDevice.Options options(Path image, int queueDepth) {
        return new IoUringBlockDevice.Options(image, queueDepth, true, false, 0, 10);
    }
}
