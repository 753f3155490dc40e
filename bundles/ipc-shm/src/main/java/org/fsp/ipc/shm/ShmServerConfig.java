package org.fsp.ipc.shm;

import org.fsp.api.channel.ChannelLayout;

/**
 * How the shared-memory front end is shaped and what each client may take. The defaults suit a small machine; every
 * value is also a configuration key of the OSGi component ({@link ShmServerComponent.Config}).
 *
 * @param workers lane workers (agents); each lane is drained by exactly one of them. They run on the server's
 *     thread model
 * @param lanesPerClient lanes a client gets when it asks for none
 * @param maxLanesPerClient lanes a client gets at most (a bigger request is cut to this)
 * @param slotsPerLane slots in each lane's ring (power of two, at least 64)
 * @param slotDataBytes bytes of each slot's data buffer (multiple of 4096, at least 8192): larger requests are split
 *     by FS Lib
 * @param maxClients connected clients at most; more are refused with EAGAIN
 * @param maxOpenFilesPerClient open handles per client; more fail with EMFILE
 * @param maxInFlightPerClient requests of one client executing at the same time while other clients are connected
 *     (0: half the workers, at least 1); the client's further requests wait in their slots while the workers serve
 *     other clients, so that a client flooding slow requests (SYNC, reads that miss the cache) cannot hold every
 *     worker. A client alone may use every worker
 * @param fileSystemWaitMillis how long requests wait for a file system while none is attached (one is being replaced)
 *     before they fail with EIO
 * @param maxClientsPerUid connected clients of one user at most (0: half of {@code maxClients}, at least 1); more
 *     are refused with EAGAIN, so that one user cannot take every session
 * @param helloTimeoutMillis how long a connection may stay silent before its hello; then it is dropped
 * @param maxPendingHandshakes connections waiting for their hello at most; beyond it the oldest of the user holding
 *     the most is dropped
 * @param maxPendingHandshakesPerUid connections of one user waiting for their hello at most; beyond it that user's
 *     oldest is dropped
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
        long fileSystemWaitMillis,
        int maxClientsPerUid,
        long helloTimeoutMillis,
        int maxPendingHandshakes,
        int maxPendingHandshakesPerUid) {

    /**
     * The defaults: 2 workers, 4 lanes (at most 16), 64 slots of 16 KiB, 256 clients (128 per user), 1024 files, one
     * worker's worth of requests in flight per client beside others, requests wait 30 s for a file system; a hello
     * within 2 s, at most 128 connections waiting for theirs (16 per user).
     */
    public static final ShmServerConfig DEFAULTS =
            new ShmServerConfig(2, 4, 16, 64, 16384, 256, 1024, 0, 30_000, 0, 2_000, 128, 16);

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
                || maxInFlightPerClient < 0
                || fileSystemWaitMillis < 0
                || maxClientsPerUid < 0
                || helloTimeoutMillis < 1
                || maxPendingHandshakes < 1
                || maxPendingHandshakesPerUid < 1) {
            throw new IllegalArgumentException("limits must be positive: " + this);
        }
    }

    /** {@link #maxInFlightPerClient()} with 0 resolved: half the workers, at least 1. */
    public int inFlightPerClient() {
        return maxInFlightPerClient > 0 ? maxInFlightPerClient : Math.max(1, workers / 2);
    }

    /** {@link #maxClientsPerUid()} with 0 resolved: half of {@code maxClients}, at least 1. */
    public int clientsPerUid() {
        return maxClientsPerUid > 0 ? maxClientsPerUid : Math.max(1, maxClients / 2);
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
                fileSystemWaitMillis,
                maxClientsPerUid,
                helloTimeoutMillis,
                maxPendingHandshakes,
                maxPendingHandshakesPerUid);
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
                fileSystemWaitMillis,
                maxClientsPerUid,
                helloTimeoutMillis,
                maxPendingHandshakes,
                maxPendingHandshakesPerUid);
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
                fileSystemWaitMillis,
                maxClientsPerUid,
                helloTimeoutMillis,
                maxPendingHandshakes,
                maxPendingHandshakesPerUid);
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
                fileSystemWaitMillis,
                maxClientsPerUid,
                helloTimeoutMillis,
                maxPendingHandshakes,
                maxPendingHandshakesPerUid);
    }

    public ShmServerConfig withClientsPerUid(int perUid) {
        return new ShmServerConfig(
                workers,
                lanesPerClient,
                maxLanesPerClient,
                slotsPerLane,
                slotDataBytes,
                maxClients,
                maxOpenFilesPerClient,
                maxInFlightPerClient,
                fileSystemWaitMillis,
                perUid,
                helloTimeoutMillis,
                maxPendingHandshakes,
                maxPendingHandshakesPerUid);
    }

    public ShmServerConfig withHandshakes(long helloMillis, int pending, int pendingPerUid) {
        return new ShmServerConfig(
                workers,
                lanesPerClient,
                maxLanesPerClient,
                slotsPerLane,
                slotDataBytes,
                maxClients,
                maxOpenFilesPerClient,
                maxInFlightPerClient,
                fileSystemWaitMillis,
                maxClientsPerUid,
                helloMillis,
                pending,
                pendingPerUid);
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
                millis,
                maxClientsPerUid,
                helloTimeoutMillis,
                maxPendingHandshakes,
                maxPendingHandshakesPerUid);
    }
}
