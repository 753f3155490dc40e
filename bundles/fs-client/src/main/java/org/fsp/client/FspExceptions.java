package org.fsp.client;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import org.fsp.api.fs.Errno;

/**
 * Turns an errno from the server into the {@code java.nio.file} exception a Java user expects, keeping the errno
 * ({@link FspException}). ENOENT, EEXIST, EACCES/EPERM, ENOTEMPTY, ENOTDIR and ELOOP get their specific types; every
 * other errno a {@link FileSystemException}. No stack traces: failures such as ENOENT are ordinary outcomes.
 */
final class FspExceptions {

    private FspExceptions() {}

    /** The exception for {@code errno} about {@code file} (and {@code other}, for rename and link). */
    static FileSystemException of(Errno errno, String file, String other) {
        String reason = errno.name();
        return switch (errno) {
            case ENOENT -> new NoSuchFile(errno, file, other, reason);
            case EEXIST -> new AlreadyExists(errno, file, other, reason);
            case EACCES, EPERM -> new AccessDenied(errno, file, other, reason);
            case ENOTEMPTY -> new NotEmpty(errno, file);
            case ENOTDIR -> new NotDirectory(errno, file);
            case ELOOP -> new Loop(errno, file);
            default -> new Other(errno, file, other, reason);
        };
    }

    /** An EIO-like failure with a sentence on why, for failures FS Lib itself decides (a server that stayed away). */
    static FileSystemException of(Errno errno, String file, String other, String why) {
        return new Other(errno, file, other, errno.name() + ": " + why);
    }

    static final class NoSuchFile extends NoSuchFileException implements FspException {
        private static final long serialVersionUID = 1L;
        private final Errno errno;

        NoSuchFile(Errno errno, String file, String other, String reason) {
            super(file, other, reason);
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    static final class AlreadyExists extends FileAlreadyExistsException implements FspException {
        private static final long serialVersionUID = 1L;
        private final Errno errno;

        AlreadyExists(Errno errno, String file, String other, String reason) {
            super(file, other, reason);
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    static final class AccessDenied extends AccessDeniedException implements FspException {
        private static final long serialVersionUID = 1L;
        private final Errno errno;

        AccessDenied(Errno errno, String file, String other, String reason) {
            super(file, other, reason);
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    static final class NotEmpty extends DirectoryNotEmptyException implements FspException {
        private static final long serialVersionUID = 1L;
        private final Errno errno;

        NotEmpty(Errno errno, String dir) {
            super(dir);
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    static final class NotDirectory extends NotDirectoryException implements FspException {
        private static final long serialVersionUID = 1L;
        private final Errno errno;

        NotDirectory(Errno errno, String file) {
            super(file);
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    static final class Loop extends FileSystemLoopException implements FspException {
        private static final long serialVersionUID = 1L;
        private final Errno errno;

        Loop(Errno errno, String file) {
            super(file);
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    static final class Other extends FileSystemException implements FspException {
        private static final long serialVersionUID = 1L;
        private final Errno errno;

        Other(Errno errno, String file, String other, String reason) {
            super(file, other, reason);
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
