package org.fsp.ipc.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.fsp.api.fs.Credentials;

/**
 * The {@link Credentials} of a FUSE request's caller: uid, gid and pid as the kernel put them in the request header,
 * and the supplementary groups from the {@code Groups:} line of {@code /proc/PID/status}, cached per (pid, uid, gid)
 * for {@link #CACHE_NANOS} so that a burst of requests from one process reads the file once. A process that is gone
 * (or a kernel-internal request with pid 0) has no supplementary groups.
 */
final class CallerCredentials {

    /** How long groups read for one process are trusted: short, so a setgroups(2) is seen soon. */
    static final long CACHE_NANOS = 1_000_000_000L;

    private record Key(int pid, int uid, int gid) {}

    private record Cached(Credentials credentials, long readAtNanos) {}

    private final ConcurrentHashMap<Key, Cached> cache = new ConcurrentHashMap<>();
    private final Path proc;
    private final LongSupplier nanoClock;

    CallerCredentials(Path proc, LongSupplier nanoClock) {
        this.proc = proc;
        this.nanoClock = nanoClock;
    }

    /** The caller's credentials. */
    Credentials of(int pid, int uid, int gid) {
        Key k = new Key(pid, uid, gid);
        long now = nanoClock.getAsLong();
        Cached c = cache.get(k);
        if (c != null && now - c.readAtNanos < CACHE_NANOS) {
            return c.credentials;
        }
        Credentials fresh = new Credentials(pid, uid, gid, pid > 0 ? groupsOf(pid) : new int[0]);
        if (cache.size() > 4096) {
            cache.clear();
        }
        cache.put(k, new Cached(fresh, now));
        return fresh;
    }

    /** The supplementary groups of process {@code pid}, or none if it cannot be read. */
    int[] groupsOf(int pid) {
        try {
            for (String line :
                    Files.readAllLines(proc.resolve(Integer.toString(pid)).resolve("status"))) {
                if (line.startsWith("Groups:")) {
                    return parseGroups(line.substring("Groups:".length()));
                }
            }
        } catch (IOException | RuntimeException e) {
            // The process ended between its request and this read: it is no longer there to be granted anything.
        }
        return new int[0];
    }

    static int[] parseGroups(String list) {
        String t = list.trim();
        if (t.isEmpty()) {
            return new int[0];
        }
        String[] parts = t.split("\\s+");
        int[] g = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            g[i] = Integer.parseUnsignedInt(parts[i]);
        }
        return g;
    }
}
