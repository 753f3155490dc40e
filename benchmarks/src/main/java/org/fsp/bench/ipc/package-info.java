/**
 * Plain-main halves of the channel benchmarks: {@link org.fsp.bench.ipc.PingPong}, the raw shared-memory ping-pong
 * that is the floor (and its peer process), and {@link org.fsp.bench.ipc.ChannelBenchClient}, an FS Lib client that
 * can run alone under strace. The JMH benchmarks that use them are in {@code org.fsp.bench.jmh}.
 */
package org.fsp.bench.ipc;
