package org.fsp.api.fs;

/**
 * Linux errno values (x86-64 / generic numbering) that FSP operations fail with. Each operation fails with the errno
 * Linux returns for the same call, so a failure reads the same in FSP as on ext4.
 */
public enum Errno {
    EPERM(1),
    ENOENT(2),
    EINTR(4),
    EIO(5),
    ENXIO(6),
    E2BIG(7),
    EBADF(9),
    EAGAIN(11),
    ENOMEM(12),
    EACCES(13),
    EFAULT(14),
    EBUSY(16),
    EEXIST(17),
    EXDEV(18),
    ENODEV(19),
    ENOTDIR(20),
    EISDIR(21),
    EINVAL(22),
    ENFILE(23),
    EMFILE(24),
    EFBIG(27),
    ENOSPC(28),
    ESPIPE(29),
    EROFS(30),
    EMLINK(31),
    ERANGE(34),
    ENAMETOOLONG(36),
    ENOSYS(38),
    ENOTEMPTY(39),
    ELOOP(40),
    /** No such extended attribute (Linux's ENOATTR). */
    ENODATA(61),
    EOVERFLOW(75),
    /** Operation not supported: an extended attribute namespace the file system does not keep. */
    EOPNOTSUPP(95),
    ESTALE(116),
    EUCLEAN(117),
    ECANCELED(125);

    private static final Errno[] BY_CODE = new Errno[128];

    static {
        for (Errno e : values()) {
            BY_CODE[e.code] = e;
        }
    }

    private final int code;

    Errno(int code) {
        this.code = code;
    }

    /** The positive Linux errno number. */
    public int code() {
        return code;
    }

    /** The errno for a positive code, or {@link #EIO} for a code FSP does not know. */
    public static Errno of(int code) {
        Errno e = code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        return e == null ? EIO : e;
    }
}
