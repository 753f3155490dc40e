package org.fsp.bench.eval;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A kernel file system mounted for the comparison: ext4 on a loop device over an image file (on the same disk as
 * FSP's image, same size), or tmpfs. {@link #close()} unmounts and detaches the loop device. Needs root.
 */
final class KernelMount implements AutoCloseable {

    final String name;
    final Path mountPoint;
    private final String loopDevice;

    private KernelMount(String name, Path mountPoint, String loopDevice) {
        this.name = name;
        this.mountPoint = mountPoint;
        this.loopDevice = loopDevice;
    }

    /**
     * Makes a fresh ext4 (inode tables and journal initialised at mkfs time, so that no background initialisation
     * runs during the measurements) on a sparse image of {@code sizeBytes}, attaches it to a loop device and mounts
     * it with the defaults (data=ordered, barriers on: fsync reaches the image file's disk).
     */
    static KernelMount ext4(Path workDir, long sizeBytes) throws IOException {
        Path image = workDir.resolve("ext4.img");
        Files.deleteIfExists(image);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(sizeBytes);
        }
        Shell.run("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image.toString());
        String loop = Shell.run("losetup", "-f", "--show", image.toString());
        Path mnt = workDir.resolve("ext4");
        try {
            Files.createDirectories(mnt);
            Shell.run("mount", "-t", "ext4", loop, mnt.toString());
        } catch (IOException e) {
            Shell.quietly("losetup", "-d", loop);
            throw e;
        }
        return new KernelMount("ext4", mnt, loop);
    }

    static KernelMount tmpfs(Path workDir, long sizeBytes) throws IOException {
        Path mnt = workDir.resolve("tmpfs");
        Files.createDirectories(mnt);
        Shell.run("mount", "-t", "tmpfs", "-o", "size=" + sizeBytes, "tmpfs", mnt.toString());
        return new KernelMount("tmpfs", mnt, null);
    }

    /**
     * bindfs (a FUSE passthrough through libfuse, from Debian's bindfs package) of {@code source} at {@code workDir/bindfs},
     * with its defaults: the reference FUSE file system {@code fsp bench fuse} compares FSP's mount against.
     */
    static KernelMount bindfs(Path workDir, Path source) throws IOException {
        Path mnt = workDir.resolve("bindfs");
        Files.createDirectories(mnt);
        Files.createDirectories(source);
        Shell.run("bindfs", source.toString(), mnt.toString());
        return new KernelMount("bindfs", mnt, null);
    }

    FileApi api() {
        return new NioFileApi(mountPoint, name);
    }

    /**
     * Unmounts, retrying while a workload interrupted by Ctrl-C still has files open, then lazily (the kernel finishes
     * the unmount when the last file closes), and detaches the loop device.
     */
    @Override
    public void close() {
        boolean unmounted = false;
        for (int attempt = 0; attempt < 10 && !unmounted; attempt++) {
            try {
                Shell.run("umount", mountPoint.toString());
                unmounted = true;
            } catch (IOException busy) {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        if (!unmounted) {
            Shell.quietly("umount", "-l", mountPoint.toString());
        }
        if (loopDevice != null) {
            Shell.quietly("losetup", "-d", loopDevice);
        }
    }
}
