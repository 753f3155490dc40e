package org.fsp.client;

import org.fsp.api.fs.Errno;

/**
 * Implemented by every exception FS Lib throws for a failed file-system operation, beside the {@code java.nio.file}
 * type a Java user expects ({@link java.nio.file.NoSuchFileException} for ENOENT and so on): catch the usual type, and
 * ask {@code e instanceof FspException f ? f.errno() : ...} when the exact Linux errno matters.
 */
public interface FspException {

    /** The errno the FS process answered with, as Linux would for the same call. */
    Errno errno();
}
