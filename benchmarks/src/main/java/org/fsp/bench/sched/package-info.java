/**
 * The thread-model benchmark: per idle strategy of sched-polling, the round trip, the throughput with 1, 2 and 4
 * client threads, the daemon's CPU use while idle, and the pause clients see while the thread model is swapped.
 */
package org.fsp.bench.sched;
