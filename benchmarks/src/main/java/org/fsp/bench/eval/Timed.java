package org.fsp.bench.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/** Runs a loop on several threads for a fixed wall time and sums what their {@link Lap}s counted. */
final class Timed {

    /** The loop of one thread: run until {@code deadline} ({@link System#nanoTime()}), lapping each operation. */
    interface Body {
        void run(int thread, Lap lap, long deadline) throws Exception;
    }

    private Timed() {}

    static Measurement run(int threads, double seconds, Body body) throws Exception {
        CyclicBarrier go = new CyclicBarrier(threads + 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Lap[] laps = new Lap[threads];
        long[] ends = new long[threads];
        long[] deadline = new long[1];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            workers.add(Thread.ofPlatform().name("eval-" + t).start(() -> {
                try {
                    go.await();
                    Lap lap = new Lap();
                    laps[thread] = lap;
                    body.run(thread, lap, deadline[0]);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    ends[thread] = System.nanoTime();
                }
            }));
        }
        long start = System.nanoTime();
        deadline[0] = start + (long) (seconds * 1e9);
        go.await(); // publishes deadline[0] to the workers
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("workload failed: " + failure.get(), failure.get());
        }
        long end = 0;
        long ops = 0;
        var latency = Measurement.newHistogram();
        Map<String, Histogram> steps = laps[0].stepNames == null ? null : new LinkedHashMap<>();
        for (int t = 0; t < threads; t++) {
            end = Math.max(end, ends[t]);
            ops += laps[t].ops;
            latency.add(laps[t].latency);
            if (steps != null && laps[t].stepNames != null) {
                for (int i = 0; i < laps[t].stepNames.length; i++) {
                    steps.computeIfAbsent(laps[t].stepNames[i], k -> Measurement.newHistogram())
                            .add(laps[t].stepLatency[i]);
                }
            }
        }
        return new Measurement(ops, end - start, latency, steps);
    }
}
