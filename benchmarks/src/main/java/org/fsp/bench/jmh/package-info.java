/**
 * JMH benchmarks of the shared-memory channel, client and server in separate processes: {@link ChannelRoundTrip}
 * (FS Lib against fspd on its RAM driver), {@link ShmPingPong} (the floor: a raw ping-pong with a 4 KiB copy between
 * two JVMs), the runner {@link ChannelJmh} ({@code fsp bench ipc}) that prints them as ratios to the floor, and
 * {@link SyscallCount} ({@code fsp bench syscalls}), which counts the client's system calls under strace.
 */
package org.fsp.bench.jmh;
