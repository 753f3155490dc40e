/**
 * {@code fsp bench upgrade}: the pause per layer upgrade under load (issue 7). {@link
 * org.fsp.bench.upgrade.UpgradeBench} drives a real {@code fspd}, client JVMs ({@link
 * org.fsp.bench.upgrade.UpgradeLoadClient}) and {@code fsp:upgrade} through {@code bin/fsp shell}; the clients'
 * per-millisecond latency timelines tell which operations overlapped each upgrade.
 */
package org.fsp.bench.upgrade;
