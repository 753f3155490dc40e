package org.fsp.bench.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code fsp bench fuse} prints and writes once the workloads have run: per workload the figures on FSP (both
 * transports), bindfs and ext4, the ratios with their targets and FSP's FUSE requests per operation, as
 * {@code table.md} and {@code results.json} in the output directory.
 */
final class FuseBenchReport {

    private final FuseBench.Options o;
    private final String loadAtStart;
    private final List<FuseBench.Result> results;
    private final List<String> notes;

    FuseBenchReport(FuseBench.Options o, String loadAtStart, List<FuseBench.Result> results, List<String> notes) {
        this.o = o;
        this.loadAtStart = loadAtStart;
        this.results = results;
        this.notes = notes;
    }

    /** Prints the table and writes table.md and results.json to the output directory. */
    void write() throws IOException {
        List<Row> rows = new ArrayList<>();
        for (FuseBench.Result r : results) {
            for (String base : List.of("bindfs", "ext4")) {
                if (r.runs().containsKey(base)) {
                    rows.add(new Row(
                            "fuse",
                            r.workload(),
                            r.params(),
                            r.metric(),
                            base,
                            r.runs().get("FSP"),
                            r.runs().get(base),
                            base.equals("bindfs") ? r.vsBindfs() : r.vsExt4()));
                }
            }
            if (r.runs().containsKey(FuseBench.URING)) {
                rows.add(new Row(
                        "fuse",
                        r.workload() + ", io_uring transport",
                        r.params(),
                        r.metric(),
                        "FSP classic transport",
                        r.runs().get(FuseBench.URING),
                        r.runs().get("FSP"),
                        uringGoal(r)));
            }
        }
        String table = table();
        Map<String, String> run = Report.run(o);
        run.put(
                "transport",
                "FSP: /dev/fuse read/write, 4 channels; FSP io_uring: FUSE-over-io_uring, a queue per CPU of 4 entries");
        StringBuilder perOp = new StringBuilder();
        for (FuseBench.Result r : results) {
            perOp.append(perOp.isEmpty() ? "" : "; ")
                    .append(r.workload())
                    .append(": ")
                    .append(Report.number(r.requestsPerOp()));
        }
        run.put("fspFuseRequestsPerOp", perOp.toString());
        run.put("loadavg", EvalBench.loadAverage());
        run.put("loadavgAtStart", loadAtStart);
        run.put("notes", String.join("; ", notes));
        Files.writeString(
                o.out.resolve("table.md"),
                "Command: `" + o.command + "`\n\nLoad average at start " + loadAtStart + ", at the end "
                        + EvalBench.loadAverage() + ".\n\n" + table);
        Files.writeString(o.out.resolve("results.json"), Report.json(rows, run));
        System.out.println();
        System.out.println(table);
        System.out.println("results: " + o.out.resolve("results.json") + ", " + o.out.resolve("table.md"));
        System.out.println(Report.targets(rows));
    }

    /** The three figures per workload, FSP / bindfs and FSP / ext4 with their targets, FSP's FUSE requests per op. */
    private String table() {
        StringBuilder b = new StringBuilder();
        b.append("| workload | unit | FSP | FSP io_uring | io_uring / classic | target | bindfs | ext4 | FSP / bindfs"
                + " | target | FSP / ext4 | target | FUSE requests per op (FSP) |\n");
        b.append("|---|---|--:|--:|--:|---|--:|--:|--:|---|--:|---|--:|\n");
        for (FuseBench.Result r : results) {
            double fsp = Row.median(r.runs().get("FSP"), r.metric());
            List<Measurement> uring = r.runs().get(FuseBench.URING);
            b.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                    r.workload(),
                    r.metric().unit,
                    Report.number(fsp),
                    figure(r, FuseBench.URING),
                    uring == null ? "-" : String.format(Locale.ROOT, "%.2fx", Row.median(uring, r.metric()) / fsp),
                    uringVerdict(r, fsp),
                    figure(r, "bindfs"),
                    figure(r, "ext4"),
                    ratio(r, fsp, "bindfs"),
                    verdict(r, fsp, "bindfs", r.vsBindfs()),
                    ratio(r, fsp, "ext4"),
                    verdict(r, fsp, "ext4", r.vsExt4()),
                    Report.number(r.requestsPerOp())));
        }
        b.append("\nTimes (ms) are medians of ")
                .append(o.rounds)
                .append(
                        " rounds after a warm-up; ops/s are one run"
                                + " each. Ratios are FSP / other: below 1 is FSP faster for times, above 1 for ops/s. FUSE requests"
                                + " per op: per file of the tree for git clone and untar, per I/O for fio, per flowop for varmail.\n");
        b.append("Transports: FSP is the classic one (/dev/fuse read/write, 4 channels), FSP io_uring a second fspd"
                + " with FUSE-over-io_uring (a queue per CPU); the issue's target is io_uring at least 1.3x the"
                + " classic transport's fio 4 KiB random read QD1 IOPS, measured with O_DIRECT so that every read is a FUSE"
                + " request.\n");
        b.append("\nParameters:\n");
        for (FuseBench.Result r : results) {
            b.append("- ").append(r.workload()).append(": ").append(r.params()).append('\n');
        }
        for (String n : notes) {
            b.append("\nNote: ").append(n).append('\n');
        }
        return b.toString();
    }

    /**
     * The io_uring target: fio 4 KiB random read at QD1, at least 1.3x the classic transport's IOPS, on the
     * O_DIRECT row, where every read is a request (buffered ones are mostly page-cache hits).
     */
    private static Goal uringGoal(FuseBench.Result r) {
        return r.workload().equals("fio randread 4K QD1 O_DIRECT") ? Goal.atLeast(1.3) : null;
    }

    private static String uringVerdict(FuseBench.Result r, double classic) {
        Goal goal = uringGoal(r);
        List<Measurement> m = r.runs().get(FuseBench.URING);
        if (goal == null) {
            return "";
        }
        if (m == null) {
            return goal.label() + " not measured";
        }
        return goal.label() + (goal.met(Row.median(m, r.metric()) / classic) ? " PASS" : " MISS");
    }

    private static String figure(FuseBench.Result r, String target) {
        List<Measurement> m = r.runs().get(target);
        return m == null ? "-" : Report.number(Row.median(m, r.metric()));
    }

    private static String ratio(FuseBench.Result r, double fsp, String target) {
        List<Measurement> m = r.runs().get(target);
        return m == null ? "-" : String.format(Locale.ROOT, "%.2fx", fsp / Row.median(m, r.metric()));
    }

    private static String verdict(FuseBench.Result r, double fsp, String target, Goal goal) {
        List<Measurement> m = r.runs().get(target);
        if (goal == null) {
            return "";
        }
        if (m == null) {
            return goal.label() + " not measured";
        }
        return goal.label() + (goal.met(fsp / Row.median(m, r.metric())) ? " PASS" : " MISS");
    }
}
