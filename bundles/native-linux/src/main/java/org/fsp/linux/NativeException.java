package org.fsp.linux;

/** A system call failed: which call, and the errno it left. */
public final class NativeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int errno;

    public NativeException(String call, int errno) {
        super(call + " failed: " + Libc.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    /** The positive errno value the call failed with. */
    public int errno() {
        return errno;
    }
}
