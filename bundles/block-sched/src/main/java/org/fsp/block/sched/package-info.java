/** block I/O schedulers: issue and poll phases */
package org.fsp.block.sched;
