/**
 * The fairness benchmark (issue 12): what an honest client's stat latency and connect time become beside a client
 * flooding SYNC and beside a thousand connections that never say hello, as ratios to the same client alone.
 */
package org.fsp.bench.fairness;
