package org.fsp.api.fs;

import java.io.IOException;

/**
 * A failed file-system operation: the {@link Errno} Linux would return, and the path or handle it concerns.
 *
 * <p>No stack trace is captured: these are expected outcomes on the request path (ENOENT on a lookup is not a bug),
 * and filling a stack trace per failed request would dominate its cost.
 */
public class FsException extends IOException {

    private static final long serialVersionUID = 1L;

    private final Errno errno;

    public FsException(Errno errno, String subject) {
        super(errno.name() + (subject == null || subject.isEmpty() ? "" : ": " + subject));
        this.errno = errno;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }

    public Errno errno() {
        return errno;
    }
}
