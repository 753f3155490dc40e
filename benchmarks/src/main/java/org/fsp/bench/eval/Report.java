package org.fsp.bench.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.fsp.bench.Json;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/** The evaluation's outputs: the table (Markdown, also what the terminal shows), results.json and PNG charts. */
final class Report {

    private Report() {}

    /** The results table in Markdown, one row per comparison, then the parameters of each workload. */
    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| suite | workload | unit | FSP | kernel | kernel fs | FSP / kernel | target | result"
                + " | p50 us FSP / kernel | p99 us FSP / kernel |\n");
        b.append("|---|---|---|--:|--:|---|--:|---|---|--:|--:|\n");
        for (Row r : rows) {
            b.append(String.format(
                    Locale.ROOT,
                    "| %s | %s | %s | %s | %s | %s | %.2fx | %s | %s | %s / %s | %s / %s |\n",
                    r.suite(),
                    r.workload(),
                    r.metric().unit,
                    number(r.fspValue()),
                    number(r.kernelValue()),
                    r.kernel(),
                    r.ratio(),
                    r.goal() == null ? "" : r.goal().label(),
                    r.verdict(),
                    number(Row.percentileMicros(r.fsp(), 50)),
                    number(Row.percentileMicros(r.base(), 50)),
                    number(Row.percentileMicros(r.fsp(), 99)),
                    number(Row.percentileMicros(r.base(), 99))));
        }
        b.append("\nParameters:\n");
        Map<String, String> seen = new LinkedHashMap<>();
        for (Row r : rows) {
            seen.putIfAbsent(r.suite() + " / " + r.workload(), r.params());
        }
        seen.forEach((k, v) -> b.append("- ").append(k).append(": ").append(v).append('\n'));
        return b.toString();
    }

    static String number(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        if (v >= 1000) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        if (v >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /**
     * The facts a report's {@code "run"} object starts with (the command, when it finished, the machine, the JVM,
     * rounds and seconds); each benchmark adds its own after them, in the order they are put.
     */
    static Map<String, String> run(BenchOptions o) {
        Map<String, String> run = new LinkedHashMap<>();
        run.put("command", o.command);
        run.put("finished", Instant.now().toString());
        run.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        run.put("kernel", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        run.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        run.put("rounds", Integer.toString(o.rounds));
        run.put("seconds", Double.toString(o.seconds));
        return run;
    }

    /** {@code table} and, when some workloads gave no figures, the list of them below it. */
    static String withFailures(String table, List<String> failures) {
        if (failures.isEmpty()) {
            return table;
        }
        return table + "\nFailed (no figures):\n"
                + failures.stream().map(f -> "- " + f + "\n").reduce("", String::concat);
    }

    /**
     * What the eval and apps benchmarks print at the end: the medians' table, where the results and charts went, and
     * the targets met and missed.
     */
    static void printSummary(BenchOptions o, String table, List<Path> charts, List<Row> rows) {
        System.out.println();
        System.out.println("Medians of " + o.rounds + " rounds; ratios are FSP / kernel.");
        System.out.println(table);
        System.out.println("results: " + o.out.resolve("results.json") + ", " + o.out.resolve("table.md"));
        charts.forEach(c -> System.out.println("chart:   " + c));
        System.out.println(targets(rows));
    }

    /** The last line a benchmark prints: how many of the rows' targets were met and missed, and the load then. */
    static String targets(List<Row> rows) {
        long missed = rows.stream().filter(r -> r.verdict().equals("MISS")).count();
        long met = rows.stream().filter(r -> r.verdict().equals("PASS")).count();
        return "targets: " + met + " met, " + missed + " missed (load average at the end: " + EvalBench.loadAverage()
                + ")";
    }

    static String json(List<Row> rows, Map<String, String> run) {
        StringBuilder b = new StringBuilder("{\n  \"run\": {");
        String sep = "";
        for (var e : run.entrySet()) {
            b.append(sep)
                    .append("\n    ")
                    .append(quote(e.getKey()))
                    .append(": ")
                    .append(quote(e.getValue()));
            sep = ",";
        }
        b.append("\n  },\n  \"results\": [");
        sep = "";
        for (Row r : rows) {
            b.append(sep).append("\n    {");
            b.append("\"suite\": ").append(quote(r.suite()));
            b.append(", \"workload\": ").append(quote(r.workload()));
            b.append(", \"params\": ").append(quote(r.params()));
            b.append(", \"unit\": ").append(quote(r.metric().unit));
            b.append(", \"higherIsBetter\": ").append(r.metric().higherIsBetter);
            b.append(",\n     \"fsp\": ").append(side("FSP", r.fsp(), r.metric()));
            b.append(",\n     \"kernel\": ").append(side(r.kernel(), r.base(), r.metric()));
            b.append(",\n     \"ratio\": ").append(num(r.ratio()));
            b.append(", \"target\": ")
                    .append(r.goal() == null ? "null" : quote(r.goal().label()));
            b.append(", \"result\": ").append(quote(r.verdict())).append('}');
            sep = ",";
        }
        return b.append("\n  ]\n}\n").toString();
    }

    private static String side(String fs, List<Measurement> runs, Metric metric) {
        StringBuilder b = new StringBuilder("{\"fs\": ").append(quote(fs)).append(", \"rounds\": [");
        String sep = "";
        for (Measurement m : runs) {
            b.append(sep).append(num(metric.of(m)));
            sep = ", ";
        }
        long ops = runs.stream().mapToLong(Measurement::ops).sum();
        return b.append("], \"median\": ")
                .append(num(Row.median(runs, metric)))
                .append(", \"ops\": ")
                .append(ops)
                .append(", \"p50us\": ")
                .append(num(Row.percentileMicros(runs, 50)))
                .append(", \"p99us\": ")
                .append(num(Row.percentileMicros(runs, 99)))
                .append('}')
                .toString();
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4g", v) : "null";
    }

    static String quote(String s) {
        return Json.quote(s);
    }

    /** How many times faster FSP is than the kernel on a row (above 1: FSP is faster), whatever the unit. */
    static double speedup(Row r) {
        return r.metric().higherIsBetter ? r.ratio() : 1 / r.ratio();
    }

    /** The speed-up the issue's target asks for, or 0 without a target. */
    static double targetSpeedup(Row r) {
        if (r.goal() == null) {
            return 0;
        }
        return r.metric().higherIsBetter ? r.goal().bound() : 1 / r.goal().bound();
    }

    /** Writes the charts for the rows there are; returns the files written. */
    static List<Path> charts(List<Row> rows, Path dir) throws IOException {
        return charts(rows, dir, "ratios.png", "issue 8");
    }

    /**
     * Writes the charts for the rows there are, the ratio chart as {@code ratiosFile} with its targets labelled as
     * those of {@code issue}; returns the files written.
     */
    static List<Path> charts(List<Row> rows, Path dir, String ratiosFile, String issue) throws IOException {
        List<Path> written = new ArrayList<>();
        if (rows.isEmpty()) {
            return written;
        }
        List<String> labels = new ArrayList<>();
        List<Double> speed = new ArrayList<>();
        List<Double> target = new ArrayList<>();
        Map<String, Row> first = new LinkedHashMap<>(); // one bar per workload: against the kernel its target names
        for (Row r : rows) {
            first.putIfAbsent(r.suite() + "/" + r.workload(), r);
        }
        for (Row r : first.values()) {
            labels.add(r.workload() + " vs " + r.kernel());
            speed.add(speedup(r));
            target.add(targetSpeedup(r));
        }
        CategoryChart ratios = new CategoryChartBuilder()
                .width(1200)
                .height(650)
                .title("FSP speed relative to the kernel file system, same run (above 1: FSP faster)")
                .xAxisTitle("")
                .yAxisTitle("kernel time / FSP time, or FSP ops/s / kernel ops/s")
                .build();
        style(ratios);
        ratios.getStyler().setXAxisLabelRotation(90);
        ratios.addSeries("FSP speed-up", labels, speed);
        ratios.addSeries("target (" + issue + ")", labels, target);
        written.add(save(ratios, dir.resolve(ratiosFile)));

        List<Row> fb = rows.stream().filter(r -> r.suite().equals("filebench")).toList();
        if (!fb.isEmpty()) {
            CategoryChart c = new CategoryChartBuilder()
                    .width(1000)
                    .height(550)
                    .title("Filebench personalities (flowops/s, higher is better)")
                    .yAxisTitle("flowops/s")
                    .build();
            style(c);
            c.getStyler().setXAxisLabelRotation(90);
            List<String> names = fb.stream().map(Row::workload).toList();
            c.addSeries("FSP", names, fb.stream().map(Row::fspValue).toList());
            c.addSeries(
                    fb.getFirst().kernel(),
                    names,
                    fb.stream().map(Row::kernelValue).toList());
            written.add(save(c, dir.resolve("filebench.png")));
        }
        List<Row> ch = rows.stream().filter(r -> r.suite().equals("channel")).toList();
        if (!ch.isEmpty()) {
            XYChart c = new XYChartBuilder()
                    .width(800)
                    .height(500)
                    .title("Channel experiment: 4 KiB appends, own file per thread (RAM device vs tmpfs)")
                    .xAxisTitle("client threads")
                    .yAxisTitle("appends/s")
                    .build();
            c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
            c.getStyler().setXAxisDecimalPattern("0");
            List<Integer> threads = new ArrayList<>();
            for (int i = 0; i < ch.size(); i++) {
                threads.add(i + 1);
            }
            c.addSeries(
                    "FSP (FS Lib, RAM device)",
                    threads,
                    ch.stream().map(Row::fspValue).toList());
            c.addSeries(
                    ch.getFirst().kernel() + " (java.nio)",
                    threads,
                    ch.stream().map(Row::kernelValue).toList());
            written.add(save(c, dir.resolve("channel.png")));
        }
        return written;
    }

    private static void style(CategoryChart c) {
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setOverlapped(false);
        c.getStyler().setYAxisDecimalPattern("#,##0.##");
    }

    private static Path save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) throws IOException {
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }
}
