package org.fsp.bench.eval;

import java.util.function.ToDoubleFunction;

/** The figure a comparison reports for a workload, its unit, and which direction is better. */
enum Metric {
    /** Mean wall time per operation (lower is better). */
    MICROS_PER_OP("us/op", false, Measurement::microsPerOp),
    /** Mean wall time per operation in milliseconds, for operations as large as a whole directory listing. */
    MILLIS_PER_OP("ms/op", false, m -> m.microsPerOp() / 1e3),
    /** Operations per second over the run's wall time (higher is better). */
    OPS_PER_SECOND("ops/s", true, Measurement::opsPerSecond);

    final String unit;
    final boolean higherIsBetter;
    private final ToDoubleFunction<Measurement> value;

    Metric(String unit, boolean higherIsBetter, ToDoubleFunction<Measurement> value) {
        this.unit = unit;
        this.higherIsBetter = higherIsBetter;
        this.value = value;
    }

    double of(Measurement m) {
        return value.applyAsDouble(m);
    }
}
