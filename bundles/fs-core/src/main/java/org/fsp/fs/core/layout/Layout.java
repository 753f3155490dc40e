package org.fsp.fs.core.layout;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Constants shared by every on-disk descriptor: the file-system block size and the little-endian, unaligned value
 * layouts used to read and write fields (on-disk fields are packed, so alignment is never assumed).
 */
public final class Layout {

    /** File-system block size in bytes; every structure is counted in these blocks. */
    public static final int BLOCK_SIZE = 4096;
    /** log2 of {@link #BLOCK_SIZE}. */
    public static final int BLOCK_SHIFT = 12;

    public static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Layout() {}
}
