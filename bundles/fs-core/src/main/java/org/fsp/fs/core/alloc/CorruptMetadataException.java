package org.fsp.fs.core.alloc;

import java.io.IOException;

/** Metadata failed its checksum or an invariant: the image is corrupt. Surfaces as EIO/EUCLEAN to callers. */
public final class CorruptMetadataException extends IOException {

    private static final long serialVersionUID = 1L;

    public CorruptMetadataException(String message) {
        super(message);
    }
}
