package org.fsp.fs.core.inode;

import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;

/** The device or the inode table is full: ENOSPC, raised where an allocation fails. */
public final class NoSpaceException extends FsException {

    private static final long serialVersionUID = 1L;

    public NoSpaceException() {
        super(Errno.ENOSPC, "no space left on device");
    }
}
