package org.fsp.block.nvme;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.fsp.api.block.BlockDevice;
import org.fsp.testing.AbstractBlockDeviceContractTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The device contract on io_uring over a loop block device. Skipped (by assumption) where {@code losetup} is missing
 * or not permitted; the loop device and its backing file are removed afterwards.
 */
class IoUringLoopDeviceContractTest extends AbstractBlockDeviceContractTest {

    private static Path backing;
    private static String loopDevice;

    @BeforeAll
    static void attachLoopDevice() throws Exception {
        backing = Files.createTempFile("fsp-loop", ".img");
        try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
            f.setLength(DEVICE_BYTES);
        }
        String out = run("losetup", "--find", "--show", "--direct-io=on", backing.toString());
        if (out == null) {
            out = run("losetup", "--find", "--show", backing.toString());
        }
        assumeTrue(out != null && out.startsWith("/dev/loop"), "losetup is unavailable or not permitted here");
        loopDevice = out.trim();
    }

    @AfterAll
    static void detachLoopDevice() throws Exception {
        if (loopDevice != null) {
            run("losetup", "--detach", loopDevice);
        }
        if (backing != null) {
            Files.deleteIfExists(backing);
        }
    }

    /** Runs a command; its standard output if it exited with 0 within 30 s, else null. */
    private static String run(String... command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    protected BlockDevice createDevice(int queueDepth) {
        return IoUringBlockDevice.open(IoUringBlockDevice.Options.plain(Path.of(loopDevice), queueDepth));
    }

    @Override
    protected BlockDevice reopenDevice() {
        return createDevice(32);
    }
}
