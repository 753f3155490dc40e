package org.fsp.bench.upgrade;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.HdrHistogram.Histogram;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;

/**
 * The load of {@link UpgradeBench}, one client JVM: one connection and one file handle kept open for the whole run, and
 * a steady loop of a {@value #RECORD_BYTES}-byte pwrite, an fsync, a stat of the file and a no-op request, with every
 * {@value #READ_BACK_EVERY}th record read back through the handle and compared. The records go round a ring of
 * {@value #RING_RECORDS} slots, each holding bytes that follow from (client id, sequence number); when the run ends the
 * whole ring is read back and every slot must hold the last record written to it.
 *
 * <p>Every operation's latency goes into the histogram of the current phase and into a {@link LatencyTimeline} (by its
 * start time), which is written to {@code TIMELINE} at the end. Standard input steers it: {@code phase NAME} starts
 * a new phase, {@code stop} (or end of input) ends the run.
 *
 * <p>Prints {@code ready} once connected and warmed up, {@code FAILED ...} at once for each failed request or wrong
 * byte, and at the end one {@code PHASE name failures count p50 p99 p99.9 max} line per phase (latencies in nanoseconds,
 * blanks in the name as underscores) and {@code RESULT
 * ops N failures F verifiedBytes B}; exits with 1 if anything failed.
 *
 * <p>Usage: {@code UpgradeLoadClient SOCKET DIR ID TIMELINE}; DIR must exist in the file system.
 */
public final class UpgradeLoadClient {

    static final int RECORD_BYTES = 64;
    static final int RING_RECORDS = 1024;
    static final int READ_BACK_EVERY = 8;
    private static final int WARM_UP_ROUNDS = 2_000;
    /** A run that keeps failing stops after this many failures rather than flooding the output. */
    private static final int MAX_FAILURES = 100;

    private final FspClient client;
    private final String path;
    private final long handle;
    private final int id;
    private final LatencyTimeline timeline = new LatencyTimeline();
    private final Map<String, Phase> phases = new LinkedHashMap<>();
    /** The last sequence number fsynced into each slot of the ring; -1 if none. */
    private final long[] slotSequence = new long[RING_RECORDS];

    private Phase phase;
    private long ops;
    private long failures;

    private UpgradeLoadClient(FspClient client, String path, int id) throws IOException {
        this.client = client;
        this.path = path;
        this.id = id;
        this.handle = client.open(path, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, 0644);
        Arrays.fill(slotSequence, -1);
        startPhase("warm-up");
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: UpgradeLoadClient SOCKET DIR ID TIMELINE");
            System.exit(2);
        }
        ConcurrentLinkedQueue<String> commands = new ConcurrentLinkedQueue<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    commands.add(line.strip());
                }
            } catch (IOException e) {
                // the bench went away: stop as on end of input
            }
            commands.add("stop");
        });
        int id = Integer.parseInt(args[2]);
        boolean ok;
        try (FspClient client = FspClient.connect(Path.of(args[0]), 1)) {
            UpgradeLoadClient load = new UpgradeLoadClient(client, args[1] + "/client" + id, id);
            for (long seq = 0; seq < WARM_UP_ROUNDS; seq++) {
                load.round(seq);
            }
            System.out.println("ready");
            long seq = WARM_UP_ROUNDS;
            for (String command; !"stop".equals(command = commands.poll()); seq++) {
                if (command != null && command.startsWith("phase ")) {
                    load.startPhase(command.substring("phase ".length()));
                }
                load.round(seq);
                if (load.failures >= MAX_FAILURES) {
                    System.out.println("FAILED " + load.failures + " requests; the load stops");
                    break;
                }
            }
            long verified = load.verifyRing();
            load.timeline.writeTo(Path.of(args[3]));
            load.phases.forEach((name, p) -> System.out.printf(
                    "PHASE %s %d %d %d %d %d %d%n",
                    name.replace(' ', '_'),
                    p.failures,
                    p.latency.getTotalCount(),
                    p.latency.getValueAtPercentile(50),
                    p.latency.getValueAtPercentile(99),
                    p.latency.getValueAtPercentile(99.9),
                    p.latency.getMaxValue()));
            System.out.printf("RESULT ops %d failures %d verifiedBytes %d%n", load.ops, load.failures, verified);
            ok = load.failures == 0;
        }
        System.out.flush();
        System.exit(ok ? 0 : 1);
    }

    private void startPhase(String name) {
        phase = phases.computeIfAbsent(name, n -> new Phase());
    }

    /** The latencies (nanoseconds) and failed requests of one phase. */
    private static final class Phase {
        final Histogram latency = new Histogram(3_600_000_000_000L, 3);
        long failures;
    }

    /** One round of the mix for record {@code seq}. */
    private void round(long seq) {
        int slot = (int) (seq % RING_RECORDS);
        byte[] record = record(id, seq);
        long position = (long) slot * RECORD_BYTES;
        timed("pwrite", () -> {
            int n = client.pwrite(handle, position, record, 0, record.length);
            if (n != record.length) {
                throw new IOException("pwrite wrote " + n + " of " + record.length + " bytes");
            }
        });
        if (timed("fsync", () -> client.fsync(handle))) {
            slotSequence[slot] = seq;
        }
        timed("stat", () -> {
            FileAttributes a = client.stat(path);
            if (a.size() < position + RECORD_BYTES) {
                throw new IOException(
                        "stat says " + a.size() + " bytes, record " + seq + " ends at " + (position + RECORD_BYTES));
            }
        });
        timed("noop", client::noop);
        if (seq % READ_BACK_EVERY == 0) {
            timed("pread", () -> {
                byte[] back = new byte[RECORD_BYTES];
                int n = client.pread(handle, position, back, 0, back.length);
                if (n != back.length || !Arrays.equals(back, record)) {
                    throw new IOException("record " + seq + " read back wrong (" + n + " bytes)");
                }
            });
        }
    }

    /** Runs and times one request; a failure is printed at once and counted. Returns whether it succeeded. */
    private boolean timed(String what, Request request) {
        long t0 = System.nanoTime();
        try {
            request.run();
            return true;
        } catch (IOException | RuntimeException e) {
            failures++;
            phase.failures++;
            System.out.println("FAILED " + what + " on " + path + ": " + e);
            return false;
        } finally {
            long latency = System.nanoTime() - t0;
            phase.latency.recordValue(Math.min(latency, phase.latency.getHighestTrackableValue()));
            timeline.record(t0, latency);
            ops++;
        }
    }

    /** Reads the whole ring back through the long-lived handle; returns the bytes compared. */
    private long verifyRing() {
        long verified = 0;
        for (int slot = 0; slot < RING_RECORDS; slot++) {
            if (slotSequence[slot] < 0) {
                continue;
            }
            byte[] expected = record(id, slotSequence[slot]);
            byte[] back = new byte[RECORD_BYTES];
            try {
                int n = client.pread(handle, (long) slot * RECORD_BYTES, back, 0, back.length);
                if (n != back.length || !Arrays.equals(back, expected)) {
                    failures++;
                    System.out.println("FAILED verify: slot " + slot + " does not hold record " + slotSequence[slot]);
                } else {
                    verified += n;
                }
            } catch (IOException e) {
                failures++;
                System.out.println("FAILED verify: slot " + slot + ": " + e);
            }
        }
        return verified;
    }

    /** The bytes of record {@code seq} of client {@code id}: its numbers, then a pattern that follows from them. */
    static byte[] record(int id, long seq) {
        byte[] r = new byte[RECORD_BYTES];
        for (int i = 0; i < 8; i++) {
            r[i] = (byte) (seq >>> (8 * i));
        }
        r[8] = (byte) id;
        for (int i = 9; i < RECORD_BYTES; i++) {
            r[i] = (byte) (seq * 131 + i * 7 + id * 29);
        }
        return r;
    }

    @FunctionalInterface
    private interface Request {
        void run() throws IOException;
    }
}
