/**
 * {@code fsp bench micro|meta|cached|filebench|channel|all}: FSP through FS Lib against ext4 and tmpfs through java.nio
 * on the same machine in the same run (issue 8). One small workload interface, {@link org.fsp.bench.eval.FileApi},
 * has two implementations, so the same workload code drives both sides; {@link org.fsp.bench.eval.EvalBench} starts
 * fspd, ext4 and tmpfs, runs the workloads, and writes the table, JSON and charts.
 */
package org.fsp.bench.eval;
