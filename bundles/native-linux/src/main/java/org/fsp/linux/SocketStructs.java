package org.fsp.linux;

/**
 * Layouts of the x86-64 Linux structures the socket calls exchange, as offsets in bytes. Sizes and offsets are those of
 * glibc on x86-64 (LP64: pointers and {@code size_t} are 8 bytes).
 *
 * <pre>
 * struct sockaddr_un  (110 bytes)       struct msghdr (56 bytes)
 *   0  sa_family_t sun_family  (2)        0  void  *msg_name
 *   2  char sun_path[108]                 8  int    msg_namelen  (+4 padding)
 *                                        16  iovec *msg_iov
 * struct iovec (16 bytes)                24  size_t msg_iovlen
 *   0  void  *iov_base                   32  void  *msg_control
 *   8  size_t iov_len                    40  size_t msg_controllen
 *                                        48  int    msg_flags    (+4 padding)
 * struct cmsghdr (16 bytes + data)
 *   0  size_t cmsg_len                  struct ucred (12 bytes)
 *   8  int    cmsg_level                  0 pid, 4 uid, 8 gid
 *  12  int    cmsg_type
 *  16  unsigned char data[]             struct pollfd (8 bytes)
 *                                         0 int fd, 4 short events, 6 short revents
 * </pre>
 */
public final class SocketStructs {

    public static final int SOCKADDR_UN_SIZE = 110;
    public static final int SUN_FAMILY_OFFSET = 0;
    public static final int SUN_PATH_OFFSET = 2;
    /** Longest socket path in bytes, leaving room for the terminating NUL. */
    public static final int SUN_PATH_MAX = 107;

    public static final int MSGHDR_SIZE = 56;
    public static final int MSG_NAME_OFFSET = 0;
    public static final int MSG_NAMELEN_OFFSET = 8;
    public static final int MSG_IOV_OFFSET = 16;
    public static final int MSG_IOVLEN_OFFSET = 24;
    public static final int MSG_CONTROL_OFFSET = 32;
    public static final int MSG_CONTROLLEN_OFFSET = 40;
    public static final int MSG_FLAGS_OFFSET = 48;

    public static final int IOVEC_SIZE = 16;
    public static final int IOV_BASE_OFFSET = 0;
    public static final int IOV_LEN_OFFSET = 8;

    public static final int CMSG_LEN_OFFSET = 0;
    public static final int CMSG_LEVEL_OFFSET = 8;
    public static final int CMSG_TYPE_OFFSET = 12;
    public static final int CMSG_DATA_OFFSET = 16;
    /** CMSG_LEN(sizeof(int)): header plus one descriptor, bytes. */
    public static final int CMSG_LEN_ONE_FD = CMSG_DATA_OFFSET + 4;
    /** CMSG_SPACE(sizeof(int)): the above rounded up to 8 bytes. */
    public static final int CMSG_SPACE_ONE_FD = CMSG_DATA_OFFSET + 8;

    public static final int UCRED_SIZE = 12;
    public static final int UCRED_PID_OFFSET = 0;
    public static final int UCRED_UID_OFFSET = 4;
    public static final int UCRED_GID_OFFSET = 8;

    public static final int POLLFD_SIZE = 8;
    public static final int POLLFD_FD_OFFSET = 0;
    public static final int POLLFD_EVENTS_OFFSET = 4;
    public static final int POLLFD_REVENTS_OFFSET = 6;

    /** struct timeval (16 bytes): seconds then microseconds, both 8 bytes. */
    public static final int TIMEVAL_SIZE = 16;

    private SocketStructs() {}
}
