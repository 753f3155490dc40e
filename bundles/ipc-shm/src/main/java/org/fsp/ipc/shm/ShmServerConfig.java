package org.fsp.ipc.shm;

import org.fsp.api.channel.ChannelLayout;

/**
 * How the shared-memory front end is shaped and what each client may take. The defaults suit a small machine; every
 * value is also a configuration key of the OSGi component ({@link ShmServerComponent.Config}).
 *
 * @param workers lane workers (agents); each lane is drained by exactly one of them. They run on the thread model
 *     when one is handed over ({@link ShmServer#driveWith}), else on one thread each
 * @param lanesPerClient lanes a client gets when it asks for none
 * @param maxLanesPerClient lanes a client gets at most (a bigger request is cut to this)
 * @param slotsPerLane slots in each lane's ring (power of two, at least 64)
 * @param slotDataBytes bytes of each slot's data buffer (multiple of 4096, at least 8192): larger requests are split
 *     by FS Lib
 * @param maxClients connected clients at most; more are refused with EAGAIN
 * @param maxOpenFilesPerClient open handles per client; more fail with EMFILE
 * @param maxInFlightPerClient requests of one client executing at the same time; more complete with EAGAIN
 * @param idleSpins busy-spin rounds of an idle worker on the server's own threads before it yields
 * @param idleYields yields of an idle worker on the server's own threads before it sleeps on its lanes' doorbells
 * @param fileSystemWaitMillis how long requests wait for a file system while none is attached (one is being replaced)
 *     before they fail with EIO
 */
public record ShmServerConfig(
        int workers,
        int lanesPerClient,
        int maxLanesPerClient,
        int slotsPerLane,
        int slotDataBytes,
        int maxClients,
        int maxOpenFilesPerClient,
        int maxInFlightPerClient,
        int idleSpins,
        int idleYields,
        long fileSystemWaitMillis) {

    /**
     * The defaults: 2 workers, 4 lanes (at most 16), 64 slots of 16 KiB, 256 clients, 1024 files, 64 in flight,
     * requests wait 30 s for a file system.
     */
    public static final ShmServerConfig DEFAULTS =
            new ShmServerConfig(2, 4, 16, 64, 16384, 256, 1024, 64, 20_000, 50, 30_000);

    public ShmServerConfig {
        if (workers < 1 || workers > 64) {
            throw new IllegalArgumentException("workers " + workers + " not in 1..64");
        }
        if (maxLanesPerClient < 1 || maxLanesPerClient > ChannelLayout.MAX_LANES) {
            throw new IllegalArgumentException(
                    "maxLanesPerClient " + maxLanesPerClient + " not in 1.." + ChannelLayout.MAX_LANES);
        }
        if (lanesPerClient < 1 || lanesPerClient > maxLanesPerClient) {
            throw new IllegalArgumentException("lanesPerClient " + lanesPerClient + " not in 1..maxLanesPerClient");
        }
        ChannelLayout.of(maxLanesPerClient, slotsPerLane, slotDataBytes);
        if (maxClients < 1
                || maxOpenFilesPerClient < 1
                || maxInFlightPerClient < 1
                || idleSpins < 0
                || idleYields < 0
                || fileSystemWaitMillis < 0) {
            throw new IllegalArgumentException("limits must be positive: " + this);
        }
    }

    public ShmServerConfig withWorkers(int n) {
        return new ShmServerConfig(
                n,
                lanesPerClient,
                maxLanesPerClient,
                slotsPerLane,
                slotDataBytes,
                maxClients,
                maxOpenFilesPerClient,
                maxInFlightPerClient,
                idleSpins,
                idleYields,
                fileSystemWaitMillis);
    }

    public ShmServerConfig withLanes(int perClient, int max) {
        return new ShmServerConfig(
                workers,
                perClient,
                max,
                slotsPerLane,
                slotDataBytes,
                maxClients,
                maxOpenFilesPerClient,
                maxInFlightPerClient,
                idleSpins,
                idleYields,
                fileSystemWaitMillis);
    }

    public ShmServerConfig withSlots(int perLane, int dataBytes) {
        return new ShmServerConfig(
                workers,
                lanesPerClient,
                maxLanesPerClient,
                perLane,
                dataBytes,
                maxClients,
                maxOpenFilesPerClient,
                maxInFlightPerClient,
                idleSpins,
                idleYields,
                fileSystemWaitMillis);
    }

    public ShmServerConfig withLimits(int clients, int openFiles, int inFlight) {
        return new ShmServerConfig(
                workers,
                lanesPerClient,
                maxLanesPerClient,
                slotsPerLane,
                slotDataBytes,
                clients,
                openFiles,
                inFlight,
                idleSpins,
                idleYields,
                fileSystemWaitMillis);
    }

    public ShmServerConfig withFileSystemWait(long millis) {
        return new ShmServerConfig(
                workers,
                lanesPerClient,
                maxLanesPerClient,
                slotsPerLane,
                slotDataBytes,
                maxClients,
                maxOpenFilesPerClient,
                maxInFlightPerClient,
                idleSpins,
                idleYields,
                millis);
    }
}
