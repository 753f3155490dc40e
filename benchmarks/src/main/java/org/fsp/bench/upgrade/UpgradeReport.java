package org.fsp.bench.upgrade;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.fsp.bench.Json;

/**
 * What {@link UpgradeBench} prints and writes once its clients have finished: per layer p50/p99/max of the pause the
 * daemon reported and of the client-seen pause over the upgrades, next to the baseline windows' longest operations,
 * failed requests and failed upgrades, PASS/MISS against the targets; {@code results.json} and {@code table.txt}.
 */
final class UpgradeReport {

    private final List<String> layers;
    private final Path out;
    private final List<UpgradeBench.Window> windows;

    UpgradeReport(List<String> layers, Path out, List<UpgradeBench.Window> windows) {
        this.layers = layers;
        this.out = out;
        this.windows = windows;
    }

    record ClientResult(
            int id,
            Map<String, PhaseFigures> phases,
            long ops,
            long failures,
            long verifiedBytes,
            LatencyTimeline timeline,
            int exitCode) {}

    /** One phase of one client: operations, failures and latency percentiles in nanoseconds. */
    record PhaseFigures(long failures, long count, long p50, long p99, long p999, long max) {}

    /** Prints the table, writes results.json and table.txt to the output directory, fails on a failed request. */
    void write(Map<String, Object> runInfo, List<ClientResult> clients) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("run", runInfo);
        List<Object> clientJson = new ArrayList<>();
        long failedRequests = 0;
        for (ClientResult c : clients) {
            failedRequests += c.failures();
            Map<String, Object> cj = new LinkedHashMap<>();
            cj.put("id", c.id());
            cj.put("ops", c.ops());
            cj.put("failedRequests", c.failures());
            cj.put("verifiedBytes", c.verifiedBytes());
            cj.put("exitCode", c.exitCode());
            Map<String, Object> phases = new LinkedHashMap<>();
            c.phases()
                    .forEach((name, f) -> phases.put(
                            name,
                            Map.of(
                                    "failedRequests", f.failures(),
                                    "ops", f.count(),
                                    "p50Micros", f.p50() / 1e3,
                                    "p99Micros", f.p99() / 1e3,
                                    "p999Micros", f.p999() / 1e3,
                                    "maxMicros", f.max() / 1e3)));
            cj.put("phases", phases);
            clientJson.add(cj);
        }
        json.put("clients", clientJson);

        List<Double> baselineWindows = new ArrayList<>();
        for (UpgradeBench.Window w : windows) {
            if (w.phase().equals(UpgradeBench.BASELINE)) {
                baselineWindows.add(clientSeenMillis(w, clients));
            }
        }
        baselineWindows.sort(null);
        PhaseFigures baseline = worstOf(clients, UpgradeBench.BASELINE);
        Map<String, Object> baselineJson = new LinkedHashMap<>();
        baselineJson.put("windows", baselineWindows.size());
        baselineJson.put("latencyP99Micros", baseline.p99() / 1e3);
        baselineJson.put("latencyP999Micros", baseline.p999() / 1e3);
        baselineJson.put("latencyMaxMicros", baseline.max() / 1e3);
        baselineJson.put("windowLongestOpMillis", summary(baselineWindows));
        json.put("baseline", baselineJson);

        StringBuilder table = new StringBuilder();
        table.append(String.format(
                Locale.ROOT,
                "baseline (%d windows of fsp:upgrades, no upgrade): op latency p99 %.1f us, p99.9 %.1f us, max %.2f ms"
                        + " (worst client); longest op per window p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                baselineWindows.size(),
                baseline.p99() / 1e3,
                baseline.p999() / 1e3,
                baseline.max() / 1e6,
                pct(baselineWindows, 50),
                pct(baselineWindows, 99),
                pct(baselineWindows, 100)));
        table.append(String.format(
                Locale.ROOT,
                "%-13s %4s %4s | %-26s | %-26s | %-14s | %6s | %-6s | %-6s %-6s%n",
                "layer",
                "n",
                "fail",
                "daemon pause ms p50/p99/max",
                "client-seen ms p50/p99/max",
                "base win p50/max",
                "failed",
                "target",
                "daemon",
                "client"));
        boolean anyFailure = failedRequests > 0;
        List<Object> layersJson = new ArrayList<>();
        for (String layer : layers) {
            List<Double> daemon = new ArrayList<>();
            List<Double> seen = new ArrayList<>();
            List<Object> upgradesJson = new ArrayList<>();
            int failedUpgrades = 0;
            int notReported = 0;
            for (UpgradeBench.Window w : windows) {
                if (!w.phase().equals(layer)) {
                    continue;
                }
                double clientSeen = clientSeenMillis(w, clients);
                Map<String, Object> uj = new LinkedHashMap<>();
                uj.put("index", w.index());
                uj.put("jar", w.jar());
                uj.put("windowMillis", (w.endNanos() - w.startNanos()) / 1e6);
                uj.put("clientSeenPauseMillis", clientSeen);
                if (w.upgraded()) {
                    seen.add(clientSeen);
                    uj.put("from", w.reply().fromVersion());
                    uj.put("to", w.reply().toVersion());
                    uj.put("method", w.reply().method());
                    uj.put("tookMillis", w.reply().tookNanos() / 1e6);
                    uj.put(
                            "pauseMillis",
                            w.reply().pauseNanos() < 0 ? null : w.reply().pauseNanos() / 1e6);
                    if (w.reply().pauseNanos() < 0) {
                        notReported++;
                    } else {
                        daemon.add(w.reply().pauseNanos() / 1e6);
                    }
                } else {
                    failedUpgrades++;
                    uj.put("failed", w.reply() != null ? w.reply().line() : w.error());
                }
                upgradesJson.add(uj);
            }
            daemon.sort(null);
            seen.sort(null);
            long layerFailedRequests = 0;
            for (ClientResult c : clients) {
                PhaseFigures f = c.phases().get(layer);
                layerFailedRequests += f == null ? 0 : f.failures();
            }
            Double target = UpgradeBench.TARGET_MILLIS.get(layer);
            boolean broken = failedUpgrades > 0 || layerFailedRequests > 0;
            anyFailure |= failedUpgrades > 0;
            String daemonVerdict = verdict(target, daemon, broken);
            String clientVerdict = verdict(target, seen, broken);
            table.append(String.format(
                    Locale.ROOT,
                    "%-13s %4d %4d | %-26s | %-26s | %-14s | %6d | %-6s | %-6s %-6s%n",
                    layer,
                    daemon.size() + notReported,
                    failedUpgrades,
                    daemon.isEmpty() ? "not reported" : triple(daemon),
                    triple(seen),
                    String.format(Locale.ROOT, "%.2f/%.2f", pct(baselineWindows, 50), pct(baselineWindows, 100)),
                    layerFailedRequests,
                    target == null ? "-" : String.format(Locale.ROOT, "<=%.0fms", target),
                    daemonVerdict,
                    clientVerdict));
            Map<String, Object> lj = new LinkedHashMap<>();
            lj.put("layer", layer);
            lj.put("upgrades", upgradesJson.size());
            lj.put("failedUpgrades", failedUpgrades);
            lj.put("failedRequests", layerFailedRequests);
            lj.put("pauseNotReported", notReported);
            lj.put("daemonPauseMillis", summary(daemon));
            lj.put("clientSeenPauseMillis", summary(seen));
            lj.put("targetMillis", target);
            lj.put("daemonVerdict", daemonVerdict);
            lj.put("clientVerdict", clientVerdict);
            lj.put("upgradeList", upgradesJson);
            layersJson.add(lj);
        }
        json.put("layers", layersJson);
        json.put("failedRequests", failedRequests);
        table.append(String.format(
                "failed requests (all clients, whole run): %d; verified bytes at the end: %d; load average %s at start,"
                        + " %s at end%n",
                failedRequests,
                clients.stream().mapToLong(ClientResult::verifiedBytes).sum(),
                runInfo.get("loadAverageAtStart"),
                runInfo.get("loadAverageAtEnd")));
        table.append("verdicts on p99 over the upgrades: daemon = pause the layer above reported, client = longest"
                + " client operation overlapping the upgrade window (includes the fsp shell JVM starting; compare with"
                + " the baseline windows)\n");
        System.out.print(table);
        Files.createDirectories(out);
        Files.writeString(out.resolve("table.txt"), table);
        Files.writeString(out.resolve("results.json"), Json.write(json));
        System.out.println("results: " + out.toAbsolutePath());
        long failedUpgrades = windows.stream()
                .filter(w -> !w.phase().equals(UpgradeBench.BASELINE) && !w.upgraded())
                .count();
        List<Integer> badExits = clients.stream()
                .filter(c -> c.exitCode() != 0)
                .map(ClientResult::id)
                .toList();
        if (anyFailure || failedUpgrades > 0 || !badExits.isEmpty()) {
            throw new IllegalStateException(String.format(
                    "upgrade bench failed: %d failed requests or wrong bytes, %d upgrades that did not upgrade,"
                            + " clients with a failed exit %s: see above",
                    failedRequests, failedUpgrades, badExits));
        }
    }

    /** The longest operation of any client that overlapped window {@code w}, milliseconds. */
    static double clientSeenMillis(UpgradeBench.Window w, List<ClientResult> clients) {
        long longest = 0;
        for (ClientResult c : clients) {
            longest = Math.max(longest, c.timeline().longestOverlapping(w.startNanos(), w.endNanos()));
        }
        return longest / 1e6;
    }

    /** Per percentile the worst client's figure in {@code phase}; failures summed. */
    private static PhaseFigures worstOf(List<ClientResult> clients, String phase) {
        long failures = 0, count = 0, p50 = 0, p99 = 0, p999 = 0, max = 0;
        for (ClientResult c : clients) {
            PhaseFigures f = c.phases().get(phase);
            if (f != null) {
                failures += f.failures();
                count += f.count();
                p50 = Math.max(p50, f.p50());
                p99 = Math.max(p99, f.p99());
                p999 = Math.max(p999, f.p999());
                max = Math.max(max, f.max());
            }
        }
        return new PhaseFigures(failures, count, p50, p99, p999, max);
    }

    /** Nearest-rank percentile of an ascending list; NaN if it is empty; 100 is the maximum. */
    static double pct(List<Double> sorted, double percentile) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(percentile / 100 * sorted.size());
        return sorted.get(Math.clamp(rank - 1, 0, sorted.size() - 1));
    }

    private static String triple(List<Double> sorted) {
        return String.format(Locale.ROOT, "%.3f/%.3f/%.3f", pct(sorted, 50), pct(sorted, 99), pct(sorted, 100));
    }

    private static Map<String, Object> summary(List<Double> sorted) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", sorted.size());
        m.put("p50", pct(sorted, 50));
        m.put("p99", pct(sorted, 99));
        m.put("max", pct(sorted, 100));
        m.put("all", sorted);
        return m;
    }

    /** PASS/MISS of the p99 of {@code sorted} against {@code targetMillis}; FAIL if requests or upgrades failed. */
    static String verdict(Double targetMillis, List<Double> sorted, boolean failed) {
        if (failed) {
            return "FAIL";
        }
        if (targetMillis == null || sorted.isEmpty()) {
            return "-";
        }
        return pct(sorted, 99) <= targetMillis ? "PASS" : "MISS";
    }
}
