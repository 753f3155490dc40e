package org.fsp.block.nvme;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.fsp.api.block.BlockDevice;
import org.fsp.testing.AbstractBlockDeviceContractTest;
import org.junit.jupiter.api.io.TempDir;

/** The device contract on io_uring over an image file, plain mode. */
class IoUringImageFileContractTest extends AbstractBlockDeviceContractTest {

    @TempDir
    Path dir;

    protected IoUringBlockDevice.Options options(Path image, int queueDepth) {
        return IoUringBlockDevice.Options.plain(image, queueDepth);
    }

    private Path image() throws Exception {
        Path image = dir.resolve("device.img");
        if (!Files.exists(image)) {
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(DEVICE_BYTES);
            }
        }
        return image;
    }

    @Override
    protected BlockDevice createDevice(int queueDepth) throws Exception {
        Files.deleteIfExists(dir.resolve("device.img"));
        return IoUringBlockDevice.open(options(image(), queueDepth));
    }

    @Override
    protected BlockDevice reopenDevice() throws Exception {
        return IoUringBlockDevice.open(options(image(), 32));
    }
}
