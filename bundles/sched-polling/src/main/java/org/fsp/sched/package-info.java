/** the thread model: polling workers and idle strategies */
package org.fsp.sched;
