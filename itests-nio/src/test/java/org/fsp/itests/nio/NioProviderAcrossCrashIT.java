package org.fsp.itests.nio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The java.nio provider is built on FS Lib, so an application using it carries on across a {@code kill -9} of fspd
 * and a restart by hand: a FileChannel opened before the crash keeps its position and data, including bytes it wrote
 * but had not forced, and calls made while fspd is down simply wait for it.
 */
class NioProviderAcrossCrashIT {

    @Test
    void aFileChannelShouldCarryOnAcrossAKillOfFspd() throws Exception {
        try (FspdProcess fspd = new FspdProcess(FspdProcess.workDirectory("nio-crash")).start();
                FileSystem fs = FileSystems.newFileSystem(URI.create("fsp:///?socket=" + fspd.socket), Map.of())) {
            Path dir = Files.createDirectory(fs.getPath("/app"));
            Path file = dir.resolve("data.bin");
            Random rnd = new Random(18);
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            try (FileChannel ch = FileChannel.open(
                    file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
                byte[] a = new byte[100_000];
                rnd.nextBytes(a);
                ch.write(ByteBuffer.wrap(a));
                ch.force(true);
                expected.write(a);
                byte[] b = new byte[50_000];
                rnd.nextBytes(b);
                ch.write(ByteBuffer.wrap(b)); // not forced: FS Lib writes it again after the restart
                expected.write(b);
                fspd.kill();
                AtomicReference<Throwable> restart = new AtomicReference<>();
                Thread starter = Thread.ofPlatform().start(() -> {
                    try {
                        Thread.sleep(500);
                        fspd.start();
                    } catch (Throwable t) {
                        restart.set(t);
                    }
                });
                byte[] c = new byte[30_000];
                rnd.nextBytes(c);
                ch.write(ByteBuffer.wrap(c)); // waits for the new fspd, then lands after b
                expected.write(c);
                ch.force(true);
                starter.join();
                assertEquals(null, restart.get(), "fspd restarted");
                assertEquals(expected.size(), ch.position(), "the channel's position carried on");
                assertEquals(expected.size(), ch.size());
            }
            Files.createDirectory(dir.resolve("after"));
            assertTrue(Files.isDirectory(dir.resolve("after")));
            assertArrayEquals(expected.toByteArray(), Files.readAllBytes(file), "every byte written is there");
        }
    }

    @Test
    void aWatchServiceShouldReportChangesAgainAfterARestartOfFspd() throws Exception {
        try (FspdProcess fspd = new FspdProcess(FspdProcess.workDirectory("nio-crash-watch")).start();
                FileSystem fs = FileSystems.newFileSystem(URI.create("fsp:///?socket=" + fspd.socket), Map.of());
                WatchService watcher = fs.newWatchService()) {
            Path dir = Files.createDirectory(fs.getPath("/watched"));
            WatchKey key = dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
            Files.createFile(dir.resolve("before"));
            assertEquals(List.of("ENTRY_CREATE before"), events(watcher.poll(10, TimeUnit.SECONDS)));
            assertTrue(key.reset());
            fspd.kill();
            Thread.sleep(500);
            fspd.start();
            // No other call is made: FS Lib's event thread finds the server gone, reconnects by itself, registers the
            // watch again and reports that events may have been lost meanwhile.
            assertEquals(List.of("OVERFLOW null"), events(watcher.poll(30, TimeUnit.SECONDS)));
            assertTrue(key.reset());
            Files.createFile(dir.resolve("after"));
            assertEquals(List.of("ENTRY_CREATE after"), events(watcher.poll(10, TimeUnit.SECONDS)));
            assertTrue(key.isValid());
        }
    }

    private static List<String> events(WatchKey key) {
        assertNotNull(key, "no watch key signalled in time");
        List<String> out = new ArrayList<>();
        for (WatchEvent<?> e : key.pollEvents()) {
            out.add(e.kind().name() + " " + e.context());
        }
        return out;
    }
}
