package org.fsp.itests;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.fsp.client.FspClient;

/**
 * A client JVM for {@link LiveSwapIT}: {@code threads} threads, each on its own connection, write files of random
 * content under {@code /live/jvm<id>-<thread>/} and read each back at once, until standard input closes; then every
 * file's last content is read back once more. Prints {@code connected} when all threads are connected and finally
 * {@code verified <requests> requests <files> files}; on any failure prints it and exits with status 1.
 *
 * <p>Usage: {@code SwapLoadClient SOCKET ID THREADS}.
 */
public final class SwapLoadClient {

    /** Small files: the suite's 64 MiB image must not fill up with blocks freed but not yet reusable. */
    static final int MAX_FILE_BYTES = 12 * 1024;

    private SwapLoadClient() {}

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        int id = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong requests = new AtomicLong();
        Map<String, byte[]> last = new ConcurrentHashMap<>();
        List<Throwable> failures = new ArrayList<>();
        List<FspClient> clients = new ArrayList<>();
        try {
            for (int t = 0; t < threads; t++) {
                FspClient c = FspClient.connect(socket);
                clients.add(c);
                c.mkdir("/live/jvm" + id + "-" + t, 0755);
            }
            System.out.println("connected");
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                FspClient c = clients.get(t);
                String dir = "/live/jvm" + id + "-" + t;
                Random random = new Random(id * 1_000L + t);
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int n = 0; !stop.get(); n++) {
                            String path = dir + "/f" + (n % 20);
                            byte[] data = new byte[1 + random.nextInt(MAX_FILE_BYTES)];
                            random.nextBytes(data);
                            // A write that fails leaves the file's content undefined: it is not checked at the end.
                            last.remove(path);
                            c.writeAll(path, data);
                            if (!Arrays.equals(data, c.readAll(path))) {
                                throw new AssertionError(path + " read back differs");
                            }
                            last.put(path, data);
                            requests.addAndGet(2);
                        }
                    } catch (IOException | RuntimeException | AssertionError e) {
                        synchronized (failures) {
                            failures.add(e);
                        }
                    }
                }));
            }
            while (System.in.read() != -1) {
                // runs until the test closes our standard input
            }
            stop.set(true);
            for (Thread t : ts) {
                t.join();
            }
            for (Map.Entry<String, byte[]> e : last.entrySet()) {
                if (!Arrays.equals(e.getValue(), clients.getFirst().readAll(e.getKey()))) {
                    failures.add(new AssertionError(e.getKey() + " differs at the final check"));
                }
            }
        } catch (IOException | RuntimeException e) {
            failures.add(e);
        } finally {
            clients.forEach(FspClient::close);
        }
        if (!failures.isEmpty()) {
            failures.forEach(e -> e.printStackTrace(System.out));
            System.out.println("FAILED " + failures.size());
            System.exit(1);
        }
        System.out.println("verified " + requests.get() + " requests " + last.size() + " files");
    }
}
