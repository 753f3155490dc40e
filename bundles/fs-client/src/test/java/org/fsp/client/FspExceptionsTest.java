package org.fsp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import org.fsp.api.fs.Errno;
import org.junit.jupiter.api.Test;

class FspExceptionsTest {

    @Test
    void shouldGiveEachErrnoTheNioTypeAJavaUserExpectsAndKeepTheErrno() {
        assertInstanceOf(NoSuchFileException.class, FspExceptions.of(Errno.ENOENT, "/a", null));
        assertInstanceOf(FileAlreadyExistsException.class, FspExceptions.of(Errno.EEXIST, "/a", null));
        assertInstanceOf(AccessDeniedException.class, FspExceptions.of(Errno.EACCES, "/a", null));
        assertInstanceOf(AccessDeniedException.class, FspExceptions.of(Errno.EPERM, "/a", null));
        assertInstanceOf(DirectoryNotEmptyException.class, FspExceptions.of(Errno.ENOTEMPTY, "/a", null));
        assertInstanceOf(NotDirectoryException.class, FspExceptions.of(Errno.ENOTDIR, "/a", null));
        assertInstanceOf(FileSystemLoopException.class, FspExceptions.of(Errno.ELOOP, "/a", null));
        for (Errno e : Errno.values()) {
            FileSystemException x = FspExceptions.of(e, "/a", "/b");
            assertEquals(e, ((FspException) x).errno());
            assertEquals("/a", x.getFile());
            assertEquals(0, x.getStackTrace().length);
        }
    }
}
