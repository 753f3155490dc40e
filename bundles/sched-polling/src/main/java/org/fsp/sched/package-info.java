/**
 * The thread model (private to the bundle): {@link org.fsp.sched.PollingThreadModel} drives the layers' agents on
 * polling worker threads with a chosen idle strategy and changes agents, strategy and worker count at the agent
 * boundary; {@link org.fsp.sched.ThreadModelComponent} publishes it as the {@link org.fsp.api.sched.ThreadModel}
 * service with {@code fsp:sched} and the {@code threads} section of {@code fsp:status}.
 */
package org.fsp.sched;
