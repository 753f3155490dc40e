package org.fsp.bench.eval;

import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * One line of the results table: a workload's figure on FSP and on one kernel file system, each the median over the
 * rounds of the same run (one round disturbed by other load on the machine does not move it), their ratio FSP / kernel, and the verdict against the target where there is one.
 *
 * @param params the parameters the workload ran with, as the table prints them
 * @param goal the target, or null when the issue sets none for this comparison
 */
record Row(
        String suite,
        String workload,
        String params,
        Metric metric,
        String kernel,
        List<Measurement> fsp,
        List<Measurement> base,
        Goal goal) {

    double fspValue() {
        return median(fsp, metric);
    }

    double kernelValue() {
        return median(base, metric);
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

    /** The median of the rounds' figures (the mean of the middle two for an even count). */
    static double median(List<Measurement> runs, Metric metric) {
        double[] v = runs.stream().mapToDouble(metric::of).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
