package org.fsp.ipc.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.junit.jupiter.api.Test;

class FileSystemSlotTest {

    /** A file system that is never called: the slot only hands it out. */
    private static FileSystemService fileSystemDouble() {
        return (FileSystemService) Proxy.newProxyInstance(
                FileSystemService.class.getClassLoader(), new Class<?>[] {FileSystemService.class}, (p, m, a) -> {
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    void shouldFailWithEioWhenNoFileSystemComesInTime() {
        FileSystemSlot slot = new FileSystemSlot(50);
        FsException e = assertThrows(FsException.class, slot::enter);
        assertEquals(Errno.EIO, e.errno());
    }

    @Test
    void shouldHoldARequestUntilTheNextFileSystemIsAttached() throws Exception {
        FileSystemSlot slot = new FileSystemSlot(10_000);
        FileSystemService next = fileSystemDouble();
        CompletableFuture<FileSystemService> request = CompletableFuture.supplyAsync(() -> {
            try {
                return slot.enter();
            } catch (FsException e) {
                throw new AssertionError(e);
            }
        });
        Thread.sleep(100);
        assertFalse(request.isDone(), "waits while there is no file system");
        slot.attach(next);
        assertSame(next, request.get(5, TimeUnit.SECONDS));
        slot.exit();
    }

    @Test
    void shouldDetachOnlyOnceNoRequestIsInsideTheOldFileSystem() throws Exception {
        FileSystemSlot slot = new FileSystemSlot(10_000);
        FileSystemService old = fileSystemDouble();
        slot.attach(old);
        slot.enter();
        CompletableFuture<Void> detach = CompletableFuture.runAsync(() -> slot.detach(old));
        Thread.sleep(100);
        assertFalse(detach.isDone(), "a request is still inside");
        slot.exit();
        detach.get(5, TimeUnit.SECONDS);
        assertTrue(slot.current() == null);
    }
}
