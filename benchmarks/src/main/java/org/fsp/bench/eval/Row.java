package org.fsp.bench.eval;

import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * One line of the results table: a workload's figure on FSP and on one kernel file system, each the mean over the
 * rounds of the same run, their ratio FSP / kernel, and the verdict against the target where there is one.
 *
 * @param params the parameters the workload ran with, as the table prints them
 * @param goal the target, or null when the issue sets none for this comparison
 */
record Row(String suite, String workload, String params, Metric metric, String kernel, List<Measurement> fsp,
        List<Measurement> base, Goal goal) {

    double fspValue() {
        return mean(fsp);
    }

    double kernelValue() {
        return mean(base);
    }

    /** FSP / kernel: below 1 FSP is faster for times, above 1 it is faster for throughput. */
    double ratio() {
        return fspValue() / kernelValue();
    }

    /** "PASS", "MISS", or "-" without a target. */
    String verdict() {
        return goal == null ? "-" : goal.met(ratio()) ? "PASS" : "MISS";
    }

    static double percentileMicros(List<Measurement> runs, double percentile) {
        Histogram all = Measurement.newHistogram();
        for (Measurement m : runs) {
            all.add(m.latency());
        }
        return all.getValueAtPercentile(percentile) / 1e3;
    }

    private double mean(List<Measurement> runs) {
        return runs.stream().mapToDouble(metric::of).average().orElse(Double.NaN);
    }
}
