package org.fsp.itests;

/**
 * {@link FuseMountIT} with FUSE-over-io_uring forced ({@code -Dfsp.fuse.transport=uring}): the same programs through
 * the mount, the live upgrades, and a SIGKILL of the daemon serving over io_uring, after which no process or thread of
 * it may remain and no task may hang in D state. Switches {@code /sys/module/fuse/parameters/enable_uring} on as root.
 */
class FuseMountUringIT extends FuseMountIT {

    static final String TRANSPORT = "uring";
}
