/**
 * Benchmarks of the shared-memory channel: round trips of FS Lib requests from a client JVM to an in-process server
 * on fs-core over a RAM device, against a raw shared-memory ping-pong between two JVMs as the floor.
 */
package org.fsp.bench.ipc;
