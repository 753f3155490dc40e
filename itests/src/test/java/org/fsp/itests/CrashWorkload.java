package org.fsp.itests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.fsp.api.fs.OpenFlags;
import org.fsp.client.FspClient;

/**
 * One client JVM of the fault-injection suites ({@link CrashRig}): in its own directory, rounds of create (O_EXCL), write, fsync, rename, read-back, unlink and
 * an fsynced O_APPEND record, with a handle held open all along on a file and one on a file unlinked while open.
 * Any failed call ends it with a non-zero exit; when its standard input closes it checks everything and prints
 * {@code verified ...}.
 */
public final class CrashWorkload {

    private static final int RECORD = 16;

    private CrashWorkload() {}

    public static void main(String[] args) throws Exception {
        // The test keeps fspd down for an fsck and a JVM start, sometimes twice in a row (a halt right after a
        // restart): on a loaded machine longer than the default 30 s.
        System.setProperty("fsp.client.reconnectTimeout", "180s");
        FspClient fs = FspClient.connect(Path.of(args[0]), 2);
        String dir = args[1];
        fs.mkdir(dir, 0755);
        long logH = fs.open(dir + "/log", OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_APPEND, 0644);
        long held = fs.open(dir + "/held", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0644);
        long ghost = fs.open(dir + "/ghost", OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
        byte[] ghostData = "unlinked while open, kept across crashes".getBytes(StandardCharsets.UTF_8);
        fs.pwrite(ghost, 0, ghostData, 0, ghostData.length);
        fs.fsync(ghost);
        fs.unlink(dir + "/ghost");
        fs.fsync(held);
        System.out.println("running");
        System.out.flush();
        Thread stop = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (System.in.read() >= 0) {
                    // until end of input
                }
            } catch (IOException e) {
                // same as end of input
            }
        });
        long records = 0;
        long heldBytes = 0;
        for (int round = 0; stop.isAlive(); round++) {
            byte[] rec = String.format("%015d\n", records).getBytes(StandardCharsets.US_ASCII);
            int n = fs.write(logH, rec, 0, rec.length);
            expect(n == RECORD, "append wrote " + n);
            fs.fsync(logH);
            records++;

            String f = dir + "/f" + round;
            String g = dir + "/g" + round;
            byte[] content = content(round);
            long h = fs.open(f, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0644);
            expect(fs.pwrite(h, 0, content, 0, content.length) == content.length, "short write " + f);
            fs.fsync(h);
            fs.close(h);
            fs.rename(f, g);
            expect(Arrays.equals(content, fs.readAll(g)), "read-back of " + g);
            if (round >= 2) {
                fs.unlink(dir + "/g" + (round - 2));
            }
            byte[] block = content(round % 7);
            expect(fs.pwrite(held, heldBytes, block, 0, block.length) == block.length, "held write");
            heldBytes += block.length;
            if (round % 5 == 0) {
                fs.fsync(held);
            }
            fs.mkdir(dir + "/d" + round, 0755);
            fs.rmdir(dir + "/d" + round);
        }
        fs.fsync(held);
        // The log: every acknowledged record once, in order, nothing else.
        byte[] all = fs.readAll(dir + "/log");
        expect(all.length == records * RECORD, "log holds " + all.length + " bytes for " + records + " records");
        for (long r = 0; r < records; r++) {
            String got = new String(all, (int) (r * RECORD), RECORD, StandardCharsets.US_ASCII);
            expect(got.equals(String.format("%015d\n", r)), "log record " + r + " is " + got.trim());
        }
        byte[] back = new byte[ghostData.length];
        expect(fs.pread(ghost, 0, back, 0, back.length) == back.length, "ghost read");
        expect(Arrays.equals(ghostData, back), "the file unlinked while open kept its data");
        expect(
                fs.fstat(held).size() == heldBytes,
                "held file size " + fs.fstat(held).size() + " != " + heldBytes);
        System.out.println("verified " + records + " rounds, " + fs.reconnects() + " reconnects, " + dir);
        fs.close(ghost);
        fs.close(held);
        fs.close(logH);
        fs.close();
    }

    private static byte[] content(int round) {
        byte[] b = new byte[1000 + (round % 13) * 700];
        new Random(round).nextBytes(b);
        return b;
    }

    private static void expect(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAILED: " + what);
            System.out.flush();
            System.exit(3);
        }
    }
}
